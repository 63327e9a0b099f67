import { describe, expect, it } from 'vitest';
import { encodeCanonicalJson, measureValueBytes, truncateText, utf8ByteLength } from '../../../src/node/statemachine/values.js';
import { parseInteger } from '../../../src/node/statemachine/verbs.js';

describe('utf8ByteLength', () => {
  it.each(['', 'ascii', 'é', '€', '😀', 'a😀b€é', '\ud800', 'x\udc00y', '\ud83d'])('matches TextEncoder for %j', (text) => {
    expect(utf8ByteLength(text)).toBe(new TextEncoder().encode(text).length);
  });
});

describe('encodeCanonicalJson', () => {
  it('sorts object keys at every depth', () => {
    expect(encodeCanonicalJson({ b: 1, a: { d: [3, { f: 1, e: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"e":2,"f":1}]},"b":1}');
  });

  it.each([[undefined], [Number.NaN], [Number.POSITIVE_INFINITY], [1n], [new Uint8Array(1)], [new Date(0)], [[undefined]], [{ a: undefined }], [() => 1]])(
    'refuses %s',
    (value) => {
      expect(encodeCanonicalJson(value)).toBeUndefined();
    },
  );

  it('refuses an array with a hole', () => {
    expect(encodeCanonicalJson([1, , 3])).toBeUndefined(); // eslint-disable-line no-sparse-arrays
  });

  it('accepts 64 levels of nesting and refuses 65', () => {
    const nest = (levels: number): unknown => (levels === 0 ? 0 : { n: nest(levels - 1) });
    expect(encodeCanonicalJson(nest(64))).toBeDefined();
    expect(encodeCanonicalJson(nest(65))).toBeUndefined();
  });

  it('accepts objects without a prototype', () => {
    const bare = Object.assign(Object.create(null) as object, { z: 1, a: 2 });
    expect(encodeCanonicalJson(bare)).toBe('{"a":2,"z":1}');
  });
});

describe('measureValueBytes', () => {
  it('counts a string raw and other values by their JSON encoding', () => {
    expect(measureValueBytes('é')).toBe(2);
    expect(measureValueBytes({ a: 'é' })).toBe('{"a":"é"}'.length + 1);
    expect(measureValueBytes(undefined)).toBeUndefined();
  });
});

describe('parseInteger', () => {
  it.each([
    ['0', 0],
    ['-0', 0],
    ['007', 7],
    ['-42', -42],
    ['9007199254740991', 9007199254740991],
    [12, 12],
    [-0, 0],
  ])('reads %j as %d', (input, expected) => {
    expect(Object.is(parseInteger(input), expected)).toBe(true);
  });

  it.each([['9007199254740992'], ['1.0'], ['1e3'], [' 1'], ['+1'], [''], ['-'], [1.5], [2 ** 53], [null], [[1]]])('refuses %j', (input) => {
    expect(parseInteger(input)).toBeUndefined();
  });
});

describe('truncateText', () => {
  it('keeps short text, cuts long text with an ellipsis, and never splits a surrogate pair', () => {
    expect(truncateText('short', 10)).toBe('short');
    expect(truncateText('abcdef', 3)).toBe('abc…');
    expect(truncateText('ab😀', 3)).toBe('ab…');
  });
});
