// Seeded fuzzing of the frame decoder, codec and validators together: valid
// messages in random chunks, garbage bytes, corrupted frames, and hostile
// mutations of valid messages (wrong field types, huge arrays, deep nesting,
// negative slots, ballots from the future). Every frame the decoder completes
// is counted, and the run must cover hundreds of thousands. A failure names its
// seed; rerun just that seed with WIRE_FUZZ_SEED=<seed>.
import { isDeepStrictEqual } from 'node:util';
import { Packr } from 'msgpackr';
import { describe, it, expect } from 'vitest';
import { FrameDecoder, encodeFrame, frameHeaderBytes } from '../../../src/wire/frame.js';
import { WireError } from '../../../src/wire/errors.js';
import type { WireMessage } from '../../../src/wire/protocol.js';
import { parseAny, randomMessage, seededRandom, type Random } from './samples.js';
import { deepFrameBody, mutateMessage } from './mutants.js';

const seeds = process.env.WIRE_FUZZ_SEED ? [Number(process.env.WIRE_FUZZ_SEED)] : Array.from({ length: 40 }, (_, i) => 1000 + i);

/** Frames the decoder completed (or refused at their header) and handed to the validators, over the whole file. */
const framesParsed = { valid: 0, garbage: 0, mutated: 0, refused: 0 };
/** The whole sweep must put at least this many frames through decoder and validators. */
const framesParsedMin = 200_000;

/** A raw encoder: a mutant may hold what no WireMessage type allows. */
const rawPackr = new Packr({ useRecords: false, mapsAsObjects: true, encodeUndefinedAsNil: true });

/** Like expect(error).toBeInstanceOf(WireError), at a fraction of the cost: it runs for every refused frame. */
function mustBeWireError(error: unknown, where: string): void {
  if (!(error instanceof WireError)) expect.fail(`${where}: expected a WireError, got ${error instanceof Error ? error.stack : String(error)}`);
}

function frameOf(body: Uint8Array): Buffer {
  const header = Buffer.alloc(frameHeaderBytes);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

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
      mustBeWireError(error, `seed ${seed}`);
      framesParsed.garbage += 1;
      return;
    }
    for (const value of values) {
      framesParsed.garbage += 1;
      try {
        parseAny(value);
      } catch (error) {
        mustBeWireError(error, `seed ${seed}`);
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

/**
 * A seed's work must finish within this: not a speed target (those live in bench/), only a
 * guard against a parser that goes quadratic on hostile input, which takes minutes, not
 * seconds. Generous, because the machines are shared: a loaded 2-core run took 18 s.
 */
const seedWorkMsMax = 60_000;

describe('wire fuzz', () => {
  it.each(seeds)('seed %i: random messages in random chunks round-trip exactly', (seed) => {
    const random = seededRandom(seed);
    const messages: WireMessage[] = Array.from({ length: 1000 }, () => randomMessage(random));
    const stream = Buffer.concat(messages.map((message) => encodeFrame(message)));
    const frames = new FrameDecoder({ frameBytesMax: 1024 * 1024 });
    const parsed: WireMessage[] = [];
    for (const chunk of randomChunks(random, stream)) for (const value of frames.push(chunk)) parsed.push(parseAny(value));
    // isDeepStrictEqual, then toEqual only to show a difference: toEqual alone is slow on thousands of messages.
    if (!isDeepStrictEqual(parsed, messages)) expect(parsed, `seed ${seed}`).toEqual(messages);
    framesParsed.valid += parsed.length;
    expect(frames.bufferedBytes()).toBe(0);
  });

  it.each(seeds)('seed %i: garbage only ever raises WireError, and quickly', { timeout: seedWorkMsMax + 10_000 }, (seed) => {
    const random = seededRandom(seed);
    const started = performance.now();
    for (let round = 0; round < 600; round++) {
      const kind = round % 3;
      const stream = kind === 0 ? randomBytes(random, random.int(1, 4096)) : kind === 1 ? framedGarbage(random) : corruptedFrames(random);
      feedHostileStream(random, stream, seed);
    }
    expect(performance.now() - started, `seed ${seed}`).toBeLessThan(seedWorkMsMax);
  });

  it.each(seeds)('seed %i: hostile mutations of valid messages are refused with WireError, or parse to what was sent', { timeout: seedWorkMsMax + 10_000 }, (seed) => {
    const random = seededRandom(seed);
    const started = performance.now();
    for (let round = 0; round < 4000; round++) {
      // Now and then nesting far deeper than any encoder makes, written byte by byte.
      const body = round % 500 === 0 ? deepFrameBody(random.int(2_000, 200_000), random.next() < 0.5) : rawPackr.pack(mutateMessage(random, randomMessage(random), { hugeArrayMax: 20_000 }));
      // A decoder per frame: after a refusal a decoder stays failed, as a connection would be closed.
      const decoder = new FrameDecoder({ frameBytesMax: 16 * 1024 * 1024 });
      let values: unknown[];
      try {
        values = decoder.push(frameOf(body));
      } catch (error) {
        // Too deep, or not plain msgpack: refused as decode_failed, as a live node would.
        mustBeWireError(error, `seed ${seed} round ${round}`);
        framesParsed.refused += 1;
        framesParsed.mutated += 1;
        continue;
      }
      for (const value of values) {
        framesParsed.mutated += 1;
        let message: WireMessage;
        try {
          message = parseAny(value);
        } catch (error) {
          mustBeWireError(error, `seed ${seed} round ${round}`);
          framesParsed.refused += 1;
          continue;
        }
        // What passes is a well-formed message: it survives its own round trip unchanged (isDeepStrictEqual: toEqual is slow on huge lists).
        if (!isDeepStrictEqual(parseAny(rawPackr.unpack(rawPackr.pack(message))), message)) expect.fail(`seed ${seed} round ${round}: a parsed message changed in a round trip`);
      }
    }
    expect(performance.now() - started, `seed ${seed}`).toBeLessThan(seedWorkMsMax);
  });

  // Runs after the sweeps above (tests of a file run in order); WIRE_FUZZ_SEED reruns one seed and skips the total.
  it.skipIf(process.env.WIRE_FUZZ_SEED !== undefined)(`puts at least ${framesParsedMin} frames through decoder and validators`, () => {
    const total = framesParsed.valid + framesParsed.garbage + framesParsed.mutated;
    console.log(
      `wire fuzz: ${total} frames through decoder and validators (${framesParsed.valid} valid, ${framesParsed.garbage} garbage, ` +
        `${framesParsed.mutated} mutated, ${framesParsed.refused} of them refused)`,
    );
    expect(total).toBeGreaterThanOrEqual(framesParsedMin);
  });
});

