import { describe, it, expect } from 'vitest';
import { FrameDecoder, encodeFrame, frameBytesMaxDefault, frameHeaderBytes } from '../../../src/wire/frame.js';
import { WireError } from '../../../src/wire/errors.js';
import { decodeMessage, encodeMessage, type SharedEncodings } from '../../../src/wire/codec.js';
import { parseNodeMessage } from '../../../src/wire/validate.js';
import type { CloseReason, WireMessage } from '../../../src/wire/protocol.js';
import { sampleNames, samples } from './samples.js';

const allSamples: WireMessage[] = sampleNames.map((name) => samples[name]);

function decoder(frameBytesMax = frameBytesMaxDefault): FrameDecoder {
  return new FrameDecoder({ frameBytesMax });
}

function header(bodyBytes: number): Buffer {
  const bytes = Buffer.alloc(frameHeaderBytes);
  bytes.writeUInt32BE(bodyBytes, 0);
  return bytes;
}

function expectWireError(action: () => unknown, code: CloseReason): WireError {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(WireError);
  expect((caught as WireError).code).toBe(code);
  return caught as WireError;
}

describe('encodeFrame', () => {
  it('writes a 4-byte big-endian length and then the msgpack body', () => {
    const frame = encodeFrame(samples.accept);
    const body = encodeMessage(samples.accept);
    expect(frame.readUInt32BE(0)).toBe(body.length);
    expect(frame.subarray(frameHeaderBytes)).toEqual(body);
  });

  it('refuses a message larger than the frame limit', () => {
    const error = expectWireError(() => encodeFrame(samples.accept, 16), 'frame_too_large');
    expect(error.message).toContain('accept');
  });

  it('accepts a body of exactly the limit', () => {
    const bodyBytes = encodeMessage(samples.heartbeat).length;
    expect(encodeFrame(samples.heartbeat, bodyBytes).length).toBe(frameHeaderBytes + bodyBytes);
  });

  it('encodes an accept\'s value once for every peer of one send, and each frame reads back as its own message', () => {
    const shared: SharedEncodings = new Map();
    const to = [2, 3, 4, 5].map((peer) => ({ ...samples.accept, to: peer }));
    const frames = to.map((message) => encodeFrame(message, frameBytesMaxDefault, shared));
    expect(shared.size).toBe(1);
    frames.forEach((frame, i) => {
      const decoded = decodeMessage(frame.subarray(frameHeaderBytes));
      expect(decoded).toEqual(to[i]);
      expect(parseNodeMessage(decoded)).toEqual(to[i]);
    });
    // As long as encoding each alone (a map16 header where a fixmap would do at most adds 2 bytes): the field order differs, nothing else.
    expect(frames[0].length - encodeFrame(to[0]).length).toBeLessThanOrEqual(2);
  });

  it('shares only accepts, and a changed value is encoded anew', () => {
    const shared: SharedEncodings = new Map();
    expect(decodeMessage(encodeFrame(samples.heartbeat, frameBytesMaxDefault, shared).subarray(frameHeaderBytes))).toEqual(samples.heartbeat);
    expect(shared.size).toBe(0);
    const other = { ...samples.accept, value: { commands: [] } };
    encodeFrame(samples.accept, frameBytesMaxDefault, shared);
    expect(decodeMessage(encodeFrame(other, frameBytesMaxDefault, shared).subarray(frameHeaderBytes))).toEqual(other);
    expect(shared.size).toBe(2);
  });

  it('refuses a nonsensical limit as a programmer error', () => {
    expect(() => encodeFrame(samples.heartbeat, 0)).toThrow(RangeError);
    expect(() => new FrameDecoder({ frameBytesMax: 2 ** 32 })).toThrow(RangeError);
  });
});

describe('FrameDecoder', () => {
  it('decodes every message type fed one byte at a time', () => {
    const stream = Buffer.concat(allSamples.map((message) => encodeFrame(message)));
    const frames = decoder();
    const values: unknown[] = [];
    for (const byte of stream) values.push(...frames.push(Uint8Array.of(byte)));
    expect(values).toEqual(allSamples);
    expect(frames.bufferedBytes()).toBe(0);
  });

  it('decodes frames split at every possible offset', () => {
    const messages = [samples.accept, samples.heartbeat, samples.promise];
    const stream = Buffer.concat(messages.map((message) => encodeFrame(message)));
    for (let split = 0; split <= stream.length; split++) {
      const frames = decoder();
      const values = [...frames.push(stream.subarray(0, split)), ...frames.push(stream.subarray(split))];
      expect(values).toEqual(messages);
    }
  });

  it('decodes frames split twice at every pair of offsets around a boundary', () => {
    const messages = [samples.accepted, samples.nack];
    const stream = Buffer.concat(messages.map((message) => encodeFrame(message)));
    for (let first = 0; first < stream.length; first++) {
      for (let second = first; second <= stream.length; second++) {
        const frames = decoder();
        const values = [
          ...frames.push(stream.subarray(0, first)),
          ...frames.push(stream.subarray(first, second)),
          ...frames.push(stream.subarray(second)),
        ];
        expect(values).toEqual(messages);
      }
    }
  });

  it('decodes many frames in one chunk, in order', () => {
    const messages = Array.from({ length: 2000 }, (_, slot) => ({ ...samples.accepted, slot }));
    const values = decoder().push(Buffer.concat(messages.map((message) => encodeFrame(message))));
    expect(values).toEqual(messages);
  });

  it('keeps a partial frame across pushes and reports it in bufferedBytes', () => {
    const frame = encodeFrame(samples.accept);
    const frames = decoder();
    expect(frames.push(frame.subarray(0, 2))).toEqual([]);
    expect(frames.bufferedBytes()).toBe(2);
    expect(frames.push(frame.subarray(2, 10))).toEqual([]);
    expect(frames.bufferedBytes()).toBe(10);
    expect(frames.push(frame.subarray(10))).toEqual([samples.accept]);
    expect(frames.bufferedBytes()).toBe(0);
  });

  it('keeps no reference to a pushed chunk, so the caller may reuse its buffer', () => {
    const frame = encodeFrame(samples.accept);
    const reused = Buffer.alloc(frame.length);
    const frames = decoder();
    frame.copy(reused, 0, 0, 20);
    frames.push(reused.subarray(0, 20));
    reused.fill(0xc1);
    frame.copy(reused, 0, 20);
    expect(frames.push(reused.subarray(0, frame.length - 20))).toEqual([samples.accept]);
  });

  it('ignores empty chunks', () => {
    const frames = decoder();
    expect(frames.push(new Uint8Array(0))).toEqual([]);
    expect(frames.push(encodeFrame(samples.status))).toEqual([samples.status]);
  });

  it('accepts a frame of exactly the limit', () => {
    const frame = encodeFrame(samples.heartbeat);
    expect(decoder(frame.length - frameHeaderBytes).push(frame)).toEqual([samples.heartbeat]);
  });

  it('refuses an oversized length from its header alone, without buffering the body', () => {
    const frames = decoder(1024);
    expectWireError(() => frames.push(header(0xffff_ffff)), 'frame_too_large');
    expect(frames.bufferedBytes()).toBe(0);
  });

  it('refuses an oversized length whose header arrives one byte at a time', () => {
    const frames = decoder(1024);
    const announced = header(1025);
    for (let i = 0; i < frameHeaderBytes - 1; i++) expect(frames.push(announced.subarray(i, i + 1))).toEqual([]);
    expect(frames.bufferedBytes()).toBe(frameHeaderBytes - 1);
    expectWireError(() => frames.push(Buffer.concat([announced.subarray(3), Buffer.alloc(4096)])), 'frame_too_large');
    expect(frames.bufferedBytes()).toBe(0);
  });

  it('refuses an oversized frame that follows good frames in the same chunk', () => {
    const frames = decoder(1024);
    const stream = Buffer.concat([encodeFrame(samples.heartbeat), header(10_000_000), Buffer.alloc(100)]);
    expectWireError(() => frames.push(stream), 'frame_too_large');
    expect(frames.bufferedBytes()).toBe(0);
  });

  it('holds only what has arrived for a large announced frame', () => {
    const frames = decoder();
    frames.push(Buffer.concat([header(frameBytesMaxDefault), Buffer.alloc(10)]));
    expect(frames.bufferedBytes()).toBe(frameHeaderBytes + 10);
  });

  it('refuses a zero-length frame', () => {
    expectWireError(() => decoder().push(header(0)), 'decode_failed');
  });

  it('refuses malformed msgpack', () => {
    // 0x92 announces a two-item array; the body ends after one item.
    expectWireError(() => decoder().push(Buffer.concat([header(2), Buffer.from([0x92, 0x01])])), 'decode_failed');
  });

  it('refuses a body with bytes after its msgpack value', () => {
    expectWireError(() => decoder().push(Buffer.concat([header(2), Buffer.from([0x01, 0x02])])), 'decode_failed');
  });

  it('refuses deeply nested msgpack and keeps working for other connections', () => {
    const depth = 200_000;
    const body = Buffer.alloc(depth, 0x91); // one-item arrays, nested
    body[depth - 1] = 0x01;
    expectWireError(() => decoder().push(Buffer.concat([header(depth), body])), 'decode_failed');
    expect(decoder().push(encodeFrame(samples.accept))).toEqual([samples.accept]);
  });

  it('stays failed after its first error', () => {
    const frames = decoder(1024);
    const first = expectWireError(() => frames.push(header(0)), 'decode_failed');
    let again: unknown;
    try {
      frames.push(encodeFrame(samples.heartbeat));
    } catch (error) {
      again = error;
    }
    expect(again).toBe(first);
  });

  it('reassembles a large frame fed in tiny chunks in linear time', () => {
    const big = { ...samples.submit, op: 'x'.repeat(512 * 1024) };
    const frame = encodeFrame(big);
    const frames = decoder();
    const values: unknown[] = [];
    const started = performance.now();
    for (let offset = 0; offset < frame.length; offset += 3) values.push(...frames.push(frame.subarray(offset, offset + 3)));
    expect(values).toEqual([big]);
    // Quadratic copying of ~175k chunks would take minutes; linear work takes well under a second.
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
