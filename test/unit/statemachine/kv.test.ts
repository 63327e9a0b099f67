import { describe, expect, it } from 'vitest';
import { createKeyValueStore, keyValueSnapshotFormat } from '../../../src/node/statemachine/kv.js';
import { packSnapshot } from '../../../src/node/statemachine/snapshot-codec.js';
import { CommandRefused, SnapshotInvalid, type StateMachine } from '../../../src/node/statemachine/types.js';
import { keyBytesMax, valueBytesMax } from '../../../src/node/statemachine/verbs.js';

function refusal(store: StateMachine, command: unknown): string {
  try {
    store.apply(command);
  } catch (error) {
    expect(error).toBeInstanceOf(CommandRefused);
    expect((error as CommandRefused).code).toBe('COMMAND_REFUSED');
    return (error as CommandRefused).message;
  }
  throw new Error(`expected ${JSON.stringify(command)} to be refused`);
}

describe('key-value store verbs', () => {
  it('get of a missing key is null; set then get returns the string', () => {
    const store = createKeyValueStore();
    expect(store.apply(['get', 'x'])).toBeNull();
    expect(store.apply(['set', 'x', '1'])).toBe('OK');
    expect(store.apply(['get', 'x'])).toBe('1');
  });

  it('del removes a key and is OK for a missing key', () => {
    const store = createKeyValueStore();
    store.apply(['set', 'x', '1']);
    expect(store.apply(['del', 'x'])).toBe('OK');
    expect(store.apply(['get', 'x'])).toBeNull();
    expect(store.apply(['del', 'x'])).toBe('OK');
  });

  it('cas swaps when the expected value matches', () => {
    const store = createKeyValueStore();
    store.apply(['set', 'x', '1']);
    expect(store.apply(['cas', 'x', '1', '2'])).toBe('OK');
    expect(store.apply(['get', 'x'])).toBe('2');
  });

  it('cas refuses with the current value and changes nothing', () => {
    const store = createKeyValueStore();
    store.apply(['set', 'x', '3']);
    expect(refusal(store, ['cas', 'x', '1', '2'])).toBe('cas failed: x is 3');
    expect(store.apply(['get', 'x'])).toBe('3');
    expect(refusal(store, ['cas', 'y', '1', '2'])).toBe('cas failed: y is (nil)');
    expect(store.apply(['get', 'y'])).toBeNull();
  });

  it('cas on JSON values compares deeply, ignoring key order', () => {
    const store = createKeyValueStore();
    store.apply(['set', 'doc', { a: 1, b: [true, null] }]);
    expect(store.apply(['cas', 'doc', { b: [true, null], a: 1 }, { a: 2 }])).toBe('OK');
    expect(store.apply(['get', 'doc'])).toEqual({ a: 2 });
    expect(refusal(store, ['cas', 'doc', { a: 3 }, 'x'])).toBe('cas failed: doc is {"a":2}');
  });

  it('cas tells the string "2" from the number 2', () => {
    const store = createKeyValueStore();
    store.apply(['set', 'x', '2']);
    expect(refusal(store, ['cas', 'x', 2, 3])).toBe('cas failed: x is "2"');
  });

  it('cas with expected JSON null matches a missing key', () => {
    const store = createKeyValueStore();
    expect(store.apply(['cas', 'x', null, 'created'])).toBe('OK');
    expect(store.apply(['get', 'x'])).toBe('created');
  });

  it('cas quotes at most a bounded part of a long current value', () => {
    const store = createKeyValueStore();
    store.apply(['set', 'x', 'a'.repeat(10_000)]);
    const message = refusal(store, ['cas', 'x', 'b', 'c']);
    expect(message.length).toBeLessThan(300);
    expect(message.endsWith('…')).toBe(true);
  });

  it('incr counts from 0, takes an amount, and stores a decimal string', () => {
    const store = createKeyValueStore();
    expect(store.apply(['incr', 'n'])).toBe(1);
    expect(store.apply(['incr', 'n', '41'])).toBe(42);
    expect(store.apply(['incr', 'n', -50])).toBe(-8);
    expect(store.apply(['get', 'n'])).toBe('-8');
    store.apply(['set', 'm', '10']);
    expect(store.apply(['incr', 'm', '5'])).toBe(15);
    store.apply(['set', 'j', 7]);
    expect(store.apply(['incr', 'j'])).toBe(8);
    expect(store.apply(['get', 'j'])).toBe('8');
  });

  it('incr refuses a non-integer value or amount, and overflow', () => {
    const store = createKeyValueStore();
    store.apply(['set', 's', 'abc']);
    expect(refusal(store, ['incr', 's'])).toBe('incr failed: s holds "abc", not an integer');
    expect(refusal(store, ['incr', 'n', 'x'])).toBe('usage: incr KEY [N] (N must be an integer, got "x")');
    expect(refusal(store, ['incr', 'n', '1.5'])).toBe('usage: incr KEY [N] (N must be an integer, got "1.5")');
    expect(refusal(store, ['incr', 'n', 0.5])).toBe('usage: incr KEY [N] (N must be an integer, got 0.5)');
    store.apply(['set', 'big', String(Number.MAX_SAFE_INTEGER)]);
    expect(refusal(store, ['incr', 'big'])).toMatch(/^incr failed: big would leave the safe integer range/);
    expect(store.apply(['get', 'big'])).toBe(String(Number.MAX_SAFE_INTEGER));
    expect(store.apply(['get', 'n'])).toBeNull();
  });

  it('append concatenates and returns the new length in UTF-8 bytes', () => {
    const store = createKeyValueStore();
    expect(store.apply(['append', 'a', 'foo'])).toBe(3);
    expect(store.apply(['append', 'a', 'bar'])).toBe(6);
    expect(store.apply(['get', 'a'])).toBe('foobar');
    expect(store.apply(['append', 'u', 'é'])).toBe(2);
  });

  it('append refuses a JSON value and a non-string suffix', () => {
    const store = createKeyValueStore();
    store.apply(['set', 'j', { a: 1 }]);
    expect(refusal(store, ['append', 'j', 'x'])).toBe('append failed: j holds a JSON value, not a string');
    expect(refusal(store, ['append', 'k', 5])).toBe('usage: append KEY VALUE (VALUE must be a string to append)');
  });

  it('noop is OK', () => {
    expect(createKeyValueStore().apply(['noop'])).toBe('OK');
  });

  it('stores JSON values as given', () => {
    const store = createKeyValueStore();
    for (const value of [null, true, 0, -1.5, 'text', [1, [2]], { nested: { deeper: [] } }]) {
      expect(store.apply(['set', 'k', value])).toBe('OK');
      expect(store.apply(['get', 'k'])).toEqual(value);
    }
  });
});

describe('key-value store refusals', () => {
  it.each([
    [[], 'usage: COMMAND [ARG...]: a key-value command is an array such as ["set","x","1"]'],
    ['set x 1', 'usage: COMMAND [ARG...]: a key-value command is an array such as ["set","x","1"]'],
    [['frob', 'x'], 'unknown command "frob"; the key-value store knows get, set, del, cas, incr, append, noop'],
    [[7], 'unknown command a number; the key-value store knows get, set, del, cas, incr, append, noop'],
    [['get'], 'usage: get KEY'],
    [['get', 'x', 'y'], 'usage: get KEY'],
    [['set', 'x'], 'usage: set KEY VALUE'],
    [['del'], 'usage: del KEY'],
    [['cas', 'x', '1'], 'usage: cas KEY EXPECTED NEW'],
    [['incr', 'x', '1', '2'], 'usage: incr KEY [N]'],
    [['append', 'x'], 'usage: append KEY VALUE'],
    [['noop', 'x'], 'usage: noop'],
    [['get', 5], 'usage: get KEY (KEY must be a string, got a number)'],
    [['set', ['x'], '1'], 'usage: set KEY VALUE (KEY must be a string, got a array)'],
    [['set', 'x', undefined], 'usage: set KEY VALUE (VALUE must be a string or a JSON value nested at most 64 deep)'],
    [['set', 'x', Number.NaN], 'usage: set KEY VALUE (VALUE must be a string or a JSON value nested at most 64 deep)'],
    [['set', 'x', new Uint8Array(2)], 'usage: set KEY VALUE (VALUE must be a string or a JSON value nested at most 64 deep)'],
    [['set', 'x', new Map()], 'usage: set KEY VALUE (VALUE must be a string or a JSON value nested at most 64 deep)'],
    [['cas', 'x', undefined, '1'], 'usage: cas KEY EXPECTED NEW (EXPECTED must be a string or a JSON value nested at most 64 deep)'],
    [['cas', 'x', '1', undefined], 'usage: cas KEY EXPECTED NEW (NEW must be a string or a JSON value nested at most 64 deep)'],
  ])('refuses %j', (command, message) => {
    expect(refusal(createKeyValueStore(), command)).toBe(message);
  });

  it('refuses a value nested too deep', () => {
    let deep: unknown = 1;
    for (let depth = 0; depth < 65; depth++) deep = [deep];
    expect(refusal(createKeyValueStore(), ['set', 'x', deep])).toMatch(/nested at most 64 deep/);
  });

  it('refuses keys beyond keyBytesMax, counting UTF-8 bytes', () => {
    const store = createKeyValueStore();
    expect(store.apply(['set', 'k'.repeat(keyBytesMax), '1'])).toBe('OK');
    expect(refusal(store, ['set', 'k'.repeat(keyBytesMax + 1), '1'])).toBe('key is 4097 bytes, more than the limit of 4096 bytes');
    expect(refusal(store, ['get', 'é'.repeat(keyBytesMax / 2 + 1)])).toBe('key is 4098 bytes, more than the limit of 4096 bytes');
  });

  it('refuses values beyond valueBytesMax, and an append that would grow past it', () => {
    const store = createKeyValueStore();
    expect(store.apply(['set', 'v', 'v'.repeat(valueBytesMax)])).toBe('OK');
    expect(refusal(store, ['set', 'w', 'w'.repeat(valueBytesMax + 1)])).toBe('VALUE is 1048577 bytes, more than the limit of 1048576 bytes');
    expect(refusal(store, ['append', 'v', 'x'])).toBe('append failed: v would be 1048577 bytes, more than the limit of 1048576 bytes');
    expect(refusal(store, ['set', 'j', ['x'.repeat(valueBytesMax)]])).toBe('VALUE is 1048580 bytes, more than the limit of 1048576 bytes');
    expect((store.apply(['get', 'v']) as string).length).toBe(valueBytesMax);
  });
});

describe('key-value store snapshots', () => {
  const commands: unknown[] = [
    ['set', 'b', '2'],
    ['set', 'a', '1'],
    ['incr', 'c', '5'],
    ['set', 'doc', { z: 1, y: [null] }],
    ['append', 'b', 'x'],
    ['del', 'a'],
    ['set', 'a', 'again'],
  ];

  function fed(order: readonly unknown[]): StateMachine {
    const store = createKeyValueStore();
    for (const command of order) store.apply(command);
    return store;
  }

  it('two stores fed the same commands give identical bytes', () => {
    expect(Buffer.from(fed(commands).snapshot())).toEqual(Buffer.from(fed(commands).snapshot()));
  });

  it('equal contents give identical bytes whatever order the keys were written in', () => {
    const forward = fed([['set', 'a', '1'], ['set', 'b', '2'], ['set', 'c', '3']]);
    const backward = fed([['set', 'c', '3'], ['set', 'b', '2'], ['set', 'a', '1']]);
    expect(Buffer.from(forward.snapshot())).toEqual(Buffer.from(backward.snapshot()));
  });

  it('restore gives back the same state, and the same bytes', () => {
    const original = fed(commands);
    const bytes = original.snapshot();
    const copy = createKeyValueStore();
    copy.apply(['set', 'stale', 'gone after restore']);
    copy.restore(bytes);
    expect(Buffer.from(copy.snapshot())).toEqual(Buffer.from(bytes));
    expect(copy.apply(['get', 'stale'])).toBeNull();
    expect(copy.apply(['get', 'b'])).toBe('2x');
    expect(copy.apply(['get', 'c'])).toBe('5');
    expect(copy.apply(['get', 'doc'])).toEqual({ z: 1, y: [null] });
    // Sizes are rebuilt on restore, so the append limit still holds.
    copy.apply(['set', 'big', 'v'.repeat(valueBytesMax)]);
    copy.restore(copy.snapshot());
    expect(() => copy.apply(['append', 'big', 'x'])).toThrow(/would be 1048577 bytes/);
  });

  function restoreError(bytes: Uint8Array): string {
    const store = fed([['set', 'kept', '1']]);
    try {
      store.restore(bytes);
    } catch (error) {
      expect(error).toBeInstanceOf(SnapshotInvalid);
      expect(store.apply(['get', 'kept'])).toBe('1');
      return (error as SnapshotInvalid).message;
    }
    throw new Error('expected restore to fail');
  }

  it('restore refuses bytes that are not a valid snapshot, changing nothing', () => {
    expect(restoreError(new Uint8Array([0x92, 0x01]))).toMatch(/^paxos-kv snapshot is not valid msgpack/);
    expect(restoreError(new Uint8Array([0x81, 0xa1, 0x61, 0x01, 0x02]))).toMatch(/not valid msgpack: Data read, but end of buffer not reached/);
    expect(restoreError(new Uint8Array([0xc1]))).toBe('not a paxos-kv snapshot');
    expect(restoreError(packSnapshot('something-else', { entries: [] }))).toBe('not a paxos-kv snapshot');
    expect(restoreError(packSnapshot(keyValueSnapshotFormat, { entries: 'no' }))).toBe('key-value snapshot has no entries array');
    expect(restoreError(packSnapshot(keyValueSnapshotFormat, { entries: [['b', '1'], ['a', '2']] }))).toBe(
      'key-value snapshot entry 1 is out of order or repeats a key',
    );
    expect(restoreError(packSnapshot(keyValueSnapshotFormat, { entries: [['a', '1'], ['a', '2']] }))).toBe(
      'key-value snapshot entry 1 is out of order or repeats a key',
    );
    expect(restoreError(packSnapshot(keyValueSnapshotFormat, { entries: [[1, '1']] }))).toBe('key-value snapshot entry 0 has an invalid key');
    expect(restoreError(packSnapshot(keyValueSnapshotFormat, { entries: [['a', new Uint8Array(1)]] }))).toBe(
      'key-value snapshot entry 0 has an invalid value',
    );
    expect(restoreError(packSnapshot(keyValueSnapshotFormat, { entries: [['a']] }))).toBe('key-value snapshot entry 0 is not a [key, value] pair');
  });

  it('restore refuses a snapshot version it does not know', () => {
    expect(restoreError(packSnapshot(keyValueSnapshotFormat, { entries: [], version: 2 }))).toBe(
      'paxos-kv snapshot version 2 is not supported (this build reads version 1)',
    );
  });
});
