// Loading a user's state machine module: what it may export, the checks on
// the machines it makes, and the identity nodes compare in the handshake.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createKeyValueStore } from '../../../src/node/statemachine/kv.js';
import {
  builtinStateMachineIdentity,
  identityOfFactory,
  loadStateMachine,
  resultBytesMax,
  stateMachineIdentityFor,
  StateMachineLoadError,
} from '../../../src/node/statemachine/loader.js';
import { ReplicatedService } from '../../../src/node/statemachine/sessions.js';

const dir = mkdtempSync(join(tmpdir(), 'paxos-loader-'));
let fileCount = 0;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes an ES module with `source` and returns its path (a fresh name: imports are cached by URL). */
function moduleFile(source: string, extension = '.mjs'): string {
  const path = join(dir, `machine-${++fileCount}${extension}`);
  writeFileSync(path, source);
  return path;
}

const counterBody = `{
  let total = 0;
  return {
    apply: (command) => { if (command[0] === 'boom') throw new Error('boom refused'); total += Number(command[1] ?? 0); return total; },
    snapshot: () => new TextEncoder().encode(String(total)),
    restore: (bytes) => { total = Number(new TextDecoder().decode(bytes)); },
  };
}`;

async function loadError(path: string): Promise<StateMachineLoadError> {
  const error = await loadStateMachine(path).then(() => undefined, (thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(StateMachineLoadError);
  return error as StateMachineLoadError;
}

/** A session registered at position 0 of slot 1, used by the commands after it in the same slot. */
const registration = { client: 'c', seq: 0, op: null };
const session = 'c@1.0';

describe('loadStateMachine', () => {
  it('takes the default export as the factory and name@version as the identity', async () => {
    const path = moduleFile(`export const name = 'counter'; export const version = '2'; export default function make() ${counterBody}`);
    const loaded = await loadStateMachine(path);
    expect(loaded.identity).toBe('counter@2');
    expect(loaded.path).toBe(path);
    const machine = loaded.factory();
    expect(machine.apply(['add', '5'])).toBe(5);
    expect(machine.apply(['add', '2'])).toBe(7);
    const copy = loaded.factory();
    copy.restore(machine.snapshot());
    expect(copy.apply(['add', '0'])).toBe(7);
  });

  it('resolves a relative path from the given directory', async () => {
    const path = moduleFile(`export default () => ${counterBody}`);
    const loaded = await loadStateMachine(relative(tmpdir(), path), { cwd: tmpdir() });
    expect(loaded.path).toBe(path);
  });

  it('identifies a module without name and version by a hash of its file, which changes with the file', async () => {
    const first = await loadStateMachine(moduleFile(`export default function make() ${counterBody}`));
    const same = await loadStateMachine(moduleFile(`export default function make() ${counterBody}`));
    const edited = await loadStateMachine(moduleFile(`export default function make() ${counterBody} // edited`));
    expect(first.identity).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(same.identity).toBe(first.identity);
    expect(edited.identity).not.toBe(first.identity);
  });

  it('accepts a named createStateMachine export and a class', async () => {
    const named = await loadStateMachine(moduleFile(`export function createStateMachine() ${counterBody}`));
    expect(named.factory().apply(['add', '3'])).toBe(3);
    const classy = await loadStateMachine(
      moduleFile(`export default class Counter {
        total = 0;
        apply(command) { this.total += Number(command[1]); return this.total; }
        snapshot() { return new Uint8Array([this.total]); }
        restore(bytes) { this.total = bytes[0]; }
      }`),
    );
    const machine = classy.factory();
    machine.apply(['add', '4']);
    expect(machine.apply(['add', '1'])).toBe(5);
  });

  it.each([
    ['a missing file', () => join(dir, 'nowhere.mjs'), /cannot read state machine module .*nowhere\.mjs.*no such file/],
    ['a syntax error', () => moduleFile('export default function ( {'), /cannot import state machine module .*(SyntaxError|invalid JS syntax)/],
    ['no factory', () => moduleFile('export const x = 1;'), /exports no factory/],
    ['an object instead of a factory', () => moduleFile('export default { apply() {}, snapshot() {}, restore() {} };'), /not a factory/],
    ['a factory without restore', () => moduleFile('export default () => ({ apply() {}, snapshot() {} });'), /has no restore function/],
    ['an async factory', () => moduleFile('export default async () => ({ apply() {}, snapshot() {}, restore() {} });'), /returned a Promise/],
    ['a factory that returns nothing', () => moduleFile('export default () => undefined;'), /must return an object/],
    ['a factory that throws', () => moduleFile('export default () => { throw new RangeError("no config"); };'), /the factory threw RangeError: no config/],
  ])('refuses %s with a clear error', async (_, path, message) => {
    const error = await loadError(path());
    expect(error.message).toMatch(message);
    expect(error.code).toBe('STATE_MACHINE_INVALID');
  });

  it('refuses a name@version with spaces', async () => {
    const error = await loadError(moduleFile(`export const name = 'my machine'; export const version = 1; export default () => ${counterBody}`));
    expect(error.message).toMatch(/without spaces/);
  });
});

describe('the machines a loaded factory makes', () => {
  async function machineReturning(resultSource: string) {
    const loaded = await loadStateMachine(
      moduleFile(`export default () => ({ apply: (c) => (${resultSource}), snapshot: () => 'not bytes', restore() {} });`),
    );
    return loaded.factory();
  }

  it('pass plain data through, and undefined (the service turns it into null)', async () => {
    const machine = await machineReturning('c');
    const data = { list: [1, 'two', null, true, new Uint8Array([1])], nested: { at: new Date(0) }, big: 2n ** 40n };
    expect(machine.apply(data)).toBe(data);
    expect((await machineReturning('undefined')).apply(1)).toBeUndefined();
  });

  it.each([
    ['a Promise', 'Promise.resolve(1)', /apply returned a Promise/],
    ['a class instance', 'new Map()', /instance of Map/],
    ['undefined inside an array', '[1, undefined]', /undefined inside an object or array/],
    ['a function', '{ f() {} }', /a function/],
    ['too large a result', `'x'.repeat(${resultBytesMax} + 1)`, /-byte result; at most/],
  ])('refuse a command whose result is %s, deterministically', async (_, source, message) => {
    const machine = await machineReturning(source);
    expect(() => machine.apply(['x'])).toThrow(message);
  });

  it('say which module returned a snapshot that is not bytes', async () => {
    const machine = await machineReturning('1');
    expect(() => machine.snapshot()).toThrow(/snapshot\(\) must return a Uint8Array/);
  });

  it('turn a throw into a refusal with the same message on every replica, leaving the state as it was', async () => {
    const loaded = await loadStateMachine(moduleFile(`export default function make() ${counterBody}`));
    const replicas = [new ReplicatedService(loaded.factory()), new ReplicatedService(loaded.factory())];
    for (const service of replicas) {
      const outcomes = service.applyValue(1, {
        commands: [
          registration,
          { client: session, seq: 1, op: ['add', '5'] },
          { client: session, seq: 2, op: ['boom'] },
          { client: session, seq: 3, op: ['add', '1'] },
        ],
      });
      expect(outcomes.slice(1).map((outcome) => (outcome.ok ? outcome.result : outcome.error))).toEqual([5, 'boom refused', 6]);
    }
    expect(replicas[0].stateDigest()).toBe(replicas[1].stateDigest());
  });
});

describe('a loaded machine\'s optional query export', () => {
  it('is served by the read path: answered from the state, checked as apply\'s results, never touching sessions', async () => {
    const loaded = await loadStateMachine(
      moduleFile(`export default () => { let n = 0; return { apply: (c) => (n += c[1]), query: (c) => (c[0] === 'map' ? new Map() : n), snapshot: () => new Uint8Array(), restore() {} }; };`),
    );
    const service = new ReplicatedService(loaded.factory());
    service.applyValue(1, { commands: [registration, { client: session, seq: 1, op: ['add', 4] }] });
    const before = service.stateDigest();
    expect(service.query(['count'])).toEqual({ ok: true, result: 4 });
    expect(service.query(['map'])).toEqual({ ok: false, error: expect.stringMatching(/instance of Map/) });
    expect(service.stateDigest()).toBe(before);
  });

  it('is absent: queries are refused as unsupported (null); a query that is not a function stops the load', async () => {
    const plain = await loadStateMachine(moduleFile(`export default function make() ${counterBody}`));
    expect(new ReplicatedService(plain.factory()).query(['count'])).toBeNull();
    const bad = await loadError(moduleFile(`export default () => ({ apply() {}, query: 42, snapshot: () => new Uint8Array(), restore() {} });`));
    expect(bad.message).toMatch(/query must be a function when present/);
  });

  it('the built-in store answers get as a query and refuses every verb that writes', () => {
    const service = new ReplicatedService(createKeyValueStore());
    service.applyValue(1, { commands: [registration, { client: session, seq: 1, op: ['set', 'x', '1'] }] });
    expect(service.query(['get', 'x'])).toEqual({ ok: true, result: '1' });
    expect(service.query(['set', 'x', '2'])).toEqual({ ok: false, error: expect.stringMatching(/set is not a read/) });
    expect(service.query(['get', 'x'])).toEqual({ ok: true, result: '1' });
  });
});

describe('stateMachineIdentityFor', () => {
  it('names the built-in store builtin:kv@1, given or not', () => {
    expect(builtinStateMachineIdentity).toBe('builtin:kv@1');
    expect(stateMachineIdentityFor({})).toBe(builtinStateMachineIdentity);
    expect(stateMachineIdentityFor({ stateMachine: createKeyValueStore })).toBe(builtinStateMachineIdentity);
  });

  it('prefers the identity given, and refuses an empty or overlong one', () => {
    expect(stateMachineIdentityFor({ stateMachine: createKeyValueStore, stateMachineIdentity: 'ledger@3' })).toBe('ledger@3');
    expect(() => stateMachineIdentityFor({ stateMachineIdentity: '' })).toThrow(StateMachineLoadError);
    expect(() => stateMachineIdentityFor({ stateMachineIdentity: 'x'.repeat(257) })).toThrow(/1 to 256 characters/);
  });

  it('hashes a factory given in code by its source', () => {
    const one = () => createKeyValueStore();
    const other = () => createKeyValueStore(); // same text, same identity
    const changed = () => ({ ...createKeyValueStore() });
    expect(identityOfFactory(one)).toMatch(/^function:one@sha256:[0-9a-f]{16}$/);
    expect(identityOfFactory(other).split('@')[1]).toBe(identityOfFactory(one).split('@')[1]);
    expect(stateMachineIdentityFor({ stateMachine: changed })).not.toBe(stateMachineIdentityFor({ stateMachine: one }));
  });
});
