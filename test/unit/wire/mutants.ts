// Hostile variations of honest messages, for the wire fuzz tests (offline, and
// against a live node in test/integration/fuzz.test.ts): wrong field types,
// huge arrays, deep nesting, negative slots, ballots from the future, keys that
// try to reach a prototype. Everything comes from the Random given, so a
// failure is replayed from its seed.
import type { Random } from './samples.js';

const weirdNumbers = [-1, -0, -(2 ** 53), 2 ** 53, 2 ** 64, 1.5, -7.25, Number.NaN, Infinity, -Infinity, 0, 2 ** 31, 2 ** 32, 1e308, Number.MAX_SAFE_INTEGER];
const weirdStrings = ['', 'hello', 'submit', 'prepare', 'accept', 'auth', 'challenge', 'welcome', 'goodbye', '__proto__', 'constructor', '\u0000', '\ud800', 'é€✓'];
const weirdKeys = ['type', 'x', '__proto__', 'constructor', 'prototype', 'toString', 'then'];

/** A ballot a real leader could not have reached yet: rounds near or past 2^53. */
export function futureBallot(random: Random): Record<string, unknown> {
  return { round: random.pick([2 ** 52, Number.MAX_SAFE_INTEGER, 2 ** 53, 2 ** 60, 1e300]), node: random.int(1, 9) };
}

/** Arrays nested `depth` deep (or maps), costing one or two bytes a level in msgpack. */
export function deepNest(random: Random, depth: number): unknown {
  let value: unknown = 1;
  const asMaps = random.next() < 0.3;
  for (let level = 0; level < depth; level += 1) value = asMaps ? { a: value } : [value];
  return value;
}

/**
 * A value of any type, usually small; now and then a long string, a large
 * array (up to `hugeArrayMax` elements) or deep nesting (up to `nestingMax`).
 */
export function hostileValue(random: Random, options: { hugeArrayMax?: number; nestingMax?: number } = {}, depth = 0): unknown {
  const hugeArrayMax = options.hugeArrayMax ?? 50_000;
  // msgpackr's encoder recurses: about 1,500 levels is as deep as a JS value can be packed (deepFrameBody goes further).
  const nestingMax = Math.min(options.nestingMax ?? 1_000, 1_000);
  switch (random.int(0, depth > 2 ? 6 : 11)) {
    case 0: return random.pick(weirdNumbers);
    case 1: return random.pick(weirdStrings);
    case 2: return null;
    case 3: return random.next() < 0.5;
    case 4: return new Uint8Array(random.int(0, 40));
    case 5: return -random.int(1, 1000);
    case 6: return random.next() < 0.02 ? 'x'.repeat(random.int(5_000, 100_000)) : 'x'.repeat(random.int(0, 8));
    case 7: return Array.from({ length: random.int(0, 6) }, () => hostileValue(random, options, depth + 1));
    case 8: return { type: hostileValue(random, options, depth + 1), [random.pick(weirdKeys)]: hostileValue(random, options, depth + 1) };
    case 9: return futureBallot(random);
    case 10: return random.next() < 0.02 ? Array.from({ length: random.int(1_000, hugeArrayMax) }, (_, index) => index) : [random.int(0, 9)];
    default: return deepNest(random, random.next() < 0.1 ? random.int(100, nestingMax) : random.int(1, 60));
  }
}

/**
 * `message` with one to three hostile changes: a field replaced by a value of
 * another type, a field removed, a junk key added, a slot made negative, a
 * ballot moved into the future, a list made huge. The original is not changed.
 */
export function mutateMessage(random: Random, message: object, options: { hugeArrayMax?: number; nestingMax?: number } = {}): Record<string, unknown> {
  const mutant: Record<string, unknown> = { ...(message as Record<string, unknown>) };
  const keys = Object.keys(mutant);
  // An own property even for __proto__, as a decoder would make it: `mutant[key] =` would set the prototype.
  const set = (key: string, value: unknown) => Object.defineProperty(mutant, key, { value, enumerable: true, writable: true, configurable: true });
  for (let change = random.int(1, 3); change > 0; change -= 1) {
    const key = random.next() < 0.2 ? random.pick(weirdKeys) : random.pick(keys);
    const current = Object.hasOwn(mutant, key) ? mutant[key] : undefined;
    switch (random.int(0, 5)) {
      case 0:
        delete mutant[key];
        break;
      case 1:
        set(key, typeof current === 'number' ? -random.int(1, 2 ** 20) : hostileValue(random, options));
        break;
      case 2:
        set(key, current !== null && typeof current === 'object' && 'round' in (current as object) ? futureBallot(random) : hostileValue(random, options));
        break;
      case 3:
        set(key, Array.isArray(current) && current.length > 0 && random.next() < 0.05
          ? Array.from({ length: random.int(100, options.hugeArrayMax ?? 50_000) }, () => current[0])
          : hostileValue(random, options));
        break;
      default:
        set(key, hostileValue(random, options));
    }
  }
  return mutant;
}

/**
 * A msgpack body nested `depth` levels deep, written byte by byte (the encoder
 * cannot go past about 1,500): one-element arrays, or one-key maps, around a 1.
 */
export function deepFrameBody(depth: number, asMaps = false): Buffer {
  const level = asMaps ? Buffer.from([0x81, 0xa1, 0x61]) : Buffer.from([0x91]);
  const body = Buffer.alloc(depth * level.length + 1);
  for (let index = 0; index < depth; index += 1) level.copy(body, index * level.length);
  body[body.length - 1] = 0x01;
  return body;
}
