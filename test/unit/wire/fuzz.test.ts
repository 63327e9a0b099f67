// Seeded fuzzing of the frame decoder, codec and validators together. A failure
// names its seed; rerun just that seed with WIRE_FUZZ_SEED=<seed>.
import { describe, it, expect } from 'vitest';
import { FrameDecoder, encodeFrame, frameHeaderBytes } from '../../../src/wire/frame.js';
import { WireError } from '../../../src/wire/errors.js';
import type { WireMessage } from '../../../src/wire/protocol.js';
import { parseAny, randomMessage, seededRandom, type Random } from './samples.js';

const seeds = process.env.WIRE_FUZZ_SEED ? [Number(process.env.WIRE_FUZZ_SEED)] : Array.from({ length: 40 }, (_, i) => 1000 + i);

/** Cuts a byte stream into chunks of random sizes, from single bytes to several frames. */
function randomChunks(random: Random, stream: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < stream.length; ) {
    const size = random.pick([1, 2, 3, 4, 5, random.int(1, 64), random.int(1, 1024), random.int(1, 8192)]);
    chunks.push(stream.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

/** Feeds chunks until the decoder fails; any failure must be a WireError, and so must any validation failure. */
function feedHostileStream(random: Random, stream: Uint8Array, seed: number): void {
  const frames = new FrameDecoder({ frameBytesMax: 1024 * 1024 });
  for (const chunk of randomChunks(random, stream)) {
    let values: unknown[];
    try {
      values = frames.push(chunk);
    } catch (error) {
      expect(error, `seed ${seed}`).toBeInstanceOf(WireError);
      return;
    }
    for (const value of values) {
      try {
        parseAny(value);
      } catch (error) {
        expect(error, `seed ${seed}`).toBeInstanceOf(WireError);
      }
    }
  }
}

function randomBytes(random: Random, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = random.int(0, 255);
  return bytes;
}

/** Frames with honest small lengths around random bodies, so that the garbage reaches the msgpack decoder. */
function framedGarbage(random: Random): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = random.int(1, 20); i > 0; i--) {
    const body = randomBytes(random, random.int(1, 200));
    const header = Buffer.alloc(frameHeaderBytes);
    header.writeUInt32BE(body.length, 0);
    parts.push(header, body);
  }
  return Buffer.concat(parts);
}

/** Valid frames with a few bytes flipped: garbage that looks almost right, to reach the validators. */
function corruptedFrames(random: Random): Uint8Array {
  const stream = Buffer.concat(Array.from({ length: random.int(1, 10) }, () => encodeFrame(randomMessage(random))));
  for (let flips = random.int(1, 4); flips > 0; flips--) stream[random.int(0, stream.length - 1)] = random.int(0, 255);
  return stream;
}

describe('wire fuzz', () => {
  it.each(seeds)('seed %i: random messages in random chunks round-trip exactly', (seed) => {
    const random = seededRandom(seed);
    const messages: WireMessage[] = Array.from({ length: 200 }, () => randomMessage(random));
    const stream = Buffer.concat(messages.map((message) => encodeFrame(message)));
    const frames = new FrameDecoder({ frameBytesMax: 1024 * 1024 });
    const parsed: WireMessage[] = [];
    for (const chunk of randomChunks(random, stream)) for (const value of frames.push(chunk)) parsed.push(parseAny(value));
    expect(parsed, `seed ${seed}`).toEqual(messages);
    expect(frames.bufferedBytes()).toBe(0);
  });

  it.each(seeds)('seed %i: garbage only ever raises WireError, and quickly', (seed) => {
    const random = seededRandom(seed);
    const started = performance.now();
    for (let round = 0; round < 150; round++) {
      const kind = round % 3;
      const stream = kind === 0 ? randomBytes(random, random.int(1, 4096)) : kind === 1 ? framedGarbage(random) : corruptedFrames(random);
      feedHostileStream(random, stream, seed);
    }
    expect(performance.now() - started, `seed ${seed}`).toBeLessThan(10_000);
  });
});
