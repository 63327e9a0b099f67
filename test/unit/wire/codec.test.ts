import { describe, it, expect } from 'vitest';
import { Packr } from 'msgpackr';
import { decodeMessage, encodeMessage } from '../../../src/wire/codec.js';
import { WireError } from '../../../src/wire/errors.js';
import { parseClientRequest } from '../../../src/wire/validate.js';
import { sampleNames, samples } from './samples.js';

function decodeFailure(bytes: Uint8Array): WireError {
  try {
    decodeMessage(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(WireError);
    expect((error as WireError).code).toBe('decode_failed');
    expect((error as WireError).name).toBe('WireError');
    return error as WireError;
  }
  throw new Error('expected decodeMessage to fail');
}

describe('codec', () => {
  it.each(sampleNames)('round-trips %s', (name) => {
    expect(decodeMessage(encodeMessage(samples[name]))).toEqual(samples[name]);
  });

  it('writes plain msgpack maps with string keys, not msgpackr records', () => {
    const bytes = encodeMessage(samples.heartbeat);
    // msgpackr writes every map as map16 (0xde) so that it can fill in the size afterwards.
    expect(bytes[0]).toBe(0xde);
    expect(bytes.readUInt16BE(1)).toBe(Object.keys(samples.heartbeat).length);
    expect(bytes.includes(Buffer.from('commitIndex'))).toBe(true);
  });

  it('writes undefined as nil, since other languages have no undefined', () => {
    const bytes = encodeMessage({ ...samples.result, result: undefined });
    expect(decodeMessage(bytes)).toEqual({ ...samples.result, result: null });
  });

  it('decodes what a plain msgpack encoder in another language writes', () => {
    // {"type":"status","id":7} with id as a uint64, the way some Go and Java encoders write integers.
    const bytes = Buffer.concat([
      Buffer.from([0x82, 0xa4]),
      Buffer.from('type'),
      Buffer.from([0xa6]),
      Buffer.from('status'),
      Buffer.from([0xa2]),
      Buffer.from('id'),
      Buffer.from([0xcf, 0, 0, 0, 0, 0, 0, 0, 7]),
    ]);
    expect(parseClientRequest(decodeMessage(bytes))).toEqual({ type: 'status', id: 7 });
  });

  it('copies binary values out of the input buffer', () => {
    const bytes = encodeMessage({ ...samples.submit, op: Buffer.from('abc') });
    const decoded = decodeMessage(bytes) as { op: Buffer };
    bytes.fill(0);
    expect(decoded.op.toString()).toBe('abc');
  });

  it('refuses empty input', () => {
    decodeFailure(new Uint8Array(0));
  });

  it('refuses truncated input', () => {
    const bytes = encodeMessage(samples.accept);
    for (let length = 1; length < bytes.length; length++) decodeFailure(bytes.subarray(0, length));
  });

  it('refuses trailing bytes after the value', () => {
    const error = decodeFailure(Buffer.concat([encodeMessage(samples.status), Buffer.from([0x00])]));
    expect(error.message).toContain('trailing bytes');
  });

  it('refuses deep nesting that overflows the decoder stack, and keeps working', () => {
    const body = Buffer.alloc(100_000, 0x91);
    body[body.length - 1] = 0xc0;
    decodeFailure(body);
    expect(decodeMessage(encodeMessage(samples.prepare))).toEqual(samples.prepare);
  });

  it('refuses msgpackr structured-clone references, which could expand exponentially', () => {
    const cloning = new Packr({ structuredClone: true, useRecords: false });
    const shared = { a: 1 };
    decodeFailure(cloning.pack({ left: shared, right: shared }));
  });

  it('refuses msgpackr bundled strings, which can re-read one large string many times', () => {
    const bundling = new Packr({ bundleStrings: true, useRecords: false });
    decodeFailure(bundling.pack({ text: 'a fairly long string that msgpackr would bundle' }));
  });

  it('refuses the never-used byte 0xc1 wherever it is (msgpackr would decode it to a placeholder object)', () => {
    const status = encodeMessage({ type: 'status', id: 1 });
    const map = Buffer.from([0x81, 0xa4, ...Buffer.from('junk'), 0xc1]); // {junk: 0xc1}
    for (const bytes of [Buffer.from([0xc1]), Buffer.from([0x93, 0x01, 0x02, 0xc1]), map, Buffer.from([0x91, ...map])]) {
      expect(decodeFailure(bytes).message).toBe('malformed msgpack: the never-used byte 0xc1');
    }
    // In a string or binary value it is just a byte.
    expect(decodeMessage(Buffer.from([0xc4, 0x01, 0xc1]))).toEqual(Buffer.from([0xc1]));
    expect(decodeMessage(status)).toEqual({ type: 'status', id: 1 });
  });

  it('turns every msgpackr error into a WireError for a sample of malformed inputs', () => {
    const malformed = [
      [0xc1], // never used
      [0xd4, 0x74, 0x63], // typed array of an unknown code
      [0xc7, 0x01, 0x78, 0x90], // RegExp extension with an empty pattern list
      [0xdd, 0xff, 0xff, 0xff, 0xff], // array of 4 billion items in 5 bytes
      [0xdf, 0xff, 0xff, 0xff, 0xff],
      [0xdb, 0xff, 0xff, 0xff, 0xff, 0x61],
    ];
    for (const bytes of malformed) {
      try {
        decodeMessage(Buffer.from(bytes));
      } catch (error) {
        expect(error).toBeInstanceOf(WireError);
      }
    }
  });
});
