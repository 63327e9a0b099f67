// Loading a user's state machine module (`paxos node start --state-machine PATH`)
// and naming it. A module is trusted code, but it is checked the way a careful
// operator would check it by hand: that it exports a factory, that the factory
// makes an object with apply/snapshot/restore, and, on every command, that the
// result can travel to a client. Every failure names the module.
//
// The identity names a state machine in the peer handshake, so that nodes
// running different services (or different versions of one) refuse to form a
// cluster: `name@version` when the module exports both, else a hash of the file.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Packr } from 'msgpackr';
import { builtinStateMachineIdentity } from '../../wire/protocol.js';
import { dataDepthMax, stateMachineIdentityCharsMax } from '../../wire/validate.js';
import { createKeyValueStore } from './kv.js';
import { CommandRefused, type StateMachine, type StateMachineFactory } from './types.js';
import { valueBytesMax } from './verbs.js';

export { builtinStateMachineIdentity, stateMachineIdentityCharsMax };

/**
 * A result larger than this (msgpack bytes) is refused. Results travel in one
 * reply frame and are kept in the client's session, which every snapshot
 * carries, so they get the same ceiling as a stored value of the built-in store.
 */
export const resultBytesMax = valueBytesMax;

/** Hex characters of the sha256 kept in a hash identity: 64 bits tell files apart. */
const hashIdentityChars = 16;

/** Why a state machine module cannot be used; `paxos node start` exits 2 with the message. */
export class StateMachineLoadError extends Error {
  /** Stable code for logs and `--json` output. */
  readonly code = 'STATE_MACHINE_INVALID' as const;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StateMachineLoadError';
  }
}

/** A user module, ready to be handed to `startNode`. */
export interface LoadedStateMachine {
  /** Makes a fresh machine; every instance it makes is checked (see {@link loadStateMachine}). */
  factory: StateMachineFactory;
  /** Names the machine in the peer handshake: `name@version`, or `sha256:<16 hex>` of the file. */
  identity: string;
  /** The module's absolute path. */
  path: string;
}

/**
 * Imports the ES module at `path` (relative paths resolve from `cwd`, by
 * default the process's) and returns its state machine factory: the default
 * export, or else a named export `createStateMachine`. A class is accepted and
 * constructed with `new`. The factory is called once here to check that it
 * makes an object with `apply`, `snapshot` and `restore` functions.
 *
 * The machines the returned factory makes refuse (deterministically, as a
 * thrown {@link CommandRefused}) a command whose result is not plain msgpack
 * data, is a Promise, or is over {@link resultBytesMax}; and their
 * `snapshot()` must return a Uint8Array.
 *
 * @throws StateMachineLoadError naming the module and what is wrong with it.
 */
export async function loadStateMachine(path: string, options: { cwd?: string } = {}): Promise<LoadedStateMachine> {
  const absolute = resolve(options.cwd ?? process.cwd(), path);
  const source = await readModuleFile(absolute, path);
  const exported = await importModule(absolute, path);
  const label = `state machine ${path}`;
  const factory = checkedFactory(factoryExport(exported, label), label);
  probe(factory, label);
  return { factory, identity: moduleIdentity(exported, source, label), path: absolute };
}

/** Makes one machine and drops it, so that shape errors show at start-up rather than at the first snapshot. */
function probe(factory: StateMachineFactory, label: string): void {
  try {
    factory();
  } catch (error) {
    if (error instanceof StateMachineLoadError) throw error;
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new StateMachineLoadError(`${label}: the factory threw ${reason}`, { cause: error });
  }
}

/**
 * Wraps `factory` so that every machine it makes is checked: its shape when it
 * is made, and each result and snapshot as described in {@link loadStateMachine}.
 * `label` names the machine in error messages.
 */
export function checkedFactory(factory: (...args: never[]) => unknown, label: string): StateMachineFactory {
  const make = isClass(factory) ? () => new (factory as unknown as new () => unknown)() : () => factory();
  return () => guardMachine(checkShape(make(), label), label);
}

/**
 * An identity for a factory handed to `startNode` in code, when the caller
 * gave none: the function's name and a hash of its source text. Give
 * `stateMachineIdentity` explicitly when the factory's behaviour depends on
 * more than its own text (imports, closures, configuration).
 */
export function identityOfFactory(factory: StateMachineFactory): string {
  const digest = sha256Hex(Function.prototype.toString.call(factory)).slice(0, hashIdentityChars);
  const name = factory.name === '' ? 'anonymous' : factory.name.slice(0, 64);
  return `function:${name}@sha256:${digest}`;
}

/**
 * The identity a node announces to its peers: `stateMachineIdentity` when
 * given, else the built-in store's without a factory, else
 * {@link identityOfFactory}.
 */
export function stateMachineIdentityFor(config: { stateMachine?: StateMachineFactory; stateMachineIdentity?: string }): string {
  const given = config.stateMachineIdentity;
  if (given !== undefined) {
    if (given === '' || given.length > stateMachineIdentityCharsMax) {
      throw new StateMachineLoadError(`stateMachineIdentity must be 1 to ${stateMachineIdentityCharsMax} characters`);
    }
    return given;
  }
  const factory = config.stateMachine;
  return factory === undefined || factory === createKeyValueStore ? builtinStateMachineIdentity : identityOfFactory(factory);
}

async function readModuleFile(absolute: string, shown: string): Promise<Buffer> {
  try {
    return await readFile(absolute);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
    throw new StateMachineLoadError(`cannot read state machine module ${shown} (${absolute}): ${why}`, { cause: error });
  }
}

async function importModule(absolute: string, shown: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const hint = absolute.endsWith('.js') ? ' (a .js file outside an ESM package is CommonJS: name it .mjs)' : '';
    throw new StateMachineLoadError(`cannot import state machine module ${shown}: ${reason}${hint}`, { cause: error });
  }
}

/** The module's factory export (default, else `createStateMachine`), or why there is none. */
export function factoryExport(exported: Record<string, unknown>, label: string): (...args: never[]) => unknown {
  const candidate = exported.default ?? exported.createStateMachine;
  if (typeof candidate === 'function') return candidate as (...args: never[]) => unknown;
  if (candidate === undefined) {
    throw new StateMachineLoadError(
      `${label} exports no factory: add \`export default function createStateMachine() { return { apply, snapshot, restore }; }\``,
    );
  }
  if (typeof candidate === 'object' && candidate !== null && 'apply' in candidate) {
    throw new StateMachineLoadError(
      `${label}: the default export is a state machine object, not a factory; export a function that returns a fresh one (a replica makes a new machine to restore a snapshot into)`,
    );
  }
  throw new StateMachineLoadError(`${label}: the default export must be a factory function, got ${describeType(candidate)}`);
}

function checkShape(made: unknown, label: string): StateMachine {
  if (isThenable(made)) {
    throw new StateMachineLoadError(`${label}: the factory returned a Promise; it must return the state machine itself (no async factory)`);
  }
  if (typeof made !== 'object' || made === null) {
    throw new StateMachineLoadError(`${label}: the factory must return an object with apply, snapshot and restore, got ${describeType(made)}`);
  }
  const missing = ['apply', 'snapshot', 'restore'].filter((method) => typeof (made as Record<string, unknown>)[method] !== 'function');
  if (missing.length > 0) {
    throw new StateMachineLoadError(`${label}: the state machine has no ${missing.join(', ')} function${missing.length > 1 ? 's' : ''}`);
  }
  return made as StateMachine;
}

/** The user's machine behind checks; methods are called on it, so `this` works in classes. */
function guardMachine(machine: StateMachine, label: string): StateMachine {
  const guarded: StateMachine = {
    apply: (command: unknown) => checkResult(machine.apply(command), label),
    snapshot: () => checkSnapshot(machine.snapshot(), label),
    restore: (bytes: Uint8Array) => machine.restore(bytes),
  };
  const query = (machine as { query?: unknown }).query;
  if (query !== undefined && typeof query !== 'function') throw new StateMachineLoadError(`${label}: query must be a function when present, got ${describeType(query)}`);
  if (typeof query === 'function') guarded.query = (command: unknown) => checkResult(query.call(machine, command), label);
  return guarded;
}

// Deterministic, so every replica measures the same size for the same result.
const resultPackr = new Packr({ useRecords: false });

/**
 * A bad result is refused rather than passed on: the reply could not be sent
 * (the client would see its connection fail and retry forever), and it would
 * sit in the session table and in every snapshot. The checks depend only on
 * the result, so every replica refuses alike.
 */
function checkResult(result: unknown, label: string): unknown {
  if (isThenable(result)) throw new CommandRefused(`${label}: apply returned a Promise; apply must be synchronous`);
  if (result === undefined) return result;
  const problem = plainDataProblem(result, dataDepthMax);
  if (problem !== undefined) throw new CommandRefused(`${label}: apply returned a result that cannot be sent to a client: ${problem}`);
  const bytes = resultPackr.pack(result).length;
  if (bytes > resultBytesMax) throw new CommandRefused(`${label}: apply returned a ${bytes}-byte result; at most ${resultBytesMax}`);
  return result;
}

function checkSnapshot(bytes: unknown, label: string): Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new Error(`${label}: snapshot() must return a Uint8Array (e.g. new TextEncoder().encode(JSON.stringify(state))), got ${describeType(bytes)}`);
  }
  return bytes;
}

const int64Min = -(2n ** 63n);
const uint64Max = 2n ** 64n - 1n;

/** What the wire accepts as data (see src/wire/validate.ts), or why not. */
function plainDataProblem(value: unknown, depthLeft: number): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return undefined;
    case 'bigint':
      return value >= int64Min && value <= uint64Max ? undefined : 'a bigint beyond 64 bits';
    case 'object':
      return value === null ? undefined : containerProblem(value, depthLeft);
    default:
      return `a ${typeof value}`;
  }
}

function containerProblem(value: object, depthLeft: number): string | undefined {
  if (value instanceof Uint8Array) return undefined;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : undefined;
  const isArray = Array.isArray(value);
  const prototype: unknown = Object.getPrototypeOf(value);
  if (!isArray && prototype !== Object.prototype && prototype !== null) return `an instance of ${describeType(value)} (use plain objects and arrays)`;
  if (depthLeft === 0) return `data nested more than ${dataDepthMax} deep`;
  const items: unknown[] = isArray ? value : Object.values(value);
  for (const item of items) {
    const problem = item === undefined ? 'undefined inside an object or array (use null)' : plainDataProblem(item, depthLeft - 1);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * `name@version` when the module exports both as non-empty strings (or a
 * number version), so that a rebuilt but compatible file still matches; else
 * a hash of the file's bytes, so that any edit is a different machine.
 */
function moduleIdentity(exported: Record<string, unknown>, source: Buffer, label: string): string {
  const { name, version } = exported;
  const versionText = typeof version === 'number' ? String(version) : version;
  if (typeof name === 'string' && name !== '' && typeof versionText === 'string' && versionText !== '') {
    const identity = `${name}@${versionText}`;
    if (identity.length > stateMachineIdentityCharsMax || /\s/.test(identity)) {
      throw new StateMachineLoadError(`${label}: name@version must be at most ${stateMachineIdentityCharsMax} characters without spaces`);
    }
    return identity;
  }
  return `sha256:${sha256Hex(source).slice(0, hashIdentityChars)}`;
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function isClass(candidate: unknown): boolean {
  return typeof candidate === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(candidate));
}

function isThenable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return `a ${typeof value}`;
}
