// Deterministic simulation of a whole cluster in one process (TigerBeetle's
// VOPR, FoundationDB's simulator): the real Paxos core AND the real driver
// (src/node/driver) on every node, the real replicated key-value service, a
// simulated network that delays (some messages for seconds, past a restart),
// drops, duplicates, reorders and partitions, simulated disks that keep only
// what was persisted and fail, tear and flip bits (disk.ts), crashes at every
// point the driver waits, wiped disks, pipelining clients that retry
// elsewhere, and a virtual clock. Every choice comes from one seed, so any
// failure reruns exactly with `SEED=<seed> npm run sim`. Clients read as well
// as write (linearizable reads without the log, and reads through it); every
// read and write of the registers is recorded on the virtual clock and the
// history is checked for linearizability per key by the project's own
// checker (src/check) at the end of the run.
import { checkHistory } from '../check/check.js';
import type { Operation } from '../check/history.js';
import type { CoreLimits } from '../node/core/limits.js';
import { recoverState, PaxosNode, type BootstrapMode, type CoreSabotage } from '../node/core/node.js';
import {
  advanceThrough,
  configurationAt,
  foundingState,
  isMembershipCommand,
  isVoter,
  type Configuration,
  type Incarnation,
  type Member,
  type MembershipChange,
  type MembershipState,
} from '../node/core/membership.js';
import { Prng } from '../node/core/prng.js';
import { majority } from '../node/core/quorum.js';
import type { ChosenEntry, NodeId, PeerMessage, Slot, Value, WalRecord } from '../node/core/messages.js';
import { ballotToString } from '../node/core/messages.js';
import { NodeDriver, type DriverLimits, type DriverSabotage } from '../node/driver/driver.js';
import { silentLogger, type Logger } from '../node/driver/log.js';
import { resolveNodeConfig } from '../node/config.js';
import { createKeyValueStore } from '../node/statemachine/kv.js';
import { registrationSeq, ReplicatedService, sessionWindow, type CommandOutcome, type Registration, type ReplicatedServiceOptions } from '../node/statemachine/sessions.js';
import type { StateMachine, StateMachineFactory } from '../node/statemachine/types.js';
import { decodeSnapshot, encodeSnapshot } from '../node/storage/snapshot-codec.js';
import type { ClientResponse, TransferMessage } from '../wire/protocol.js';
import { incarnationAtStart } from '../node/storage/log-mark.js';
import { flipBitAndScan, SimDisk, SimStore, type CrashPoint } from './disk.js';
import { EventHeap } from './heap.js';

/**
 * A deliberately broken node, to show the simulation catches what it should:
 * an acceptor that forgets its promises and accepted values when it restarts;
 * a node whose disk was wiped that votes at once under its old incarnation (an
 * operator copying identity.json onto the new disk: the probe-based rebuild's
 * flaw); session de-duplication that forgets (a session table of one client,
 * so a retry chosen in a second slot runs again; every replica agrees on it);
 * a driver that sends what vouches for a record (an accepted, a promise)
 * before that record's fsync completes; `empty-restart-new-incarnation`: a
 * restart on a dir with no record takes a new incarnation (as if identity.json
 * were not durable before the node speaks), so founders that crashed before
 * their first fsync come back as strangers and too few voters are left (the
 * deadlock of issue 11); a leader that counts a vote whatever incarnation cast
 * it (`counts-any-incarnation`); one that takes a membership change into
 * effect when it proposes it, before it is chosen (`config-from-unchosen`).
 * `leader-reads-without-confirm`: a leader answers linearizable reads without
 * the heartbeat round that confirms it still leads, so a deposed leader that
 * has not heard of its successor (partitioned, or its messages held) answers
 * from its old state; only the linearizability check of the history sees it.
 * `leader-reads-at-commit-index`: a read is stamped with the leader's commit
 * index alone, so a new leader answers before the slots it re-proposed on
 * taking over are chosen again, missing a write its predecessor acknowledged.
 * `keeps-incarnation-after-log-loss`: a node whose wal/ was lost (identity.json
 * kept) votes on under its old incarnation, as if start-up did not check the
 * identity's log mark (storage/log-mark.ts): its forgotten promises and accepts
 * let a later ballot choose another value for a slot already chosen.
 */
export type Sabotage =
  | 'none'
  | 'acceptor-forgets-on-restart'
  | 'wiped-node-votes-at-once'
  | 'service-forgets-executed-seqs'
  | 'driver-sends-before-fsync'
  | 'empty-restart-new-incarnation'
  | 'leader-reads-without-confirm'
  | 'leader-reads-at-commit-index'
  | 'keeps-incarnation-after-log-loss'
  | CoreSabotage;

export const sabotages: readonly Sabotage[] = [
  'none',
  'acceptor-forgets-on-restart',
  'wiped-node-votes-at-once',
  'service-forgets-executed-seqs',
  'driver-sends-before-fsync',
  'empty-restart-new-incarnation',
  'counts-any-incarnation',
  'config-from-unchosen',
  'leader-reads-without-confirm',
  'leader-reads-at-commit-index',
  'keeps-incarnation-after-log-loss',
  'transfer-at-leaders-ballot',
];

export interface SimOptions {
  seed: number;
  /** 3, 5 or 7; by default drawn from the seed, at least half of the runs on 5 or 7. */
  nodes?: number;
  /** Virtual milliseconds of faults, then of calm in which everything must converge. */
  faultMs?: number;
  settleMs?: number;
  clients?: number;
  /** Commands one client keeps in flight at once (pipelined seqs of one session); by default drawn from the seed, 1 to 8. */
  pipelineDepth?: number;
  sabotage?: Sabotage;
  /** Applied slots between snapshots (0: never compact); by default drawn from the seed. */
  snapshotEvery?: number;
  /** Replaced disks per second during the fault phase (up to f at once); by default drawn from the seed. */
  wipesPerSecond?: number;
  /** Lost write-ahead logs (wal/ gone, identity.json kept) per second during the fault phase; by default drawn from the seed. */
  walLossesPerSecond?: number;
  /**
   * How the fresh nodes found their cluster: `unanimous` (node start's
   * default) or `majority` (--initial-cluster-state new). Default: drawn from the seed.
   */
  bootstrap?: Exclude<BootstrapMode, 'join'>;
  /** The cluster's membership window W; by default drawn from the seed. */
  window?: number;
  /** Membership changes (remove a voter, add a node as a learner, promote a learner) per second; by default drawn from the seed. */
  changesPerSecond?: number;
  /** Leadership transfers (to a random voter, a learner now and then, or to the most caught-up one) per second; by default drawn from the seed. */
  transfersPerSecond?: number;
  /**
   * Nodes beyond the founding `nodes` (ids nodes+1 ..), started on empty disks to join:
   * membership changes add and promote them (3 -> 5 -> 7). By default drawn from the seed.
   */
  spareNodes?: number;
  /** Overrides of the core's limits for every node (say, tiny byte bounds). */
  limits?: Partial<CoreLimits>;
  /**
   * Sessions the replicated service keeps (a registration evicts the least
   * recent beyond it); by default drawn from the seed: mostly the service's
   * own default, in some runs 2 to 4, so that sessions are evicted under retries.
   */
  clientSessionsMax?: number;
  /** Disk faults: chance per operation of EIO/ENOSPC, and of a bit flip at a restart. Default drawn from the seed. */
  diskFailureRate?: number;
  bitFlipRate?: number;
  /** A logger for every node (SIM_TRACE); silent by default. */
  log?: (line: string) => void;
  /** Another replicated service than the key-value store (`paxos sim --state-machine`; see user-sim.ts). */
  service?: SimService;
  /** Faults to turn off (or tune) after they were drawn from the seed, so the rest of the run stays as drawn. */
  faults?: Partial<FaultProfile>;
  /**
   * The founding nodes start on data dirs seeded by `paxos snapshot restore`
   * from one backup at this slot (an empty service's snapshot there, no
   * membership): they found the cluster from the next slot. 0 (the default): empty dirs.
   */
  restoredSlot?: number;
}

/**
 * A service the simulation replicates instead of the key-value store, and what
 * it is told: which machine factory each incarnation of a node runs, which
 * commands clients submit, and every slot applied (to compare replicas).
 * A hook that finds a divergence throws a SimulationFailure (afterEvent runs
 * after every event, outside the driver's own try blocks).
 */
export interface SimService {
  /** Names the machine in the handshake, as a node's --state-machine does. */
  identity: string;
  /**
   * The factory of one incarnation of node `node`. `now` is the virtual clock;
   * `commandKey` names the (client, seq) a client made an op for.
   */
  factoryFor(node: NodeId, incarnation: number, context: { now: () => number; commandKey: (op: unknown) => string | undefined }): StateMachineFactory;
  /** The op a client submits next; null when there are no more (the client stops). */
  nextOp(): unknown;
  /** A slot `node` applied, with its outcomes and the service right after it. */
  onApplied?(node: NodeId, entry: ChosenEntry, outcomes: CommandOutcome[], service: ReplicatedService): void;
  afterEvent?(now: number): void;
}

export interface SimStats {
  seed: number;
  nodes: number;
  acknowledged: number;
  /** Linearizable reads answered without the log (also counted in acknowledged). */
  readsAnswered: number;
  /** Operations of the history checked for linearizability, and keys the checker could not decide (it ran out of states). */
  historyOperations: number;
  historyKeysUndecided: number;
  /** Sessions registered (a retried registration counts each time it was chosen and answered). */
  registrations: number;
  /** Commands told session_expired: their session was evicted; their outcome is unknown. */
  expired: number;
  pipelineDepth: number;
  clientSessionsMax: number | null;
  crashes: number;
  crashPoints: Partial<Record<CrashPoint, number>>;
  diskFailures: number;
  bitFlips: number;
  wipes: number;
  /** Write-ahead logs lost with identity.json kept, and restarts that then took a new incarnation (log-mark.ts). */
  walLosses: number;
  newIncarnationsAfterLogLoss: number;
  /** Wiped members whose new incarnation a chosen change named as a voter (auto-replace). */
  replaced: number;
  /** Membership changes chosen (auto-replaces included), and of them: removals, learners added, learners promoted. */
  membershipChanges: number;
  removals: number;
  learnersAdded: number;
  promotions: number;
  /** Removals of the node that led when the change was offered. */
  leaderRemovals: number;
  /** Leadership transfers offered to a leader, and how they ended: the target led, or they failed (refused, timed out, preempted). */
  transfers: number;
  transfersDone: number;
  transfersFailed: number;
  snapshots: number;
  /** Snapshots the driver restored into a fresh machine to compare (its self-check). */
  snapshotSelfChecks: number;
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

export interface FaultProfile {
  dropRate: number;
  duplicateRate: number;
  delayMsMax: number;
  /** Chance that a message is held for seconds (longer than a restart) before it is delivered. */
  longHoldRate: number;
  crashesPerSecond: number;
  partitionsPerSecond: number;
  wipesPerSecond: number;
  /** wal/ lost, identity.json kept (a node crashes and comes back without its log). */
  walLossesPerSecond: number;
  changesPerSecond: number;
  transfersPerSecond: number;
  diskFailureRate: number;
  bitFlipRate: number;
  diskLatencyMsMax: number;
  /** Chance that a node crashes while its disk is busy with one operation (at that point, exactly). */
  diskWaitCrashRate: number;
  /** Messages a node sends itself cross the simulated network too (delayed, reordered, even lost) instead of being stepped in at once. */
  loopbackOverNetwork: boolean;
}

/** Durable accepts of one value at one (slot, ballot), by the incarnations that made them. */
interface AcceptVote {
  slot: Slot;
  value: string;
  voters: Map<string, { id: NodeId; incarnation: Incarnation | null }>;
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
  /** Wiped, and its new incarnation not yet a voter: more than f such nodes at once is beyond what the cluster survives. */
  lostState: boolean;
  /** The last slot this incarnation's state machine reflects (applied, or restored from a snapshot). */
  appliedUpTo: Slot;
  /** (client, seq) of the commands its state machine ran while applying the current slot (see WatchedStore). */
  executed: string[];
  restartScheduled: boolean;
}

/**
 * One operation of a client, from its first attempt until the client is told
 * its outcome: a command through the log (`seq` its session number; a
 * registration is seq 0 with op null), or a linearizable read (`read`: no
 * session number, `seq` 0).
 */
interface PendingCommand {
  /** The session it was sent in; for a registration, the client's nonce. */
  session: string;
  seq: number;
  read: boolean;
  op: unknown;
  key: string;
  attempt: number;
  target: NodeId;
  /** When the client first sent it: the invocation in the history. */
  invokedAt: number;
}

interface SimClient {
  index: number;
  id: string;
  /** The registered session, or null before the first registration and after session_expired. */
  session: string | null;
  /** The registration in flight, if any. */
  registering: PendingCommand | null;
  registrations: number;
  /** Seqs keep counting across sessions, so a command's key (client#seq) is unique for the whole run. */
  nextSeq: number;
  nextRead: number;
  /** By PendingCommand.key. */
  pending: Map<string, PendingCommand>;
}

/** The registers whose history is checked for linearizability; `incr` goes to a key of its own, which the checker cannot model. */
const registerKeys = ['x', 'y', 'z'];
const counterKey = 'n';

/**
 * The key-value store, telling the simulation which client command it runs and
 * what it came to: the at-most-once check, and what clients are told checked
 * against what replicas computed. A command is known by its op, the object its
 * client made for that (client, seq) and reuses for every retry.
 */
class WatchedStore implements StateMachine {
  constructor(
    private readonly commandKeys: WeakMap<object, string>,
    private readonly onExecute: (key: string, outcome: string | null) => void,
    private readonly store: StateMachine = createKeyValueStore(),
  ) {}

  apply(op: unknown): unknown {
    const key = typeof op === 'object' && op !== null ? this.commandKeys.get(op) : undefined;
    try {
      const result = this.store.apply(op);
      if (key !== undefined) this.onExecute(key, `ok:${resultText(result)}`);
      return result;
    } catch (error) {
      // A refusal's wording is the service's (an Error subclass's name, a thrown string): read from the slot's outcomes in applied().
      if (key !== undefined) this.onExecute(key, null);
      throw error;
    }
  }

  /** Reads run no command: nothing to watch. */
  query(op: unknown): unknown {
    return this.store.query?.(op);
  }

  snapshot(): Uint8Array {
    return this.store.snapshot();
  }

  restore(bytes: Uint8Array): void {
    this.store.restore(bytes);
  }
}

/** A result as text to compare what a client was told with what a replica computed (a user's result may hold bigints). */
function resultText(result: unknown): string {
  return JSON.stringify(result ?? null, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value)) ?? 'undefined';
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
  /** Founders and spare nodes: every id the simulation runs. */
  private readonly totalNodes: number;
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
  private readonly acceptVotes = new Map<string, AcceptVote>();
  private readonly votesBySlot = new Map<Slot, AcceptVote[]>();
  /** The values behind chosenTruth, for the checker's membership. */
  private readonly chosenValues = new Map<Slot, Value>();
  private readonly acceptorChosen = new Map<Slot, string>();
  /** Commands whose result a client was told: each must end up applied on every replica. */
  private readonly acknowledged: { key: string; logKey: string; slot: Slot }[] = [];
  private readonly stats: SimStats;
  private readonly snapshotEvery: number;
  private readonly limits: CoreLimits;
  private readonly driverLimits: DriverLimits;
  private readonly bootstrap: Exclude<BootstrapMode, 'join'>;
  private readonly window: number;
  /** SimOptions.restoredSlot: the slot the founders' restored snapshot covers (0: none). */
  private readonly baseSlot: number;
  private readonly coreSabotage: CoreSabotage | undefined;
  /**
   * The checker's own membership: the founding configuration every node
   * adopted (merged: an id bound to an incarnation anywhere is bound), moved
   * on by the values of chosenTruth in slot order. Votes are counted against it.
   */
  private foundingVoters: Member[] | null = null;
  private checkerMembership: MembershipState | null = null;
  /** Slots whose votes could not be judged yet: config(slot) was not known. */
  private readonly unjudgedSlots = new Set<Slot>();
  private incarnationsMade = 0;
  /**
   * Removals offered to a leader (id -> when, and the slots a leader proposed it at), until seen
   * chosen: the wipe guard counts them as if in effect. A proposed value may be chosen any time
   * later (a later leader re-proposes it from promises), so one proposed is kept until the chosen
   * prefix passes every slot it was proposed at; one never proposed is dropped after 5 s.
   */
  private readonly removalsOffered = new Map<NodeId, { at: number; slots: Set<Slot> }>();
  /** Promotions offered and not yet seen chosen (or settled otherwise): they may still add a voter, whose loss then counts (seed 58803). */
  private readonly promotionsOffered = new Map<NodeId, { at: number; member: Member; slots: Set<Slot> }>();
  /** (client, seq) of every command a sim client made, by its op object (see WatchedStore). */
  private readonly commandKeys = new WeakMap<object, string>();
  /**
   * The slot at which each command was executed, and what it came to. Replicas
   * apply the same slots (checked), so a command run at any other slot, by any
   * replica, ran twice in that replica's history.
   */
  private readonly executedAt = new Map<string, Slot>();
  private readonly executedOutcome = new Map<string, string>();
  /** What every replica's service runs with (shapes the replicated state, so alike on all). */
  readonly serviceOptions: ReplicatedServiceOptions;
  private readonly driverSabotage: DriverSabotage;
  private readonly log: ((line: string) => void) | undefined;
  /** Every completed read, write and cas of the registers, on the virtual clock, for the linearizability check. */
  private readonly history: Operation[] = [];
  private readonly service: SimService | undefined;

  constructor(options: SimOptions) {
    this.prng = new Prng(options.seed);
    this.nodeCount = options.nodes ?? this.prng.pick([3, 3, 5, 5, 7]);
    this.totalNodes = Math.min(7, this.nodeCount + (options.spareNodes ?? this.prng.pick([0, 0, 0, 2, 4])));
    this.faultMs = options.faultMs ?? 8_000;
    this.settleMs = options.settleMs ?? 8_000;
    this.sabotage = options.sabotage ?? 'none';
    this.log = options.log;
    const wipesDefault = this.prng.pick([0, 0, 0.2, 0.5]);
    this.faults = {
      dropRate: this.prng.pick([0, 0.01, 0.05, 0.15]),
      duplicateRate: this.prng.pick([0, 0.02, 0.1]),
      delayMsMax: this.prng.pick([2, 10, 40, 150]),
      longHoldRate: this.prng.pick([0, 0.001, 0.01]),
      crashesPerSecond: this.prng.pick([0, 0.3, 1, 3]),
      partitionsPerSecond: this.prng.pick([0, 0.3, 1]),
      wipesPerSecond: options.wipesPerSecond ?? wipesDefault,
      // From a stream of its own, so that adding this fault changed no draw of the main one: a seed without it runs as before.
      walLossesPerSecond: options.walLossesPerSecond ?? new Prng((options.seed ^ 0x9e3779b9) >>> 0).pick([0, 0, 0, 0.2, 0.5]),
      changesPerSecond: options.changesPerSecond ?? this.prng.pick([0, 0, 0.2, 0.5]),
      diskFailureRate: options.diskFailureRate ?? this.prng.pick([0, 0, 0.001, 0.01]),
      bitFlipRate: options.bitFlipRate ?? this.prng.pick([0, 0, 0.1]),
      diskLatencyMsMax: this.prng.pick([1, 3, 10]),
      diskWaitCrashRate: this.prng.pick([0, 0, 0.002, 0.01]),
      loopbackOverNetwork: this.prng.chance(0.25),
      transfersPerSecond: options.transfersPerSecond ?? this.prng.pick([0, 0.3, 1, 2]),
      ...options.faults,
    };
    this.service = options.service;
    this.snapshotEvery = options.snapshotEvery ?? this.prng.pick([0, 5, 20, 100]);
    this.bootstrap = options.bootstrap ?? this.prng.pick(['unanimous', 'majority'] as const);
    this.window = options.window ?? this.prng.pick([4, 16, 64, 256]);
    this.baseSlot = options.restoredSlot ?? 0;
    this.coreSabotage = this.sabotage === 'counts-any-incarnation' || this.sabotage === 'config-from-unchosen' || this.sabotage === 'transfer-at-leaders-ballot' ? this.sabotage : undefined;
    this.pipelineDepth = options.pipelineDepth ?? this.prng.pick([1, 1, 2, 4, 8]);
    const clientSessionsMax = options.clientSessionsMax ?? (this.prng.chance(0.25) ? this.prng.int(2, 5) : undefined);
    this.serviceOptions = {
      ...(clientSessionsMax === undefined ? {} : { clientSessionsMax }),
      ...(this.sabotage === 'service-forgets-executed-seqs' ? { unsafeForgetsExecutedSeqs: true } : {}),
    };
    this.driverSabotage = this.sabotage === 'driver-sends-before-fsync' ? { sendBeforeDurable: true } : {};
    // As `node start` does: every limit resolved and checked by the one function, then handed to the core and the driver.
    const config = resolveNodeConfig({
      snapshotEvery: this.snapshotEvery,
      snapshotLogBytes: 0,
      clientsWaitingMax: 10_000,
      commandBytesMax: 1024 * 1024,
      // Small chunks (the smallest a node allows): a transfer takes several round trips, so crashes and partitions land mid-transfer.
      snapshotChunkBytes: this.prng.pick([1024, 1024, 64 * 1024]),
      snapshotsHeldForTransfersMax: 2,
      compactionHoldSlotsMax: this.prng.pick([0, 50, 100_000]),
      coreLimits: options.limits,
      // The sim's store reports what it runs (WatchedStore): a state machine of the simulation's own.
      builtinStateMachine: false,
    });
    this.limits = config.coreLimits;
    this.driverLimits = {
      snapshotEvery: config.snapshotEvery,
      snapshotLogBytes: config.snapshotLogBytes,
      clientsWaitingMax: config.clientsWaitingMax,
      sessionCommandsInFlightMax: config.sessionCommandsInFlightMax,
      commandBytesMax: config.commandBytesMax,
      valueBytesMax: config.valueBytesMax,
      snapshotChunkBytes: config.snapshotChunkBytes,
      // Runtime constants, shortened so that transfers are abandoned and refetched within a run.
      snapshotTransferIdleMsMax: 500,
      snapshotBytesMax: 64 * 1024 * 1024,
      snapshotsHeldForTransfersMax: config.snapshotsHeldForTransfersMax,
      compactionHoldSlotsMax: config.compactionHoldSlotsMax,
      snapshotRefetchMsMin: 200,
    };
    this.stats = {
      seed: options.seed,
      nodes: this.nodeCount,
      acknowledged: 0,
      readsAnswered: 0,
      historyOperations: 0,
      historyKeysUndecided: 0,
      registrations: 0,
      expired: 0,
      pipelineDepth: this.pipelineDepth,
      clientSessionsMax: clientSessionsMax ?? null,
      crashes: 0,
      crashPoints: {},
      diskFailures: 0,
      bitFlips: 0,
      wipes: 0,
      walLosses: 0,
      newIncarnationsAfterLogLoss: 0,
      replaced: 0,
      membershipChanges: 0,
      removals: 0,
      learnersAdded: 0,
      promotions: 0,
      leaderRemovals: 0,
      transfers: 0,
      transfersDone: 0,
      transfersFailed: 0,
      snapshots: 0,
      snapshotSelfChecks: 0,
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
    for (let id = 1; id <= this.totalNodes; id += 1) this.addNode(id);
    for (const node of this.nodes.values()) this.start(node);
    const clientCount = options.clients ?? this.prng.int(1, 6);
    for (let index = 0; index < clientCount; index += 1) {
      const client: SimClient = { index, id: `c${index}`, session: null, registering: null, registrations: 0, nextSeq: 1, nextRead: 1, pending: new Map() };
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
      this.service?.afterEvent?.(this.now);
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
    if (this.baseSlot > 0 && id <= this.nodeCount) {
      // What `paxos snapshot restore` leaves: the backup's snapshot (here an empty service's) without membership, and the base.
      // The service as a backup at that slot holds it: slots 1..baseSlot applied (no-ops here).
      const service = new ReplicatedService(this.storeFor(node)(), this.serviceOptions);
      for (let slot = 1; slot <= this.baseSlot; slot += 1) service.applyValue(slot, { commands: [] });
      const state = service.snapshot();
      node.store.snapshot = { slot: this.baseSlot, bytes: encodeSnapshot({ slot: this.baseSlot, appliedDigest: 'restored', state, membership: null }) };
      node.store.restoredBase = `${this.baseSlot}:${'ab'.repeat(32)}`;
    }
  }

  private start(node: SimNode): void {
    node.incarnation += 1;
    node.restartScheduled = false;
    node.executed = [];
    const store = node.store;
    const forgetsIncarnation = this.sabotage === 'empty-restart-new-incarnation' && node.incarnation > 1 && store.durable.length === 0 && store.snapshot === null;
    // The runtime's rule (ensureIdentity): a marked incarnation whose wal/ holds no segment lost its log.
    const decision = incarnationAtStart(store.incarnation === null ? null : { incarnation: store.incarnation, hasLog: store.hasLog }, store.logPresent);
    const logLost = decision.kind === 'log-lost' && this.sabotage !== 'keeps-incarnation-after-log-loss';
    if (logLost) {
      store.replacedAfterLogLoss = true;
      this.stats.newIncarnationsAfterLogLoss += 1;
      this.trace(`node ${node.id}: its log is lost (identity.json kept): incarnation ${store.incarnation} is replaced by a new one`);
    }
    if (decision.kind === 'create' || logLost || forgetsIncarnation) {
      // identity.json (with a fresh incarnation) is durable before the node first speaks.
      this.incarnationsMade += 1;
      store.incarnation = `${node.id.toString(16)}${this.incarnationsMade.toString(16).padStart(4, '0')}${this.prng.int(0, 2 ** 30).toString(16)}`;
      store.hasLog = false;
    }
    // The log is opened (its first segment durable), then the identity marked, before the node speaks.
    store.logPresent = true;
    store.hasLog = true;
    const records = this.sabotage === 'acceptor-forgets-on-restart' ? store.durable.filter((r) => r.type === 'chosen' || r.type === 'membership') : store.durable;
    const snapshot = store.snapshot === null ? null : { ...decodeSnapshot(store.snapshot.bytes, 'sim snapshot'), bytes: store.snapshot.bytes };
    const incarnationNow = store.incarnation;
    if (incarnationNow === null) throw new Error(`node ${node.id} starts with no incarnation`);
    const core = new PaxosNode({
      id: node.id,
      incarnation: incarnationNow,
      seed: this.prng.int(1, 2 ** 31),
      limits: this.limits,
      recovered: recoverState(records, snapshot?.slot ?? 0, snapshot?.membership ?? null),
      // As node start does: ask every --peers node; found (unanimously, or a majority) or join.
      // Spare nodes only ever join (node start --initial-cluster-state existing, asking the founders).
      // A node that lost its log belonged to a cluster: it only joins (bootstrapModeAtStart, as node start does).
      bootstrap: {
        mode: node.id > this.nodeCount || store.replacedAfterLogLoss ? 'join' : this.bootstrap,
        peers: [...Array(this.nodeCount).keys()].map((i) => i + 1),
        window: this.window,
        ...(store.restoredBase === null ? {} : { base: store.restoredBase }),
      },
      sabotage: this.coreSabotage,
      unsafe: { readsWithoutConfirm: this.sabotage === 'leader-reads-without-confirm', readsAtCommitIndex: this.sabotage === 'leader-reads-at-commit-index' },
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
      stateMachineIdentity: this.service?.identity ?? 'sim:kv',
      serviceOptions: this.serviceOptions,
      snapshot,
      limits: this.driverLimits,
      addressOf: () => null,
      observer: {
        onApplied: (entry, outcomes) => {
          this.applied(node, entry, outcomes);
          if (node.driver !== null) this.service?.onApplied?.(node.id, entry, outcomes, node.driver.replicatedService);
        },
        onReady: (ready) => {
          // What a node learns is a fact from the moment it learns it, durable or not.
          for (const record of ready.records) if (record.type === 'chosen') this.checkChosen(node.id, record.slot, record.value);
          for (const record of ready.records) if (record.type === 'membership') this.noteMembership(node, record.state);
        },
        onCoreEvent: (event) => {
          this.trace(`node ${node.id}: ${JSON.stringify(event)}`);
          if (event.kind === 'leader') this.stats.leaderChanges += 1;
          const removal = event.kind === 'change_proposed' ? /^remove node (\d+)$/.exec(event.change) : null;
          if (removal !== null && event.kind === 'change_proposed') this.removalsOffered.get(Number(removal[1]))?.slots.add(event.slot);
          const promotion = event.kind === 'change_proposed' ? /^node (\d+) \(incarnation \S+\) as voter$/.exec(event.change) : null;
          if (promotion !== null && event.kind === 'change_proposed') this.promotionsOffered.get(Number(promotion[1]))?.slots.add(event.slot);
        },
        onSnapshotTaken: () => {
          this.stats.snapshots += 1;
        },
        // The driver's self-check at every snapshot: the service (sessions and machine) restores to the same bytes.
        onSnapshotSelfCheck: (slot, restoredAlike) => {
          this.stats.snapshotSelfChecks += 1;
          if (!restoredAlike) this.fail(`node ${node.id}: restoring its own snapshot at slot ${slot} into a fresh machine gives other snapshot bytes, or throws`);
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
    const commandKey = (op: unknown) => (typeof op === 'object' && op !== null ? this.commandKeys.get(op) : undefined);
    const inner = this.service?.factoryFor(node.id, node.incarnation, { now: () => this.now, commandKey });
    return () =>
      new WatchedStore(
        this.commandKeys,
        (key, outcome) => {
          node.executed.push(key);
          if (!this.executedOutcome.has(key) && outcome !== null) this.executedOutcome.set(key, outcome);
        },
        inner?.(),
      );
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

  /** wal/ lost, identity.json kept: the node crashes and comes back without its log (and maybe without its snapshots). */
  private loseLog(node: SimNode): void {
    if (this.anotherDiskLost(node) || node.driver === null) return;
    this.crash(node, 'wal/ lost');
    node.store.loseLog(this.prng.chance(0.5));
    // A restored dir left with neither log nor snapshot is refused at start (node start: delete it): it comes back empty.
    if (node.store.restoredBase !== null && node.store.snapshot === null) node.store.wipe();
    node.lostState = true;
    this.stats.walLosses += 1;
  }

  private replaceDisk(node: SimNode): void {
    const kept = node.store.incarnation;
    node.store.wipe();
    // The sabotage: the old identity.json (its incarnation) is copied onto the new disk.
    if (this.sabotage === 'wiped-node-votes-at-once') node.store.incarnation = kept;
    node.lostState = true;
    this.stats.wipes += 1;
  }

  /**
   * Wiping `node` now would leave more than f voters of the newest
   * configuration dead (a wiped disk not yet replaced, a voter named with no
   * incarnation): beyond what the cluster survives, so the simulation does not.
   */
  private anotherDiskLost(node: SimNode): boolean {
    const membership = this.checkerMembership;
    if (membership === null) return true;
    // A disk replaced while the cluster is being founded (no other node durably belongs to it yet) is
    // beyond what bootstrap survives: the fresh nodes' views keep the old incarnation (docs/membership.md).
    // (A restored founder's snapshot at the base slot is not its own: it says nothing of founding.)
    const belongs = (other: SimNode) => (other.store.snapshot !== null && other.store.snapshot.slot > this.baseSlot) || other.store.durable.some((r) => r.type === 'membership');
    const founded = [...this.nodes.values()].some((other) => other !== node && belongs(other));
    if (!founded) return true;
    // Founders that still belong to no cluster, with this node's successor (whose view never held the lost
    // incarnation), must be short of a majority: else they could found a second cluster (seed 6162), or wait
    // for good for a membership only the lost disk (and a spare) held (seed 971).
    const unfounded = [...this.nodes.values()].filter((other) => other !== node && other.id <= this.nodeCount && !belongs(other)).length;
    if (node.id <= this.nodeCount && unfounded + 1 >= majority(this.nodeCount)) return true;
    // Every configuration of a slot the cluster may still have to choose (above what some other node
    // durably knows chosen) must keep a live majority: a replace chosen but not yet in effect does not
    // bring its node back before the slots up to it are chosen, and known.
    const known = Math.max(0, ...[...this.nodes.values()].filter((other) => other !== node).map((other) => durableCommit(other.store)));
    const configs = membership.epochs.filter((epoch, index) => index === membership.epochs.length - 1 || membership.epochs[index + 1].fromSlot > known + 1).map((epoch) => epoch.config);
    // A removal offered and not yet seen chosen may still take effect: judge the configuration it would leave too.
    const newest = configs[configs.length - 1];
    for (const [id, offered] of this.removalsOffered) {
      const settled = offered.slots.size === 0 ? this.now - offered.at > 5_000 : [...offered.slots].every((slot) => membership.throughSlot >= slot);
      if (settled) this.removalsOffered.delete(id);
      else configs.push({ voters: newest.voters.filter((m) => m.id !== id), learners: newest.learners });
    }
    // A promotion offered and not yet seen chosen may still take effect: judge the configuration it would make too.
    for (const [id, offered] of this.promotionsOffered) {
      const settled = offered.slots.size === 0 ? this.now - offered.at > 5_000 : [...offered.slots].every((slot) => membership.throughSlot >= slot);
      if (settled) this.promotionsOffered.delete(id);
      else configs.push({ voters: [...newest.voters.filter((m) => m.id !== id), offered.member], learners: newest.learners });
    }
    return configs.some((config) => {
      const dead = new Set(this.deadVoters(config));
      dead.add(node.id);
      return dead.size > Math.floor((config.voters.length - 1) / 2);
    });
  }

  /** Voters of `config` whose named incarnation is not the one on their disk now. */
  private deadVoters(config: Configuration): NodeId[] {
    return config.voters
      .filter((voter) => {
        const store = this.nodes.get(voter.id)?.store;
        // A lost log counts as dead from the loss on: the next start takes a new incarnation.
        return voter.incarnation === null || store?.incarnation !== voter.incarnation || store.logLostPending;
      })
      .map((voter) => voter.id);
  }

  /** Whether the node should end as a voter: the newest configuration names its id as one. */
  private wantsVoter(node: SimNode): boolean {
    return this.newestConfiguration()?.voters.some((voter) => voter.id === node.id) ?? true;
  }

  private newestConfiguration(): Configuration | null {
    const membership = this.checkerMembership;
    return membership === null ? null : membership.epochs[membership.epochs.length - 1].config;
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
        return `  node ${node.id}: ${s.role} leader=${s.leader} ballot=${ballotToString(s.ballot)} promised=${ballotToString(s.promised)} commit=${s.commitIndex} known=${s.knownCommitIndex} applied=${node.appliedUpTo} compacted=${s.compactedTo} member=${s.member} incarnation=${s.incarnation}`;
      })
      .join('\n');
  }

  /** Records reached the disk for good: count votes, and check what learners wrote as chosen. */
  private persisted(node: SimNode, records: WalRecord[]): void {
    for (const record of records) {
      if (record.type === 'chosen') this.checkChosen(node.id, record.slot, record.value);
      if (record.type === 'accept') this.countAccept(node, record);
    }
  }

  /**
   * A chosen value never changes: every learner learns the same value for a
   * slot, and it is the value a majority of config(slot)'s voters (per
   * incarnation) durably accepted at one ballot, by the time anyone learns it.
   */
  private checkChosen(id: NodeId, slot: Slot, value: Value): void {
    const key = valueKey(value);
    const known = this.chosenTruth.get(slot);
    if (known === undefined) {
      this.chosenTruth.set(slot, key);
      this.chosenValues.set(slot, value);
      this.advanceChecker();
    } else if (known !== key) this.fail(`node ${id} learned slot ${slot} chosen as [${key}] but it was chosen as [${known}]`);
    const byAcceptors = this.acceptorChosen.get(slot);
    if (byAcceptors !== undefined && byAcceptors !== key) {
      this.fail(`node ${id} learned slot ${slot} as [${key}] but a majority accepted [${byAcceptors}]`);
    }
    if (byAcceptors === undefined && this.checkerConfig(slot) !== null) {
      this.fail(`node ${id} learned slot ${slot} chosen as [${key}] but no majority of config(${slot})'s voters (per incarnation) accepted it`);
    }
  }

  /** One chosen value per slot, judged from the acceptors' durable accepts alone, each vote for the incarnation that cast it. */
  private countAccept(node: SimNode, record: Extract<WalRecord, { type: 'accept' }>): void {
    const key = `${record.slot}@${ballotToString(record.ballot)}`;
    const value = valueKey(record.value);
    let vote = this.acceptVotes.get(key);
    if (vote === undefined) {
      vote = { slot: record.slot, value, voters: new Map() };
      this.acceptVotes.set(key, vote);
      this.votesBySlot.set(record.slot, [...(this.votesBySlot.get(record.slot) ?? []), vote]);
    }
    if (vote.value !== value) this.fail(`two values accepted at slot ${record.slot} ballot ${ballotToString(record.ballot)}`);
    vote.voters.set(`${node.id}:${node.store.incarnation}`, { id: node.id, incarnation: node.store.incarnation });
    this.judge(record.slot);
  }

  /** Whether a majority of config(slot) accepted one value at one ballot; slots whose configuration the checker cannot know yet wait. */
  private judge(slot: Slot): void {
    const config = this.checkerConfig(slot);
    if (config === null) {
      this.unjudgedSlots.add(slot);
      return;
    }
    this.unjudgedSlots.delete(slot);
    for (const vote of this.votesBySlot.get(slot) ?? []) {
      const count = config.voters.filter((voter) => [...vote.voters.values()].some((v) => v.id === voter.id && isVoter(config, v.id, v.incarnation))).length;
      if (count < Math.floor(config.voters.length / 2) + 1) continue;
      const chosen = this.acceptorChosen.get(slot);
      if (chosen === undefined) this.acceptorChosen.set(slot, vote.value);
      else if (chosen !== vote.value) this.fail(`slot ${slot} chosen twice: [${chosen}] and then [${vote.value}] (majorities of config(${slot}) per incarnation)`);
    }
  }

  private checkerConfig(slot: Slot): Configuration | null {
    return this.checkerMembership === null ? null : configurationAt(this.checkerMembership, slot);
  }

  private countChange(before: Configuration, change: MembershipChange): void {
    this.stats.membershipChanges += 1;
    if (change.kind === 'remove') {
      this.stats.removals += 1;
      this.removalsOffered.delete(change.id);
    }
    else if (change.role === 'learner') this.stats.learnersAdded += 1;
    else if (before.learners.some((m) => m.id === change.member.id)) this.stats.promotions += 1;
  }

  /** A node founded or joined: its founding configuration joins the checker's (an id bound anywhere is bound). */
  private noteMembership(node: SimNode, state: MembershipState): void {
    if (state.throughSlot !== this.baseSlot || state.epochs[0].fromSlot !== this.baseSlot + 1) return; // a joiner's copy of a running cluster's state
    if (state.window !== this.window) this.fail(`node ${node.id} founded with window ${state.window}, not ${this.window}`);
    const voters = state.epochs[0].config.voters;
    const known = this.foundingVoters;
    if (known === null) {
      this.foundingVoters = voters.map((m) => ({ ...m }));
    } else {
      if (known.map((m) => m.id).join(',') !== voters.map((m) => m.id).join(',')) this.fail(`node ${node.id} founded a cluster of other ids than another node`);
      let changed = false;
      for (const [index, member] of voters.entries()) {
        const mine = known[index];
        if (member.incarnation !== null && mine.incarnation !== null && member.incarnation !== mine.incarnation) {
          this.fail(`node ${node.id} founded with node ${member.id} as incarnation ${member.incarnation}, another node with ${mine.incarnation}`);
        }
        if (member.incarnation !== null && mine.incarnation === null) {
          known[index] = { ...member };
          changed = true;
        }
      }
      if (!changed) return;
    }
    this.rebuildChecker();
  }

  private rebuildChecker(): void {
    if (this.foundingVoters === null) return;
    this.checkerMembership = foundingState(this.foundingVoters, this.window, this.baseSlot);
    this.advanceChecker();
    for (const slot of this.votesBySlot.keys()) this.judge(slot);
  }

  /** The checker's membership follows chosenTruth in slot order, as far as it is gap-free. */
  private advanceChecker(): void {
    const membership = this.checkerMembership;
    if (membership === null) return;
    const before = membership.throughSlot;
    for (;;) {
      const value = this.chosenValues.get(membership.throughSlot + 1);
      if (value === undefined) break;
      const before = membership.epochs[membership.epochs.length - 1].config;
      const change = advanceThrough(membership, membership.throughSlot + 1, value);
      if (change !== null && membership === this.checkerMembership) this.countChange(before, change);
      if (change !== null && change.kind === 'set' && change.role === 'voter') {
        const node = this.nodes.get(change.member.id);
        if (node !== undefined && node.lostState && node.store.incarnation === change.member.incarnation) {
          node.lostState = false;
          this.stats.replaced += 1;
        }
      }
    }
    if (membership.throughSlot === before) return;
    for (const slot of [...this.unjudgedSlots]) if (this.checkerConfig(slot) !== null) this.judge(slot);
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
    const commandCount = value.commands.filter((c) => !isMembershipCommand(c)).length;
    if (outcomes.length !== commandCount) this.fail(`node ${node.id} gave ${outcomes.length} outcomes for the ${commandCount} commands of slot ${slot}`);
    this.recordExecuted(node, value, outcomes);
    this.checkAtMostOnce(node, slot);
  }

  /** The refusals the state machine gave in this slot, worded as the service words them for the client (the first execution's). */
  private recordExecuted(node: SimNode, value: Value, outcomes: CommandOutcome[]): void {
    if (node.executed.length === 0) return;
    const ran = new Set(node.executed);
    for (const [index, outcome] of outcomes.entries()) {
      // Known by its op (outcome.client is the session id, not the simulated client's).
      const op = value.commands[index]?.op;
      const key = typeof op === 'object' && op !== null ? this.commandKeys.get(op) : undefined;
      if (key === undefined || outcome.ok || this.executedOutcome.has(key) || !ran.has(key)) continue;
      this.executedOutcome.set(key, `refused:${outcome.error}`);
    }
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
    const perSecond = this.faults.crashesPerSecond + this.faults.partitionsPerSecond + this.faults.wipesPerSecond + this.faults.walLossesPerSecond + this.faults.changesPerSecond + this.faults.transfersPerSecond;
    if (perSecond === 0) return;
    this.schedule(this.prng.int(1, Math.ceil(2_000 / perSecond)), () => this.onFault());
  }

  private onFault(): void {
    if (this.calm) return;
    const total = this.faults.crashesPerSecond + this.faults.partitionsPerSecond + this.faults.wipesPerSecond + this.faults.walLossesPerSecond + this.faults.changesPerSecond + this.faults.transfersPerSecond;
    const roll = this.prng.next() * total;
    if (roll >= total - this.faults.transfersPerSecond) this.transferLeadership();
    else if (roll >= total - this.faults.transfersPerSecond - this.faults.changesPerSecond) this.changeMembership();
    else if (roll < this.faults.crashesPerSecond) this.crash(this.prng.pick([...this.nodes.values()]));
    else if (roll < this.faults.crashesPerSecond + this.faults.wipesPerSecond) {
      this.wipe(this.prng.pick([...this.nodes.values()]));
      // Two disks at once (within f on 5 or 7 nodes): both come back as new incarnations to be replaced.
      if (this.nodeCount >= 5 && this.prng.chance(0.3)) this.wipe(this.prng.pick([...this.nodes.values()]));
    } else if (roll < this.faults.crashesPerSecond + this.faults.wipesPerSecond + this.faults.walLossesPerSecond) this.loseLog(this.prng.pick([...this.nodes.values()]));
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
    this.schedule(100, () => this.restoreMembers());
  }

  // ---- membership changes ------------------------------------------------

  /**
   * One change through whichever node leads, interleaved with the other faults:
   * remove a voter (the leader too), add a node that is not a member as a
   * learner (a spare node: 3 -> 5 -> 7; or one removed earlier), promote a
   * learner. Back to back when the roll says so: the next is offered as soon
   * as the leader takes it (it refuses while one is in flight or not in effect).
   */
  private changeMembership(): void {
    const config = this.newestConfiguration();
    if (config === null) return;
    const outside = [...this.nodes.values()].filter((node) => node.store.incarnation !== null && !config.voters.some((m) => m.id === node.id) && !config.learners.some((m) => m.id === node.id));
    const roll = this.prng.int(0, 3);
    let change: MembershipChange | null = null;
    if (roll === 0 && config.voters.length > 3) {
      const voter = this.prng.pick(config.voters);
      // Keep a live majority of what remains (a removal is not a fault the cluster must survive on top of f).
      const remaining = { voters: config.voters.filter((m) => m.id !== voter.id), learners: config.learners };
      if (this.deadVoters(remaining).length <= Math.floor((remaining.voters.length - 1) / 2)) {
        change = { kind: 'remove', id: voter.id };
        if (this.nodes.get(voter.id)?.core?.currentRole === 'leader') this.stats.leaderRemovals += 1;
      }
    } else if (roll === 1 && outside.length > 0) {
      const node = this.prng.pick(outside);
      change = { kind: 'set', member: { id: node.id, incarnation: node.store.incarnation }, role: 'learner' };
    } else if (config.learners.length > 0) {
      const learner = this.prng.pick(config.learners);
      const incarnation = this.nodes.get(learner.id)?.store.incarnation ?? null;
      // As `paxos member promote` does (it promotes a learner the leader hears, under the incarnation it hears):
      // never an incarnation that is already doomed (its log lost), and never into a configuration without a live majority.
      if (incarnation !== null) change = { kind: 'set', member: { id: learner.id, incarnation }, role: 'voter' };
    }
    if (change !== null) this.offerChange(change, this.prng.chance(0.3) ? 3 : 0);
  }

  /** Offers `change` to every node that thinks it leads; retries `retries` times while a previous one is still in flight. */
  private offerChange(change: MembershipChange, retries: number): void {
    // A removal decided earlier (a retry) is judged again against what is chosen and offered now.
    if (change.kind === 'remove' && !this.removalKeepsMajority(change.id)) return;
    // As `paxos member promote` does (it promotes a learner the leader hears, under the incarnation it hears):
    // never an incarnation already doomed (its log lost), nor into a configuration without a live majority.
    if (change.kind === 'set' && change.role === 'voter' && !this.promotionKeepsMajority(change.member)) return;
    let queued = false;
    for (const node of this.nodes.values()) {
      if (node.driver === null || node.core?.currentRole !== 'leader') continue;
      const outcome = node.driver.changeMembership(change);
      this.trace(`node ${node.id}: membership change ${JSON.stringify(change)}: ${JSON.stringify(outcome)}`);
      if (outcome.status === 'queued') {
        queued = true;
        if (change.kind === 'remove') this.removalsOffered.set(change.id, { at: this.now, slots: this.removalsOffered.get(change.id)?.slots ?? new Set() });
        if (change.kind === 'set' && change.role === 'voter') {
          this.promotionsOffered.set(change.member.id, { at: this.now, member: { ...change.member }, slots: this.promotionsOffered.get(change.member.id)?.slots ?? new Set() });
        }
      }
    }
    if (!queued && retries > 0) this.schedule(this.prng.int(20, 200), () => this.offerChange(change, retries - 1));
  }

  private promotionKeepsMajority(member: Member): boolean {
    const config = this.newestConfiguration();
    if (config === null) return false;
    // The incarnation promoted must be the one on its disk, not doomed by a lost log: `member promote` names
    // one the leader hears, and a voter dead on arrival would count as a failure the cluster did not choose (seed 49090).
    const store = this.nodes.get(member.id)?.store;
    if (store === undefined || store.incarnation !== member.incarnation || store.logLostPending) return false;
    const voters = [...config.voters.filter((m) => m.id !== member.id), member];
    return this.deadVoters({ voters, learners: [] }).length <= Math.floor((voters.length - 1) / 2);
  }

  /**
   * Removing `id` from the newest configuration, and the other removals offered
   * and not yet seen chosen, leaves more than three voters' worth of room and a
   * live majority (a removal is not a fault the cluster must survive on top of f).
   */
  private removalKeepsMajority(id: NodeId): boolean {
    const config = this.newestConfiguration();
    if (config === null || config.voters.length <= 3) return false;
    const gone = new Set([id, ...[...this.removalsOffered.keys()].filter((other) => other !== id)]);
    const remaining = { voters: config.voters.filter((m) => !gone.has(m.id)), learners: config.learners };
    if (remaining.voters.length < 3) return false;
    return this.deadVoters(remaining).length <= Math.floor((remaining.voters.length - 1) / 2);
  }

  /**
   * A leadership transfer (`paxos leader transfer`) at whichever node leads:
   * mostly to a random voter, sometimes to the most caught-up one (no
   * target), now and then to a learner or a non-member (which must be
   * refused), interleaved with crashes, partitions and changes. Commands in
   * flight are retried by the clients as usual; the invariants judge the rest.
   */
  private transferLeadership(): void {
    const config = this.newestConfiguration();
    if (config === null) return;
    const leaders = [...this.nodes.values()].filter((node) => node.driver !== null && node.core?.currentRole === 'leader');
    if (leaders.length === 0) return;
    const leader = this.prng.pick(leaders);
    const roll = this.prng.next();
    const others = [...this.nodes.keys()].filter((id) => id !== leader.id);
    const to = roll < 0.2 ? null : roll < 0.3 && others.length > 0 ? this.prng.pick(others) : this.prng.pick(config.voters).id;
    this.stats.transfers += 1;
    const startedMs = this.now;
    const driver = leader.driver!;
    let answered = false;
    driver.transferLeadership(to, (result) => {
      answered = true;
      this.trace(`node ${leader.id}: leader transfer to ${to ?? 'the most caught-up voter'}: ${JSON.stringify(result)} after ${this.now - startedMs} ms`);
      if (result.status === 'done') this.stats.transfersDone += 1;
      else this.stats.transfersFailed += 1;
    });
    // Bounded: answered within an election timeout (twice that, for tick jitter), unless the leader crashed meanwhile.
    const boundMs = 2 * (this.limits.electionTimeoutTicksMax + 2) * tickMs;
    this.schedule(boundMs, () => {
      if (!answered && leader.driver === driver) this.fail(`node ${leader.id}: the leadership transfer to ${to ?? 'the most caught-up voter'} was not answered within ${boundMs} ms (the bound is an election timeout)`);
    });
  }

  /** Once calm: every node with a disk becomes a voter again, one change at a time, so every replica must converge. */
  private restoreMembers(): void {
    const config = this.newestConfiguration();
    if (config !== null) {
      const missing = [...this.nodes.values()].find((node) => node.store.incarnation !== null && !config.voters.some((m) => m.id === node.id && m.incarnation === node.store.incarnation));
      if (missing !== undefined) this.offerChange({ kind: 'set', member: { id: missing.id, incarnation: missing.store.incarnation }, role: 'voter' }, 0);
    }
    if (this.now < this.faultMs + this.settleMs / 2) this.schedule(100, () => this.restoreMembers());
  }

  // ---- clients -----------------------------------------------------------

  /**
   * Keeps up to pipelineDepth commands of the client in flight (no new ones
   * once the faults stop), registering a session first. Like PaxosClient, it
   * opens a seq only below its lowest unanswered seq plus the session window,
   * so a retry is never below the window (result_forgotten is a failure here).
   */
  private fillPipeline(client: SimClient): void {
    if (this.calm) return;
    if (client.session === null) return this.register(client);
    const session = client.session;
    for (;;) {
      if (client.pending.size >= this.pipelineDepth) return;
      const open = [...client.pending.values()].filter((command) => !command.read && command.session === session).map((command) => command.seq);
      const seq = client.nextSeq;
      if (open.length > 0 && seq >= Math.min(...open) + sessionWindow) return;
      const next = this.nextOp();
      if (next === null) return;
      const { op, read } = next;
      const key = read ? `${client.id}#r${client.nextRead++}` : `${client.id}#${seq}`;
      if (!read) {
        client.nextSeq += 1;
        if (typeof op === 'object' && op !== null) this.commandKeys.set(op, key);
      }
      const command: PendingCommand = { session, seq: read ? 0 : seq, read, op, key, attempt: 0, target: this.prng.int(1, this.totalNodes + 1), invokedAt: this.now };
      client.pending.set(key, command);
      this.attempt(client, command, command.target);
    }
  }

  /** Sends the client's registration (seq 0, no op), unless one is in flight; its answer names the session. */
  private register(client: SimClient): void {
    if (client.registering !== null) return;
    client.registrations += 1;
    const nonce = `${client.id}.${client.registrations}`;
    const registration: PendingCommand = { session: nonce, seq: registrationSeq, read: false, op: null, key: `${nonce}#register`, attempt: 0, target: this.prng.int(1, this.totalNodes + 1), invokedAt: this.now };
    client.registering = registration;
    this.attempt(client, registration, registration.target);
  }

  /** Whether `command` is still what the client waits for (a registration, a pending command or read). */
  private waitsFor(client: SimClient, command: PendingCommand): boolean {
    if (!command.read && command.seq === registrationSeq) return client.registering === command;
    return client.pending.get(command.key) === command;
  }

  /** The next operation: a user module's command (always through the log), or one on the registers; null when a user's list ran out. */
  private nextOp(): { op: unknown; read: boolean } | null {
    if (this.service === undefined) return this.randomOp();
    const op = this.service.nextOp();
    return op === null ? null : { op, read: false };
  }

  /** A `get` is read without the log (linearizable) or, a third of the time, ordered through it. */
  private randomOp(): { op: unknown[]; read: boolean } {
    const key = this.prng.pick(registerKeys);
    const roll = this.prng.int(0, 6);
    if (roll <= 1) return { op: ['get', key], read: true };
    if (roll === 2) return { op: ['get', key], read: false };
    if (roll === 3) return { op: ['incr', counterKey], read: false };
    if (roll === 4) return { op: ['cas', key, String(this.prng.int(0, 5)), String(this.prng.int(0, 5))], read: false };
    return { op: ['set', key, String(this.prng.int(0, 5))], read: false };
  }

  /**
   * One attempt of a command at a node: the request and its answer each cross
   * the network (and may be lost); after clientAttemptMs without an answer the
   * client tries another node with the same session and seq.
   */
  private attempt(client: SimClient, command: PendingCommand, target: NodeId): void {
    command.attempt += 1;
    command.target = target;
    const attempt = command.attempt;
    const node = this.nodes.get(target);
    const lost = () => !this.calm && this.prng.chance(this.faults.dropRate);
    if (node !== undefined && !lost()) {
      this.schedule(this.delay(), () => {
        const link = { reply: (response: ClientResponse) => (lost() ? undefined : this.schedule(this.delay(), () => this.answered(client, command, attempt, response))) };
        // A crashed node refuses the connection at once (nothing was sent), as a real one does, so
        // clients find the next leader as soon as it is elected: reads reach it right after it takes over.
        if (node.driver === null) return link.reply({ type: 'error', id: attempt, code: 'connection_refused', message: `node ${target} is down`, indeterminate: false });
        if (command.read) node.driver.query({ type: 'query', id: attempt, op: command.op, consistency: 'linearizable' }, link);
        else node.driver.submit({ type: 'submit', id: attempt, client: command.session, seq: command.seq, op: command.op }, link);
      });
    }
    this.schedule(clientAttemptMs, () => {
      if (this.waitsFor(client, command) && command.attempt === attempt) this.retry(client, command, null, 0);
    });
  }

  private retry(client: SimClient, command: PendingCommand, hint: NodeId | null, delayMs: number): void {
    const attempt = command.attempt;
    this.schedule(delayMs, () => {
      if (!this.waitsFor(client, command) || command.attempt !== attempt) return;
      this.attempt(client, command, hint ?? this.prng.int(1, this.totalNodes + 1));
    });
  }

  /** What a node answered to one attempt; answers to earlier attempts are ignored, as a real client's request ids do. */
  private answered(client: SimClient, command: PendingCommand, attempt: number, response: ClientResponse): void {
    if (!this.waitsFor(client, command) || command.attempt !== attempt) return;
    if (response.type === 'redirect') return this.retry(client, command, response.leader, response.leader === null ? 50 : 1);
    if (response.type === 'error') {
      if (command.read && response.indeterminate) this.fail(`client ${client.id} was told a read is indeterminate (${response.code}): a read changes nothing`);
      if (response.code === 'result_forgotten') {
        this.fail(`client ${client.id} was told result_forgotten for ${command.key} (session ${command.session}, seq ${command.seq}), though it never had a window's worth of seqs open`);
      }
      if (response.code === 'session_expired') return this.expired(client, command, response.indeterminate);
      return this.retry(client, command, null, this.prng.int(1, 50));
    }
    if (command.read) return this.readAnswered(client, command, response);
    if (response.type !== 'result' && response.type !== 'refused') this.fail(`client ${client.id} got a ${response.type} to a submit`);
    if (command.seq === registrationSeq) return this.registered(client, command, response);
    const told = response.type === 'result' ? `ok:${resultText(response.result)}` : `refused:${response.error}`;
    const executed = this.executedOutcome.get(command.key);
    // A command that is a bare string or number (a user's machine) cannot be known by its object: it is not followed.
    const followed = typeof command.op === 'object' && command.op !== null;
    if (executed === undefined && followed) this.fail(`client ${client.id} was told ${told} for ${command.key} (slot ${response.slot}), which no replica executed`);
    if (executed !== undefined && executed !== told) this.fail(`client ${client.id} was told ${told} for ${command.key} (slot ${response.slot}), but the replicas computed ${executed}`);
    this.acknowledged.push({ key: command.key, logKey: `${command.session}#${command.seq}`, slot: response.slot });
    this.record(client, command, response.type === 'result', response.type === 'result' ? response.result : null);
    this.done(client, command);
  }

  private readAnswered(client: SimClient, command: PendingCommand, response: ClientResponse): void {
    if (response.type !== 'query_reply') return this.fail(`client ${client.id} got a ${response.type} to a read`);
    if (!response.ok) this.fail(`client ${client.id}'s read ${JSON.stringify(command.op)} was refused: ${response.error}`);
    if (response.consistency !== 'linearizable') this.fail(`client ${client.id} asked for a linearizable read and got a ${response.consistency} one`);
    this.stats.readsAnswered += 1;
    this.record(client, command, true, response.result);
    this.done(client, command);
  }

  private done(client: SimClient, command: PendingCommand): void {
    this.stats.acknowledged += 1;
    client.pending.delete(command.key);
    this.schedule(this.prng.int(0, 20), () => this.fillPipeline(client));
  }

  /** A completed operation on a register, as the checker's history has it (a refused cas changed nothing: fail). */
  private record(client: SimClient, command: PendingCommand, ok: boolean | 'info', result: unknown): void {
    if (this.service !== undefined || !Array.isArray(command.op)) return; // a user's module: no registers
    const [verb, key] = command.op as string[];
    if (!registerKeys.includes(key)) return;
    const timing = { process: client.index, key, invokeTime: command.invokedAt, completeTime: this.now, invokeLine: 0, completeLine: null };
    // info: it may or may not have taken effect (a session_expired write whose earlier copy may have run).
    const outcome = ok === 'info' ? ('info' as const) : ok ? ('ok' as const) : ('fail' as const);
    if (verb === 'get') this.history.push({ ...timing, f: 'read', value: (result ?? null) as string | null, outcome });
    else if (verb === 'set') this.history.push({ ...timing, f: 'write', value: command.op[2] as string, outcome });
    else if (verb === 'cas') this.history.push({ ...timing, f: 'cas', value: [command.op[2] as string, command.op[3] as string], outcome });
  }

  /** Every read and write of the registers, checked for linearizability (src/check, key by key). */
  private checkLinearizable(): void {
    this.stats.historyOperations = this.history.length;
    const operations = [...this.history].sort((a, b) => a.invokeTime - b.invokeTime);
    const result = checkHistory(operations);
    this.stats.historyKeysUndecided = result.undecided.length;
    if (result.verdict !== 'violation') return;
    const violation = result.violations[0];
    const shown = (violation.explanation?.operations ?? [])
      .map((op) => `    ${op.unexplained ? '>' : ' '} client c${op.process} ${op.f} ${JSON.stringify(op.value)} ${op.outcome} [${op.invokeTime}ms, ${op.completeTime}ms]`)
      .join('\n');
    this.fail(`the history of key ${violation.key} is not linearizable (${violation.keyOperations} operations):\n${shown}`);
  }

  /** A registration's answer: the session its commands carry from now on (nothing is executed for it, so nothing to compare). */
  private registered(client: SimClient, command: PendingCommand, response: ClientResponse): void {
    const session = response.type === 'result' ? (response.result as Registration | null)?.session : undefined;
    if (typeof session !== 'string' || !session.startsWith(`${command.session}@`)) {
      this.fail(`client ${client.id} registered and was told ${JSON.stringify(response)}, not a session of nonce ${command.session}`);
    }
    client.registering = null;
    client.session = session;
    this.stats.registrations += 1;
    this.schedule(this.prng.int(0, 20), () => this.fillPipeline(client));
  }

  /**
   * The replicas no longer know the command's session (evicted): it was not
   * executed now, but an earlier copy may have been, so the client is told its
   * outcome is unknown and registers again for its next commands.
   */
  private expired(client: SimClient, command: PendingCommand, indeterminate: boolean): void {
    if (!indeterminate) this.fail(`client ${client.id} was told session_expired for ${command.key} as determinate: an earlier copy may have run`);
    if (command.seq === registrationSeq) this.fail(`client ${client.id}'s registration ${command.session} was told session_expired`);
    this.stats.expired += 1;
    this.record(client, command, 'info', null);
    client.pending.delete(command.key);
    if (client.session === command.session) client.session = null;
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
      const member = node.core?.status().member;
      if (member !== 'voter' && this.wantsVoter(node)) this.fail(`after ${this.settleMs}ms of calm node ${node.id} is still not a voter (${member})`);
    }
    for (const client of this.clients) {
      for (const command of client.pending.values()) this.fail(`after ${this.settleMs}ms of calm client ${client.id} still waits for ${command.key}`);
      if (client.registering !== null) this.fail(`after ${this.settleMs}ms of calm client ${client.id} still waits for its registration ${client.registering.session}`);
    }
    for (const { key, logKey, slot } of this.acknowledged) {
      const appliedAt = this.appliedTruth.get(slot);
      if (slot > target || appliedAt === undefined || !appliedAt.split('|').some((c) => c.startsWith(`${logKey}:`))) {
        this.fail(`acknowledged command ${key} (slot ${slot}) is not in the applied log (applied up to ${target})`);
      }
    }
    const digests = new Set(nodes.map((n) => n.driver?.replicatedService.stateDigest()));
    if (digests.size !== 1) this.fail('replicas applied the same slots but hold different states');
    this.checkLinearizable();
  }
}

/** The gap-free prefix of slots a disk durably knows chosen (its snapshot, then chosen records). */
function durableCommit(store: SimStore): Slot {
  const chosen = new Set<Slot>();
  for (const record of store.durable) if (record.type === 'chosen') chosen.add(record.slot);
  let commit = store.snapshot?.slot ?? 0;
  while (chosen.has(commit + 1)) commit += 1;
  return commit;
}

export function runSimulation(options: SimOptions): SimStats {
  return new Simulation(options).run();
}
