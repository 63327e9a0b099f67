// A user's state machine module inside the simulation (`paxos sim`): one
// fresh instance of the module per replica, and a world around every call
// into it in which the clock and Math.random are the replica's own.
//
// Why cache-busting imports and not vm contexts or worker threads: the
// simulation is one synchronous event loop that calls apply/snapshot/restore
// inline, as the driver does in a node. A worker would need a blocking
// round trip per call, and node:vm modules need an experimental flag; an
// import of `file.mjs?paxos-sim=N` is a separate module record, so its
// module-level variables are its own, and it is called like the real thing.
// A resolve hook (registered once per thread) passes the tag on to the
// module's own files that it imports, so their module-level state is the
// instance's too; packages (under node_modules) and node: builtins are
// shared, as is globalThis.
//
// Why a world: a real replica reads a clock that differs from its peers' and
// runs each command at another instant. Here Date, Date.now, performance.now
// and Math.random are swapped in for the length of each call: the clock is
// the replica's virtual time plus a per-node offset, and Math.random is
// seeded by (seed, node, command), so a machine that reads either diverges
// across replicas, yet the whole run is a function of the seed and reruns
// exactly. A replica and a copy restored from its snapshot share a node's
// world, so they draw the same numbers for the same command.
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Prng } from '../node/core/prng.js';
import { checkedFactory, factoryExport, StateMachineLoadError } from '../node/statemachine/loader.js';
import type { StateMachine, StateMachineFactory } from '../node/statemachine/types.js';

const RealDate = globalThis.Date;
const realRandom = Math.random;
const realPerformanceNow = performance.now.bind(performance);

/** 2026-01-01T00:00:00Z: a replica's clock starts here, plus its virtual time and its node's offset. */
const clockEpochMs = 1_767_225_600_000;
/** How far apart two replicas' clocks are per node id: a second, as between real hosts. */
const clockSkewPerNodeMs = 1_013;

/** One import of the module: its own module-level state. */
export interface ModuleInstance {
  /** Makes checked machines (results, snapshot bytes), as a node's loader does. */
  factory: StateMachineFactory;
  /** The module's optional `generate(random)` export. */
  generate: ((random: () => number) => unknown) | undefined;
}

let importsMade = 0;

/** The query that makes an import a module instance of its own. */
const instanceTag = 'paxos-sim';

/**
 * A module-resolution hook: a file that a tagged module imports gets the
 * same tag, unless it is a package (node_modules) or already tagged. Loaded
 * from a data: URL, so it needs no file of its own next to the built code.
 */
const instanceHooks = `
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  const parent = context.parentURL;
  if (parent === undefined || !result.url.startsWith('file:') || result.url.includes('/node_modules/')) return result;
  const tag = /[?&](${instanceTag}=\\d+)/.exec(parent);
  if (tag === null || result.url.includes('${instanceTag}=')) return result;
  return { ...result, url: result.url + (result.url.includes('?') ? '&' : '?') + tag[1] };
}`;

let hooksRegistered = false;

function registerInstanceHooks(): void {
  if (hooksRegistered) return;
  hooksRegistered = true;
  register(`data:text/javascript,${encodeURIComponent(instanceHooks)}`);
}

/**
 * Imports a fresh instance of the module at `url` (a file: URL). Each call is
 * a new module record, kept by Node for the life of the process (see the
 * seed limit per worker in sweep.ts).
 */
export async function importModuleInstance(url: string, label: string): Promise<ModuleInstance> {
  registerInstanceHooks();
  importsMade += 1;
  let exported: Record<string, unknown>;
  try {
    exported = (await import(`${url}?${instanceTag}=${importsMade}`)) as Record<string, unknown>;
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new StateMachineLoadError(`cannot import ${label}: ${reason}`, { cause: error });
  }
  const generate = exported.generate;
  if (generate !== undefined && typeof generate !== 'function') throw new StateMachineLoadError(`${label}: the export generate must be a function (random) => command`);
  return { factory: checkedFactory(factoryExport(exported, label), label), generate: generate as ModuleInstance['generate'] };
}

export function moduleUrl(absolutePath: string): string {
  return pathToFileURL(absolutePath).href;
}

/** Identifies the command a call runs (its client and seq in the simulation), so a replica and its restored copy draw alike. */
export type CommandKey = (op: unknown) => string | undefined;

/** The clock and randomness one node's replicas see. */
export class ReplicaWorld {
  private random: Prng;

  constructor(
    private readonly seed: number,
    private readonly node: number,
    private readonly now: () => number,
    private readonly commandKey: CommandKey,
  ) {
    this.random = new Prng(hash32(`${seed}/${node}/start`));
  }

  /** Runs `call` with this replica's Date, performance.now and Math.random; a command call draws from its own stream. */
  run<T>(call: () => T, op?: unknown): T {
    if (op !== undefined) this.random = new Prng(hash32(`${this.seed}/${this.node}/${this.commandKey(op) ?? stableText(op)}`));
    const clock = () => clockEpochMs + this.now() + this.node * clockSkewPerNodeMs;
    const random = this.random;
    const SimDate = simulatedDate(clock);
    globalThis.Date = SimDate;
    Math.random = () => random.next();
    performance.now = () => this.now() + this.node * clockSkewPerNodeMs;
    try {
      return call();
    } finally {
      globalThis.Date = RealDate;
      Math.random = realRandom;
      performance.now = realPerformanceNow;
    }
  }

  /** Wraps a factory so that making a machine and every call on it run in this world; commands are copied, as each real replica decodes its own. */
  wrap(factory: StateMachineFactory): StateMachineFactory {
    return () => {
      const machine = this.run(() => factory());
      return {
        apply: (op: unknown) => this.run(() => machine.apply(copyCommand(op)), op),
        snapshot: () => this.run(() => machine.snapshot()),
        restore: (bytes: Uint8Array) => this.run(() => machine.restore(bytes)),
      } satisfies StateMachine;
    };
  }
}

function simulatedDate(clock: () => number): DateConstructor {
  class SimDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(clock());
      else super(...(args as [string]));
    }

    static override now(): number {
      return clock();
    }
  }
  return SimDate as unknown as DateConstructor;
}

function copyCommand(op: unknown): unknown {
  return typeof op === 'object' && op !== null ? structuredClone(op) : op;
}

function stableText(op: unknown): string {
  try {
    return JSON.stringify(op) ?? String(op);
  } catch {
    return String(op);
  }
}

/** FNV-1a: a seed for a PRNG from text. */
export function hash32(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
