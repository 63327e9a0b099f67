import { describe, expect, it } from 'vitest';
import { UsageError, parseKeyValueWords, renderResult } from '../../../src/node/statemachine/parse.js';
import { createKeyValueStore } from '../../../src/node/statemachine/kv.js';

const plain = { jsonValue: false };
const json = { jsonValue: true };

function usage(words: string[], options = plain): string {
  try {
    parseKeyValueWords(words, options);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).code).toBe('USAGE');
    return (error as UsageError).message;
  }
  throw new Error(`expected ${words.join(' ')} to be a usage error`);
}

describe('parseKeyValueWords', () => {
  it.each([
    [['get', 'x'], ['get', 'x']],
    [['set', 'x', '1'], ['set', 'x', '1']],
    [['del', 'x'], ['del', 'x']],
    [['cas', 'x', '1', '2'], ['cas', 'x', '1', '2']],
    [['incr', 'x'], ['incr', 'x']],
    [['incr', 'x', '-3'], ['incr', 'x', '-3']],
    [['append', 'x', 'tail'], ['append', 'x', 'tail']],
    [['noop'], ['noop']],
    [['SET', 'x', '{"not":"parsed"}'], ['set', 'x', '{"not":"parsed"}']],
  ])('turns %j into %j', (words, op) => {
    expect(parseKeyValueWords(words, plain)).toEqual(op);
  });

  it('parses value words as JSON with --json-value, and only value words', () => {
    expect(parseKeyValueWords(['set', 'x', '{"a":[1,true]}'], json)).toEqual(['set', 'x', { a: [1, true] }]);
    expect(parseKeyValueWords(['cas', '7', 'null', '"s"'], json)).toEqual(['cas', '7', null, 's']);
    expect(parseKeyValueWords(['append', 'x', '"tail"'], json)).toEqual(['append', 'x', 'tail']);
    expect(parseKeyValueWords(['incr', '1', '5'], json)).toEqual(['incr', '1', '5']);
    expect(parseKeyValueWords(['get', '{}'], json)).toEqual(['get', '{}']);
  });

  it('ops it returns are accepted by the store', () => {
    const store = createKeyValueStore();
    expect(store.apply(parseKeyValueWords(['set', 'x', '[1]'], json))).toBe('OK');
    expect(store.apply(parseKeyValueWords(['cas', 'x', '[1]', '2'], json))).toBe('OK');
    expect(store.apply(parseKeyValueWords(['get', 'x'], plain))).toBe(2);
  });

  it.each([
    [['get'], 'usage: get KEY'],
    [['set', 'x'], 'usage: set KEY VALUE'],
    [['set', 'x', '1', '2'], 'usage: set KEY VALUE'],
    [['del'], 'usage: del KEY'],
    [['cas', 'x', '1'], 'usage: cas KEY EXPECTED NEW'],
    [['incr'], 'usage: incr KEY [N]'],
    [['incr', 'x', 'two'], 'usage: incr KEY [N] (N must be an integer, got "two")'],
    [['append', 'x'], 'usage: append KEY VALUE'],
    [['noop', 'now'], 'usage: noop'],
    [['frob', 'x'], 'unknown command "frob"; the key-value store knows get, set, del, cas, incr, append, noop'],
    [['set', 'k'.repeat(4097), '1'], 'key is 4097 bytes, more than the limit of 4096 bytes'],
  ])('refuses %j', (words, message) => {
    expect(usage(words)).toBe(message);
  });

  it('lists every verb when no command is given', () => {
    expect(usage([])).toBe(
      'usage: COMMAND [ARG...], one of:\nget KEY\nset KEY VALUE\ndel KEY\ncas KEY EXPECTED NEW\nincr KEY [N]\nappend KEY VALUE\nnoop',
    );
  });

  it('names the bad word and the JSON error with --json-value', () => {
    expect(usage(['set', 'x', 'hello'], json)).toMatch(/^--json-value: VALUE "hello" is not valid JSON \(.+\); quote strings, e\.g\. '"text"'$/);
    expect(usage(['cas', 'x', '1', '{'], json)).toMatch(/^--json-value: NEW "\{" is not valid JSON/);
    expect(usage(['cas', 'x', 'nope', '1'], json)).toMatch(/^--json-value: EXPECTED "nope" is not valid JSON/);
  });

  it('checks arity before parsing JSON, so the usage line wins', () => {
    expect(usage(['set', 'x'], json)).toBe('usage: set KEY VALUE');
  });

  it('refuses a JSON value the store cannot keep', () => {
    expect(usage(['append', 'x', '5'], json)).toBe('usage: append KEY VALUE (VALUE must be a string to append)');
    expect(usage(['set', 'x', `"${'v'.repeat(1024 * 1024 + 1)}"`], json)).toBe('VALUE is 1048577 bytes, more than the limit of 1048576 bytes');
  });
});

describe('renderResult', () => {
  it.each([
    [null, '(nil)'],
    [undefined, '(nil)'],
    ['OK', 'OK'],
    ['', ''],
    [42, '42'],
    [true, 'true'],
    [{ a: [1, 'b'] }, '{"a":[1,"b"]}'],
    [[1, null], '[1,null]'],
    [10n, '"10"'],
    [new Map([['k', 1]]), '{"k":1}'],
  ])('renders %s as %s', (result, text) => {
    expect(renderResult(result)).toBe(text);
  });
});
