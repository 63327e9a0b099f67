// `paxos sim --state-machine FILE`: one seed of the deterministic simulation
// with the user's module on every replica (each its own module instance and
// world, user-module.ts), compared slot by slot (divergence.ts), under the
// simulation's faults. A run is a function of (module, seed, commands,
// options): rerunning it gives the same report.
import type { NodeId } from '../node/core/messages.js';
import { Prng } from '../node/core/prng.js';
import { loadStateMachine, StateMachineLoadError } from '../node/statemachine/loader.js';
import type { StateMachineFactory } from '../node/statemachine/types.js';
import { encodeCanonicalJson } from '../json/canonical.js';
import { DivergenceFound, ReplicaComparison, type Divergence } from './divergence.js';
import { Simulation, SimulationFailure, type FaultProfile, type SimStats } from './simulation.js';
import { hash32, importModuleInstance, moduleUrl, ReplicaWorld, type ModuleInstance } from './user-module.js';

/** Commands `generate` is asked for in one run at most; clients stop after it. */
export const generatedCommandsMax = 2_000;

/**
 * Module instances imported for each node before a run: its first start and
 * its next restarts each get a fresh one, as a restarted process would (the
 * import is asynchronous and the run is not, so they are made beforehand);
 * later restarts reuse the last. An import takes about a millisecond.
 */
export const instancesPerNodeMax = 4;

/** Fault groups of --faults. */
export const faultGroups = ['crashes', 'partitions', 'network', 'disk'] as const;
export type FaultGroup = (typeof faultGroups)[number];

export interface UserModule {
  /** Absolute path. */
  path: string;
  /** As the user named it, for messages. */
  shown: string;
  identity: string;
  hasGenerate: boolean;
}

export interface UserSimOptions {
  module: UserModule;
  seed: number;
  /** 3 or 5. */
  nodes: number;
  /** The commands to submit, in order; undefined: the module's generate(random). */
  commands?: readonly unknown[];
  /** Fault groups left on; all by default. */
  faults?: readonly FaultGroup[];
}

export interface UserSimRun {
  seed: number;
  ok: boolean;
  divergence: Divergence | null;
  /** The commands clients were handed, in order (what a shrink starts from). */
  submitted: unknown[];
  stats: (SimStats & { checkedSlots: number; restoresChecked: number; snapshotEvery: number }) | null;
}

/** Loads the module once as a node would, so a module that cannot be used fails here with the loader's message (exit 2). */
export async function prepareUserModule(path: string, cwd?: string): Promise<UserModule> {
  const loaded = await loadStateMachine(path, { cwd });
  const instance = await importModuleInstance(moduleUrl(loaded.path), `state machine ${path}`);
  return { path: loaded.path, shown: path, identity: loaded.identity, hasGenerate: instance.generate !== undefined };
}

/** A command must be JSON (what --json-command takes). */
export class CommandsError extends Error {
  readonly code = 'COMMANDS_INVALID' as const;
  constructor(message: string) {
    super(message);
    this.name = 'CommandsError';
  }
}

/** Parses a JSON-lines commands file: one JSON value per non-blank line. */
export function parseCommandLines(text: string, shown: string): unknown[] {
  const commands: unknown[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      commands.push(JSON.parse(line));
    } catch (error) {
      throw new CommandsError(`${shown} line ${index + 1} is not JSON: ${(error as Error).message}`);
    }
  });
  if (commands.length === 0) throw new CommandsError(`${shown} holds no commands`);
  return commands;
}

export async function runUserSeed(options: UserSimOptions): Promise<UserSimRun> {
  const { module, seed, nodes } = options;
  const label = `state machine ${module.shown}`;
  const url = moduleUrl(module.path);
  // One instance per node, and one for generate: no module-level state is shared between them.
  const instances = new Map<NodeId, ModuleInstance[]>();
  for (let node = 1; node <= nodes; node += 1) {
    const own: ModuleInstance[] = [];
    for (let index = 0; index < instancesPerNodeMax; index += 1) own.push(await importModuleInstance(url, label));
    instances.set(node, own);
  }
  const generator = options.commands === undefined ? await importModuleInstance(url, label) : undefined;
  if (generator !== undefined && generator.generate === undefined) {
    throw new StateMachineLoadError(`${label} exports no generate(random): give --commands FILE.jsonl, or export function generate(random) { return command; }`);
  }
  const own = new Prng(hash32(`${seed}/paxos-sim`));
  const snapshotEvery = own.pick([3, 5, 10, 20]);
  const submitted: unknown[] = [];
  const nextOp = commandSource(options.commands, generator, seed, label);
  // A module that breaks the contract (generate throws, a factory's shape) stops the run as a usage error, not a divergence.
  let contractError: Error | null = null;
  const guarded = <T>(call: () => T): T => {
    try {
      return call();
    } catch (error) {
      if (error instanceof StateMachineLoadError || error instanceof CommandsError) contractError ??= error;
      throw error;
    }
  };
  const worlds = new Map<NodeId, ReplicaWorld>();
  const factories = new Map<NodeId, StateMachineFactory>();
  // The simulation is made below; the comparison asks for its service options only once slots apply.
  let simulationRef: Simulation | null = null;
  const comparison = new ReplicaComparison({ seed, nodes, factoryOf: (node) => factories.get(node)!, serviceOptions: () => {
    if (simulationRef === null) throw new Error('a slot applied before the simulation was made');
    return simulationRef.serviceOptions;
  } });
  const simulation = new Simulation({
    seed,
    nodes,
    // Module instances are imported for the founding nodes only: no spare nodes
    // join (membership changes still remove, re-add and replace among them).
    spareNodes: 0,
    snapshotEvery,
    faults: faultOverrides(options.faults ?? faultGroups),
    service: {
      identity: module.identity,
      factoryFor: (node, incarnation, context) => {
        let world = worlds.get(node);
        if (world === undefined) {
          world = new ReplicaWorld(seed, node, context.now, context.commandKey);
          worlds.set(node, world);
        }
        // This incarnation's own module instance; the restored copies of its state are made from it too.
        const own = instances.get(node)!;
        const factory = world.wrap(own[Math.min(incarnation, own.length) - 1].factory);
        const checked = () => guarded(factory);
        factories.set(node, checked);
        return checked;
      },
      nextOp: () => {
        const op = guarded(nextOp);
        if (op !== null) submitted.push(op);
        return op === null ? null : structuredClone(op);
      },
      onApplied: (node, entry, outcomes, service) => comparison.onApplied(node, entry, outcomes, service),
      afterEvent: (now) => comparison.afterEvent(now),
    },
  });
  simulationRef = simulation;
  try {
    const stats = simulation.run();
    return { seed, ok: true, divergence: null, submitted, stats: { ...stats, checkedSlots: comparison.checkedSlots, restoresChecked: comparison.restoresChecked, snapshotEvery } };
  } catch (error) {
    if (contractError !== null) throw contractError;
    const cause = error instanceof SimulationFailure ? error : null;
    if (cause === null) throw error;
    const divergence = error instanceof DivergenceFound ? error.divergence : (comparison.found ?? simulationDivergence(seed, cause));
    return { seed, ok: false, divergence, submitted, stats: null };
  }
}

function simulationDivergence(seed: number, failure: SimulationFailure): Divergence {
  const message = failure.message.replace(/\n {2}reproduce with SEED=.*$/s, '');
  const firstLine = message.split('\n')[0];
  return {
    kind: 'simulation',
    seed,
    slot: null,
    summary: firstLine.replace(/^at \d+ms: /, ''),
    command: null,
    replicas: [],
    detail: message,
    atMs: Number(/^at (\d+)ms/.exec(firstLine)?.[1] ?? 0),
  };
}

/** Commands from the list, in order, or from generate(random) with its own seeded stream (so a list of what it gave replays the run). */
function commandSource(list: readonly unknown[] | undefined, generator: ModuleInstance | undefined, seed: number, label: string): () => unknown {
  if (list !== undefined) {
    let next = 0;
    return () => (next < list.length ? list[next++] : null);
  }
  const random = new Prng(hash32(`${seed}/generate`));
  const generate = generator!.generate!;
  // A generate that reaches for Math.random or the clock instead of random() still replays: node 0's world, time standing still.
  const world = new ReplicaWorld(seed, 0, () => 0, () => undefined);
  let made = 0;
  return () => {
    if (made >= generatedCommandsMax) return null;
    made += 1;
    let command: unknown;
    try {
      command = world.run(() => generate(() => random.next()));
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new CommandsError(`${label}: generate(random) threw ${reason}`);
    }
    if (command === null || command === undefined) return null;
    if (encodeCanonicalJson(command) === undefined) throw new CommandsError(`${label}: generate(random) returned a command that is not JSON: ${String(command)}`);
    return command;
  };
}

/** The fault groups turned off, as overrides of the drawn profile. */
function faultOverrides(on: readonly FaultGroup[]): Partial<FaultProfile> {
  const overrides: Partial<FaultProfile> = {};
  if (!on.includes('crashes')) Object.assign(overrides, { crashesPerSecond: 0, diskWaitCrashRate: 0 });
  if (!on.includes('partitions')) overrides.partitionsPerSecond = 0;
  if (!on.includes('network')) Object.assign(overrides, { dropRate: 0, duplicateRate: 0, delayMsMax: 2, longHoldRate: 0 });
  if (!on.includes('disk')) Object.assign(overrides, { diskFailureRate: 0, bitFlipRate: 0, wipesPerSecond: 0, walLossesPerSecond: 0 });
  return overrides;
}
