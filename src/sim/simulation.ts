// Deterministic simulation of a whole cluster in one process (TigerBeetle's
// VOPR, FoundationDB's simulator): the real Paxos core AND the real driver
// (src/node/driver) on every node, the real replicated key-value service, a
// simulated network that delays (some messages for seconds, past a restart),
// drops, duplicates, reorders and partitions, simulated disks that keep only
// what was persisted and fail, tear and flip bits (disk.ts), crashes at every
// point the driver waits, wiped disks, pipelining clients that retry
// elsewhere, and a virtual clock. Every choice comes from one seed, so any
// failure reruns exactly with `SEED=<seed> npm run sim`.
import type { CoreLimits } from '../node/core/limits.js';
import { rebuildsOnStart, recoverState, PaxosNode, type InitialClusterState } from '../node/core/node.js';
import { Prng } from '../node/core/prng.js';
import { majority } from '../node/core/quorum.js';
import type { ChosenEntry, NodeId, PeerMessage, Slot, Value, WalRecord } from '../node/core/messages.js';
import { ballotToString } from '../node/core/messages.js';
import { NodeDriver, type DriverLimits, type DriverSabotage } from '../node/driver/driver.js';
import { silentLogger, type Logger } from '../node/driver/log.js';
import { createKeyValueStore } from '../node/statemachine/kv.js';
import type { CommandOutcome, ReplicatedServiceOptions } from '../node/statemachine/sessions.js';
import type { StateMachine, StateMachineFactory } from '../node/statemachine/types.js';
import { decodeSnapshot } from '../node/storage/snapshot-codec.js';
import type { ClientResponse, TransferMessage } from '../wire/protocol.js';
import { flipBitAndScan, SimDisk, SimStore, type CrashPoint } from './disk.js';
import { EventHeap } from './heap.js';

/**
 * A deliberately broken node, to show the simulation catches what it should:
 * an acceptor that forgets its promises and accepted values when it restarts;
 * a node whose disk was wiped that votes at once instead of rebuilding (an
 * operator restarting a replaced disk with --initial-cluster-state new);
 * session de-duplication that forgets (a session table of one client, so a
 * retry chosen in a second slot runs again; every replica agrees on it); or a
 * driver that sends what vouches for a record (an accepted, a promise) before
 * that record's fsync completes. `empty-restart-rebuilds` is the rule before
 * identity.json recorded how a data dir began: any restart on a dir with no
 * record rebuilds, also a node of a new cluster that crashed before its first
 * fsync and so never voted, which can leave too few voters to ever finish.
 */
export type Sabotage =
  | 'none'
  | 'acceptor-forgets-on-restart'
  | 'wiped-node-votes-at-once'
  | 'dedup-forgets-sessions'
  | 'driver-sends-before-fsync'
  | 'empty-restart-rebuilds';

export const sabotages: readonly Sabotage[] = [
  'none',
  'acceptor-forgets-on-restart',
  'wiped-node-votes-at-once',
  'dedup-forgets-sessions',
  'driver-sends-before-fsync',
  'empty-restart-rebuilds',
];

export interface SimOptions {
  seed: number;
  /** 3, 5 or 7; by default drawn from the seed, at least half of the runs on 5 or 7. */
  nodes?: number;
  /** Virtual milliseconds of faults, then of calm in which everything must converge. */
  faultMs?: number;
  settleMs?: number;
  clients?: number;
  /** Commands one client keeps in flight at once (pipelined seqs of one session). Default 1. */
  pipelineDepth?: number;
  sabotage?: Sabotage;
  /** Applied slots between snapshots (0: never compact); by default drawn from the seed. */
  snapshotEvery?: number;
  /** Replaced disks per second during the fault phase; by default drawn from the seed (never on 5 or 7 nodes). */
  wipesPerSecond?: number;
  /**
   * How every node first starts (on its empty disk): `new` votes at once,
   * `existing` rebuilds first. A restart is always `existing`. Default: drawn from the seed.
   */
  initialClusterState?: InitialClusterState;
  /** Overrides of the core's limits for every node (say, tiny byte bounds). */
  limits?: Partial<CoreLimits>;
  /** Sessions the replicated service keeps (evicting the least recent beyond it); default its own. */
  clientSessionsMax?: number;
  /** Disk faults: chance per operation of EIO/ENOSPC, and of a bit flip at a restart. Default drawn from the seed. */
  diskFailureRate?: number;
  bitFlipRate?: number;
  /** A logger for every node (SIM_TRACE); silent by default. */
  log?: (line: string) => void;
}

export interface SimStats {
  seed: number;
  nodes: number;
  acknowledged: number;
  crashes: number;
  crashPoints: Partial<Record<CrashPoint, number>>;
  diskFailures: number;
  bitFlips: number;
  wipes: number;
  snapshots: number;
  snapshotsInstalled: number;
  partitions: number;
  messagesSent: number;
  messagesDropped: number;
  messagesHeldLong: number;
  /** Messages delivered to a later incarnation of their receiver than the one running when they were sent. */
  messagesToLaterIncarnation: number;
  leaderChanges: number;
  lastApplied: Slot;
  virtualMs: number;
}

export class SimulationFailure extends Error {
  constructor(
    readonly seed: number,
    message: string,
  ) {
    super(`${message}\n  reproduce with SEED=${seed} npm run sim`);
    this.name = 'SimulationFailure';
  }
}

const tickMs = 10;
/** A client gives up on an attempt after this long and retries elsewhere, same seq. */
const clientAttemptMs = 1_000;

interface FaultProfile {
  dropRate: number;
  duplicateRate: number;
  delayMsMax: number;
  /** Chance that a message is held for seconds (longer than a restart) before it is delivered. */
  longHoldRate: number;
  crashesPerSecond: number;
  partitionsPerSecond: number;
  wipesPerSecond: number;
  diskFailureRate: number;
  bitFlipRate: number;
  diskLatencyMsMax: number;
  /** Chance that a node crashes while its disk is busy with one operation (at that point, exactly). */
  diskWaitCrashRate: number;
  /** Messages a node sends itself cross the simulated network too (delayed, reordered, even lost) instead of being stepped in at once. */
  loopbackOverNetwork: boolean;
}

interface SimEvent {
  at: number;
  order: number;
  run: () => void;
}

interface SimNode {
  id: NodeId;
  store: SimStore;
  incarnation: number;
  core: PaxosNode | null;
  driver: NodeDriver | null;
  disk: SimDisk | null;
  /** Wiped and not yet rebuilt: no second disk may be lost meanwhile (that is beyond f failures). */
  lostState: boolean;
  /** The last slot this incarnation's state machine reflects (applied, or restored from a snapshot). */
  appliedUpTo: Slot;
  /** (client, seq) of the commands its state machine ran while applying the current slot (see WatchedStore). */
  executed: string[];
  restartScheduled: boolean;
}

/** One command of a client, from its first attempt until the client is told its outcome. */
interface PendingCommand {
  seq: number;
  op: unknown[];
  key: string;
  attempt: number;
  target: NodeId;
}

interface SimClient {
  index: number;
  id: string;
  nextSeq: number;
  pending: Map<number, PendingCommand>;
}

/**
 * The key-value store, telling the simulation which client command it runs and
 * what it came to: the at-most-once check, and what clients are told checked
 * against what replicas computed. A command is known by its op, the object its
 * client made for that (client, seq) and reuses for every retry.
 */
class WatchedStore implements StateMachine {
  private readonly store = createKeyValueStore();

  constructor(
    private readonly commandKeys: WeakMap<object, string>,
    private readonly onExecute: (key: string, outcome: string) => void,
  ) {}

  apply(op: unknown): unknown {
    const key = typeof op === 'object' && op !== null ? this.commandKeys.get(op) : undefined;
    try {
      const result = this.store.apply(op);
      if (key !== undefined) this.onExecute(key, `ok:${JSON.stringify(result ?? null)}`);
      return result;
    } catch (error) {
      if (key !== undefined) this.onExecute(key, `refused:${(error as Error).message}`);
      throw error;
    }
  }

  snapshot(): Uint8Array {
    return this.store.snapshot();
  }

  restore(bytes: Uint8Array): void {
    this.store.restore(bytes);
  }
}

/** Keys a value by its commands' identities: equal keys mean the same value. */
function valueKey(value: Value): string {
  return value.commands.map((c) => `${c.client}#${c.seq}:${JSON.stringify(c.op)}`).join('|');
}

function isTransferMessage(message: PeerMessage | TransferMessage): message is TransferMessage {
  return message.type === 'snapshot_request' || message.type === 'snapshot_chunk' || message.type === 'snapshot_unavailable';
}

export class Simulation {
  private readonly prng: Prng;
  private readonly nodeCount: number;
  private readonly faultMs: number;
  private readonly settleMs: number;
  private readonly sabotage: Sabotage;
  private readonly faults: FaultProfile;
  private readonly events = new EventHeap<SimEvent>();
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly clients: SimClient[] = [];
  private readonly pipelineDepth: number;
  private order = 0;
  private now = 0;
  private calm = false;
  /** Pairs of nodes that cannot talk, as "a>b". */
  private readonly cut = new Set<string>();
  /** The one value ever learned chosen per slot, and the one value applied per slot, across all nodes. */
  private readonly chosenTruth = new Map<Slot, string>();
  private readonly appliedTruth = new Map<Slot, string>();
  /** Durable accepts per (slot, ballot): a majority of them means chosen, whatever the learners think. */
  private readonly acceptVotes = new Map<string, { value: string; nodes: Set<NodeId> }>();
  private readonly acceptorChosen = new Map<Slot, string>();
  /** Commands whose result a client was told: each must end up applied on every replica. */
  private readonly acknowledged: { key: string; slot: Slot }[] = [];
  private readonly stats: SimStats;
  private readonly snapshotEvery: number;
  private readonly limits: Partial<CoreLimits> | undefined;
  private readonly driverLimits: DriverLimits;
  private readonly initialClusterState: InitialClusterState;
  /** (client, seq) of every command a sim client made, by its op object (see WatchedStore). */
  private readonly commandKeys = new WeakMap<object, string>();
  /**
   * The slot at which each command was executed, and what it came to. Replicas
   * apply the same slots (checked), so a command run at any other slot, by any
   * replica, ran twice in that replica's history.
   */
  private readonly executedAt = new Map<string, Slot>();
  private readonly executedOutcome = new Map<string, string>();
  private readonly serviceOptions: ReplicatedServiceOptions;
  private readonly driverSabotage: DriverSabotage;
  private readonly log: ((line: string) => void) | undefined;

  constructor(options: SimOptions) {
    this.prng = new Prng(options.seed);
    this.nodeCount = options.nodes ?? this.prng.pick([3, 3, 5, 5, 7]);
    this.faultMs = options.faultMs ?? 8_000;
    this.settleMs = options.settleMs ?? 8_000;
    this.sabotage = options.sabotage ?? 'none';
    this.log = options.log;
    // Wiped disks on 5 or 7 nodes wait for membership changes: the probe-based rebuild is unsound there.
    const wipesDefault = this.nodeCount === 3 ? this.prng.pick([0, 0, 0.2, 0.5]) : 0;
    this.faults = {
      dropRate: this.prng.pick([0, 0.01, 0.05, 0.15]),
      duplicateRate: this.prng.pick([0, 0.02, 0.1]),
      delayMsMax: this.prng.pick([2, 10, 40, 150]),
      longHoldRate: this.prng.pick([0, 0.001, 0.01]),
      crashesPerSecond: this.prng.pick([0, 0.3, 1, 3]),
      partitionsPerSecond: this.prng.pick([0, 0.3, 1]),
      wipesPerSecond: options.wipesPerSecond ?? wipesDefault,
      diskFailureRate: options.diskFailureRate ?? this.prng.pick([0, 0, 0.001, 0.01]),
      bitFlipRate: options.bitFlipRate ?? this.prng.pick([0, 0, 0.1]),
      diskLatencyMsMax: this.prng.pick([1, 3, 10]),
      diskWaitCrashRate: this.prng.pick([0, 0, 0.002, 0.01]),
      loopbackOverNetwork: this.prng.chance(0.25),
    };
    this.snapshotEvery = options.snapshotEvery ?? this.prng.pick([0, 5, 20, 100]);
    this.limits = options.limits;
    this.initialClusterState = options.initialClusterState ?? this.prng.pick(['new', 'existing']);
    this.pipelineDepth = options.pipelineDepth ?? 1;
    const clientSessionsMax = this.sabotage === 'dedup-forgets-sessions' ? 1 : options.clientSessionsMax;
    this.serviceOptions = clientSessionsMax === undefined ? {} : { clientSessionsMax };
    this.driverSabotage = this.sabotage === 'driver-sends-before-fsync' ? { sendBeforeDurable: true } : {};
    this.driverLimits = {
      snapshotEvery: this.snapshotEvery,
      snapshotLogBytes: 0,
      clientsWaitingMax: 10_000,
      sessionCommandsInFlightMax: 64,
      commandBytesMax: 1024 * 1024,
      valueBytesMax: null,
      // Small chunks: a transfer takes several round trips, so crashes and partitions land mid-transfer.
      snapshotChunkBytes: this.prng.pick([64, 512, 64 * 1024]),
      snapshotTransferIdleMsMax: 500,
      snapshotBytesMax: 64 * 1024 * 1024,
      snapshotsHeldForTransfersMax: 2,
      compactionHoldSlotsMax: this.prng.pick([0, 50, 100_000]),
      snapshotRefetchMsMin: 200,
    };
    this.stats = {
      seed: options.seed,
      nodes: this.nodeCount,
      acknowledged: 0,
      crashes: 0,
      crashPoints: {},
      diskFailures: 0,
      bitFlips: 0,
      wipes: 0,
      snapshots: 0,
      snapshotsInstalled: 0,
      partitions: 0,
      messagesSent: 0,
      messagesDropped: 0,
      messagesHeldLong: 0,
      messagesToLaterIncarnation: 0,
      leaderChanges: 0,
      lastApplied: 0,
      virtualMs: 0,
    };
    for (let id = 1; id <= this.nodeCount; id += 1) this.addNode(id);
    const clientCount = options.clients ?? this.prng.int(1, 6);
    for (let index = 0; index < clientCount; index += 1) {
      const client: SimClient = { index, id: `c${index}`, nextSeq: 1, pending: new Map() };
      this.clients.push(client);
      this.schedule(this.prng.int(0, 50), () => this.fillPipeline(client));
    }
    this.scheduleNextFault();
  }

  /** Runs the faulty phase, then the calm one, checking invariants after every event. */
  run(): SimStats {
    try {
      this.runUntil(this.faultMs);
      this.beginCalm();
      this.runUntil(this.faultMs + this.settleMs);
      this.checkConverged();
    } catch (error) {
      if (error instanceof SimulationFailure) throw error;
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      throw new SimulationFailure(this.stats.seed, `exception at ${this.now}ms: ${message}`);
    }
    this.stats.virtualMs = this.now;
    return this.stats;
  }

  // ---- the event loop ----------------------------------------------------

  private runUntil(endMs: number): void {
    for (;;) {
      const event = this.events.pop();
      if (event === undefined) return;
      if (event.at > endMs) {
        this.events.push(event);
        this.now = endMs;
        return;
      }
      this.now = event.at;
      event.run();
    }
  }

  private schedule(delayMs: number, run: () => void): void {
    this.order += 1;
    this.events.push({ at: this.now + delayMs, order: this.order, run });
  }

  /** Runs `work` later, only if the same incarnation of `node` is still up. */
  private scheduleFor(node: SimNode, delayMs: number, work: (driver: NodeDriver) => void): void {
    const incarnation = node.incarnation;
    this.schedule(delayMs, () => {
      if (node.incarnation === incarnation && node.driver !== null) work(node.driver);
    });
  }

  private trace(line: string): void {
    this.log?.(`${this.now}ms ${line}`);
  }

  // ---- nodes -------------------------------------------------------------

  private addNode(id: NodeId): void {
    const node: SimNode = { id, store: new SimStore(), incarnation: 0, core: null, driver: null, disk: null, lostState: false, appliedUpTo: 0, executed: [], restartScheduled: false };
    this.nodes.set(id, node);
    this.start(node);
  }

  private start(node: SimNode): void {
    node.incarnation += 1;
    node.restartScheduled = false;
    node.executed = [];
    if (node.store.origin === null) {
      // identity.json is durable before the node first speaks. The first start is of a brand-new cluster;
      // a later one on an empty disk is a replaced disk, unless the sabotage restarts it as new.
      const firstStart = node.incarnation === 1;
      const wipedAsNew = this.sabotage === 'wiped-node-votes-at-once' && node.lostState;
      node.store.origin = firstStart ? this.initialClusterState : wipedAsNew ? 'new' : 'existing';
    }
    const store = node.store;
    const origin = this.sabotage === 'empty-restart-rebuilds' && node.incarnation > 1 ? 'existing' : (store.origin ?? 'existing');
    const records = this.sabotage === 'acceptor-forgets-on-restart' ? store.durable.filter((r) => r.type === 'chosen') : store.durable;
    const snapshot = store.snapshot === null ? null : { ...decodeSnapshot(store.snapshot.bytes, 'sim snapshot'), bytes: store.snapshot.bytes };
    const core = new PaxosNode({
      id: node.id,
      members: [...Array(this.nodeCount).keys()].map((i) => i + 1),
      seed: this.prng.int(1, 2 ** 31),
      limits: this.limits,
      recovered: recoverState(records, snapshot?.slot ?? 0),
      // As the runtime does (node start --initial-cluster-state, recorded in identity.json).
      rebuilding: rebuildsOnStart({ origin, emptyDataDir: records.length === 0 && snapshot === null }),
    });
    const disk = new SimDisk(store, {
      prng: this.prng,
      faults: { failureRate: () => (this.calm ? 0 : this.faults.diskFailureRate), latencyMsMax: this.faults.diskLatencyMsMax },
      schedule: (delayMs, work) => this.schedule(delayMs, work),
      onDurable: (durable) => this.persisted(node, durable),
      onWait: (_point, latencyMs) => {
        // Crashes aimed at the moments the driver waits for the disk, so every such point is reached.
        if (!this.calm && this.prng.chance(this.faults.diskWaitCrashRate)) this.scheduleFor(node, this.prng.int(0, latencyMs + 1), () => this.crash(node));
      },
    });
    node.core = core;
    node.disk = disk;
    node.appliedUpTo = snapshot?.slot ?? 0;
    const incarnation = node.incarnation;
    const driver = new NodeDriver({
      id: node.id,
      core,
      disk,
      network: { send: (messages) => this.send(node, messages) },
      clock: {
        nowMs: () => this.now,
        defer: (work) => this.schedule(0, () => node.incarnation === incarnation && node.driver !== null && work()),
      },
      log: this.log === undefined ? silentLogger : this.loggerFor(node),
      stateMachine: this.storeFor(node),
      stateMachineIdentity: 'sim:kv',
      serviceOptions: this.serviceOptions,
      snapshot,
      limits: this.driverLimits,
      addressOf: () => null,
      observer: {
        onApplied: (entry, outcomes) => this.applied(node, entry, outcomes),
        onCoreEvent: (event) => {
          this.trace(`node ${node.id}: ${JSON.stringify(event)}`);
          if (event.kind === 'leader') this.stats.leaderChanges += 1;
          if (event.kind === 'rebuilt') node.lostState = false;
        },
        onSnapshotTaken: () => {
          this.stats.snapshots += 1;
        },
        onSnapshotInstalled: (slot) => {
          this.stats.snapshotsInstalled += 1;
          node.appliedUpTo = slot;
        },
      },
      onFatal: (error) => this.fatal(node, error),
      loopback: this.faults.loopbackOverNetwork ? 'network' : 'step',
      sabotage: this.driverSabotage,
    });
    node.driver = driver;
    this.scheduleFor(node, this.prng.int(1, tickMs + 1), () => this.tick(node, incarnation));
    driver.start();
  }

  private tick(node: SimNode, incarnation: number): void {
    if (node.incarnation !== incarnation || node.driver === null) return;
    node.driver.tick();
    this.scheduleFor(node, tickMs, () => this.tick(node, incarnation));
  }

  private loggerFor(node: SimNode): Logger {
    const write = this.log ?? (() => undefined);
    const line = (level: string) => (message: string, fields?: Record<string, unknown>) => write(`${this.now}ms node ${node.id} ${level}: ${message} ${fields === undefined ? '' : JSON.stringify(fields)}`);
    const logger: Logger = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error'), child: () => logger };
    return logger;
  }

  /** Makes the replica's state machine: the key-value store, reporting what it runs for this node. */
  private storeFor(node: SimNode): StateMachineFactory {
    return () =>
      new WatchedStore(this.commandKeys, (key, outcome) => {
        node.executed.push(key);
        if (!this.executedOutcome.has(key)) this.executedOutcome.set(key, outcome);
      });
  }

  private crash(node: SimNode, why = 'crash'): void {
    if (node.driver === null) return;
    const point = node.disk?.crashPoint() ?? 'idle';
    this.trace(`node ${node.id}: ${why} (${point})`);
    this.stats.crashPoints[point] = (this.stats.crashPoints[point] ?? 0) + 1;
    node.disk?.crash();
    node.driver = null;
    node.core = null;
    node.disk = null;
    this.stats.crashes += 1;
    this.scheduleRestart(node);
  }

  private scheduleRestart(node: SimNode): void {
    if (node.restartScheduled) return;
    node.restartScheduled = true;
    this.schedule(this.calm ? 1 : this.prng.int(50, 2_000), () => this.restart(node));
  }

  /** A failed write or fsync stopped the node; like a process that exits, it comes back from what is on disk. */
  private fatal(node: SimNode, error: Error): void {
    this.stats.diskFailures += 1;
    // The driver has stopped acting; the crash itself happens in its own event, after this call returns.
    this.schedule(0, () => this.crash(node, `stopped after ${error.message}`));
  }

  private restart(node: SimNode): void {
    if (node.driver !== null) return;
    if (!this.calm && this.prng.chance(this.faults.bitFlipRate) && this.flipBit(node)) return;
    this.start(node);
  }

  /** A bit flipped in a durable record: the node must refuse to start, and its disk is then replaced. */
  private flipBit(node: SimNode): boolean {
    if (this.anotherDiskLost(node)) return false;
    const scan = flipBitAndScan(node.store, this.prng);
    if (scan === null) return false;
    if (!scan.refused) this.fail(`node ${node.id} would start on a log with a flipped bit: ${scan.why}`);
    this.stats.bitFlips += 1;
    this.trace(`node ${node.id}: refuses to start on a flipped bit (${scan.why}); its disk is replaced`);
    this.replaceDisk(node);
    this.start(node);
    return true;
  }

  /** A replaced disk: the node crashes and comes back with an empty data dir. */
  private wipe(node: SimNode): void {
    if (this.anotherDiskLost(node) || node.driver === null) return;
    this.crash(node, 'wipe');
    this.replaceDisk(node);
  }

  private replaceDisk(node: SimNode): void {
    node.store.wipe();
    node.lostState = true;
    this.stats.wipes += 1;
  }

  /** A node that is rebuilding does not vote: losing a second disk meanwhile is beyond f failures. */
  private anotherDiskLost(node: SimNode): boolean {
    return [...this.nodes.values()].some((other) => other !== node && this.mustRebuild(other));
  }

  /** Rebuilding now, or will be when it restarts (its disk holds nothing). */
  private mustRebuild(node: SimNode): boolean {
    if (node.lostState) return true;
    if (node.core === null) return (node.store.empty && node.store.origin !== 'new') || recoverState(node.store.durable).rebuilding;
    return node.core.status().rebuilding;
  }

  // ---- what the nodes do, checked ----------------------------------------

  private fail(message: string): never {
    throw new SimulationFailure(this.stats.seed, `at ${this.now}ms: ${message}\n${this.describeNodes()}`);
  }

  private describeNodes(): string {
    return [...this.nodes.values()]
      .map((node) => {
        if (node.core === null) return `  node ${node.id}: down`;
        const s = node.core.status();
        return `  node ${node.id}: ${s.role} leader=${s.leader} ballot=${ballotToString(s.ballot)} promised=${ballotToString(s.promised)} commit=${s.commitIndex} known=${s.knownCommitIndex} applied=${node.appliedUpTo} compacted=${s.compactedTo} rebuilding=${s.rebuilding}`;
      })
      .join('\n');
  }

  /** Records reached the disk for good: count votes, and check what learners wrote as chosen. */
  private persisted(node: SimNode, records: WalRecord[]): void {
    for (const record of records) {
      if (record.type === 'chosen') this.checkChosen(node.id, record.slot, record.value);
      if (record.type === 'accept') this.countAccept(node.id, record);
    }
  }

  /** A chosen value never changes: every learner learns the same value for a slot. */
  private checkChosen(id: NodeId, slot: Slot, value: Value): void {
    const key = valueKey(value);
    const known = this.chosenTruth.get(slot);
    if (known === undefined) this.chosenTruth.set(slot, key);
    else if (known !== key) this.fail(`node ${id} learned slot ${slot} chosen as [${key}] but it was chosen as [${known}]`);
    const byAcceptors = this.acceptorChosen.get(slot);
    if (byAcceptors !== undefined && byAcceptors !== key) {
      this.fail(`node ${id} learned slot ${slot} as [${key}] but a majority accepted [${byAcceptors}]`);
    }
  }

  /** One chosen value per slot, judged from the acceptors' durable accepts alone. */
  private countAccept(id: NodeId, record: Extract<WalRecord, { type: 'accept' }>): void {
    const key = `${record.slot}@${ballotToString(record.ballot)}`;
    const value = valueKey(record.value);
    let vote = this.acceptVotes.get(key);
    if (vote === undefined) {
      vote = { value, nodes: new Set() };
      this.acceptVotes.set(key, vote);
    }
    if (vote.value !== value) this.fail(`two values accepted at slot ${record.slot} ballot ${ballotToString(record.ballot)}`);
    vote.nodes.add(id);
    if (vote.nodes.size < majority(this.nodeCount)) return;
    const chosen = this.acceptorChosen.get(record.slot);
    if (chosen === undefined) this.acceptorChosen.set(record.slot, value);
    else if (chosen !== value) this.fail(`slot ${record.slot} chosen twice: [${chosen}] and then [${value}] at ballot ${ballotToString(record.ballot)}`);
  }

  /** No two replicas ever apply different values at the same slot; each applies in order; each command runs at most once. */
  private applied(node: SimNode, entry: ChosenEntry, outcomes: CommandOutcome[]): void {
    const { slot, value } = entry;
    if (slot !== node.appliedUpTo + 1) this.fail(`node ${node.id} applied slot ${slot} after ${node.appliedUpTo}`);
    const key = valueKey(value);
    node.appliedUpTo = slot;
    const known = this.appliedTruth.get(slot);
    if (known === undefined) this.appliedTruth.set(slot, key);
    else if (known !== key) this.fail(`node ${node.id} applied [${key}] at slot ${slot}; another replica applied [${known}]`);
    this.stats.lastApplied = Math.max(this.stats.lastApplied, slot);
    if (outcomes.length !== value.commands.length) this.fail(`node ${node.id} gave ${outcomes.length} outcomes for the ${value.commands.length} commands of slot ${slot}`);
    this.checkAtMostOnce(node, slot);
  }

  /** A retried command chosen in a second slot (or twice in one) is answered from its session, never run again. */
  private checkAtMostOnce(node: SimNode, slot: Slot): void {
    const executed = node.executed.splice(0);
    for (const [index, key] of executed.entries()) {
      const first = this.executedAt.get(key) ?? slot;
      if (first !== slot || executed.indexOf(key) !== index) {
        this.fail(`node ${node.id} executed command ${key} twice (at slots ${first} and ${slot}): a command must run at most once per replica`);
      }
      this.executedAt.set(key, slot);
    }
  }

  // ---- the network -------------------------------------------------------

  private send(from: SimNode, messages: (PeerMessage | TransferMessage)[]): void {
    for (const message of messages) {
      this.stats.messagesSent += 1;
      if (message.from !== from.id) this.fail(`node ${from.id} sent a message from node ${message.from}`);
      if (this.cut.has(`${message.from}>${message.to}`) || (!this.calm && this.prng.chance(this.faults.dropRate))) {
        this.stats.messagesDropped += 1;
        continue;
      }
      this.deliverLater(message);
      if (!this.calm && this.prng.chance(this.faults.duplicateRate)) this.deliverLater(message);
    }
  }

  private deliverLater(message: PeerMessage | TransferMessage): void {
    const receiver = this.nodes.get(message.to);
    if (receiver === undefined) this.fail(`a message to node ${message.to}, which does not exist`);
    const sentTo = receiver.incarnation;
    const held = !this.calm && this.prng.chance(this.faults.longHoldRate);
    if (held) this.stats.messagesHeldLong += 1;
    const delay = held ? this.prng.int(1_000, 5_000) : this.delay();
    this.schedule(delay, () => {
      const driver = receiver.driver;
      if (driver === null) return;
      if (receiver.incarnation !== sentTo) this.stats.messagesToLaterIncarnation += 1;
      if (isTransferMessage(message)) driver.onTransferMessage(message);
      else driver.onPeerMessage(message);
    });
  }

  private delay(): number {
    const max = this.calm ? 5 : this.faults.delayMsMax;
    return this.prng.int(1, max + 1);
  }

  // ---- faults ------------------------------------------------------------

  private scheduleNextFault(): void {
    const perSecond = this.faults.crashesPerSecond + this.faults.partitionsPerSecond + this.faults.wipesPerSecond;
    if (perSecond === 0) return;
    this.schedule(this.prng.int(1, Math.ceil(2_000 / perSecond)), () => this.onFault());
  }

  private onFault(): void {
    if (this.calm) return;
    const total = this.faults.crashesPerSecond + this.faults.partitionsPerSecond + this.faults.wipesPerSecond;
    const roll = this.prng.next() * total;
    if (roll < this.faults.crashesPerSecond) this.crash(this.prng.pick([...this.nodes.values()]));
    else if (roll < this.faults.crashesPerSecond + this.faults.wipesPerSecond) this.wipe(this.prng.pick([...this.nodes.values()]));
    else this.partition();
    this.scheduleNextFault();
  }

  /** Cuts a random group of nodes off from the rest (one way or both), healed after a while. */
  private partition(): void {
    const ids = [...this.nodes.keys()];
    const isolated = ids.filter(() => this.prng.chance(0.4));
    const oneWay = this.prng.chance(0.2);
    for (const a of isolated) {
      for (const b of ids) {
        if (isolated.includes(b)) continue;
        this.cut.add(`${a}>${b}`);
        if (!oneWay) this.cut.add(`${b}>${a}`);
      }
    }
    this.stats.partitions += 1;
    this.schedule(this.prng.int(100, 3_000), () => this.cut.clear());
  }

  private beginCalm(): void {
    this.calm = true;
    this.cut.clear();
    for (const node of this.nodes.values()) if (node.driver === null && !node.restartScheduled) this.start(node);
  }

  // ---- clients -----------------------------------------------------------

  /** Keeps up to pipelineDepth commands of the client in flight (no new ones once the faults stop). */
  private fillPipeline(client: SimClient): void {
    while (!this.calm && client.pending.size < this.pipelineDepth) {
      const seq = client.nextSeq;
      client.nextSeq += 1;
      const op = this.randomOp();
      const key = `${client.id}#${seq}`;
      this.commandKeys.set(op, key);
      const command: PendingCommand = { seq, op, key, attempt: 0, target: this.prng.int(1, this.nodeCount + 1) };
      client.pending.set(seq, command);
      this.attempt(client, command, command.target);
    }
  }

  private randomOp(): unknown[] {
    const key = this.prng.pick(['x', 'y', 'z']);
    const roll = this.prng.int(0, 4);
    if (roll === 0) return ['get', key];
    if (roll === 1) return ['incr', key];
    if (roll === 2) return ['cas', key, String(this.prng.int(0, 5)), String(this.prng.int(0, 5))];
    return ['set', key, String(this.prng.int(0, 5))];
  }

  /**
   * One attempt of a command at a node: the request and its answer each cross
   * the network (and may be lost); after clientAttemptMs without an answer the
   * client tries another node with the same seq.
   */
  private attempt(client: SimClient, command: PendingCommand, target: NodeId): void {
    command.attempt += 1;
    command.target = target;
    const attempt = command.attempt;
    const node = this.nodes.get(target);
    const lost = () => !this.calm && this.prng.chance(this.faults.dropRate);
    if (node !== undefined && !lost()) {
      this.schedule(this.delay(), () => {
        node.driver?.submit(
          { type: 'submit', id: attempt, client: client.id, seq: command.seq, op: command.op },
          { reply: (response) => (lost() ? undefined : this.schedule(this.delay(), () => this.answered(client, command, attempt, response))) },
        );
      });
    }
    this.schedule(clientAttemptMs, () => {
      if (client.pending.get(command.seq) === command && command.attempt === attempt) this.retry(client, command, null, 0);
    });
  }

  private retry(client: SimClient, command: PendingCommand, hint: NodeId | null, delayMs: number): void {
    const attempt = command.attempt;
    this.schedule(delayMs, () => {
      if (client.pending.get(command.seq) !== command || command.attempt !== attempt) return;
      this.attempt(client, command, hint ?? this.prng.int(1, this.nodeCount + 1));
    });
  }

  /** What a node answered to one attempt; answers to earlier attempts are ignored, as a real client's request ids do. */
  private answered(client: SimClient, command: PendingCommand, attempt: number, response: ClientResponse): void {
    if (client.pending.get(command.seq) !== command || command.attempt !== attempt) return;
    if (response.type === 'redirect') return this.retry(client, command, response.leader, response.leader === null ? 50 : 1);
    if (response.type === 'error') return this.retry(client, command, null, this.prng.int(1, 50));
    if (response.type !== 'result' && response.type !== 'refused') this.fail(`client ${client.id} got a ${response.type} to a submit`);
    const told = response.type === 'result' ? `ok:${JSON.stringify(response.result ?? null)}` : `refused:${response.error}`;
    const executed = this.executedOutcome.get(command.key);
    if (executed === undefined) this.fail(`client ${client.id} was told ${told} for ${command.key} (slot ${response.slot}), which no replica executed`);
    if (executed !== told) this.fail(`client ${client.id} was told ${told} for ${command.key} (slot ${response.slot}), but the replicas computed ${executed}`);
    this.acknowledged.push({ key: command.key, slot: response.slot });
    this.stats.acknowledged += 1;
    client.pending.delete(command.seq);
    this.schedule(this.prng.int(0, 20), () => this.fillPipeline(client));
  }

  // ---- the end -----------------------------------------------------------

  /**
   * Once the faults stop: every replica applied the same slots (itself, or through
   * a snapshot of a replica that did), every acknowledged command is among them,
   * and the replicas hold identical states.
   */
  private checkConverged(): void {
    const nodes = [...this.nodes.values()];
    const applied = nodes.map((n) => n.appliedUpTo);
    const target = Math.max(...applied);
    for (const node of nodes) {
      if (node.driver === null) this.fail(`after ${this.settleMs}ms of calm node ${node.id} is down`);
      if (node.appliedUpTo !== target) {
        this.fail(`after ${this.settleMs}ms of calm node ${node.id} applied ${node.appliedUpTo} slots, others ${target} (${JSON.stringify(applied)})`);
      }
      if (node.core?.status().rebuilding) this.fail(`after ${this.settleMs}ms of calm node ${node.id} still rebuilds`);
    }
    for (const client of this.clients) {
      for (const command of client.pending.values()) this.fail(`after ${this.settleMs}ms of calm client ${client.id} still waits for ${command.key}`);
    }
    for (const { key, slot } of this.acknowledged) {
      const appliedAt = this.appliedTruth.get(slot);
      if (slot > target || appliedAt === undefined || !appliedAt.split('|').some((c) => c.startsWith(`${key}:`))) {
        this.fail(`acknowledged command ${key} (slot ${slot}) is not in the applied log (applied up to ${target})`);
      }
    }
    const digests = new Set(nodes.map((n) => n.driver?.replicatedService.stateDigest()));
    if (digests.size !== 1) this.fail('replicas applied the same slots but hold different states');
  }
}

export function runSimulation(options: SimOptions): SimStats {
  return new Simulation(options).run();
}
