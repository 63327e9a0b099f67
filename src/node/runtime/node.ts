// The driver: real sockets, real disk and a real clock around the pure core.
// It feeds the core messages, ticks and client commands, and acts on each Ready
// in the order the core demands: persist (fsync), then send, then apply and
// answer clients. Readies are handled strictly in order, so a message is never
// sent before every record of its own and every earlier Ready is durable.
import { createHash } from 'node:crypto';
import { PaxosNode, rebuildsOnStart, recoverState, type CoreStatus, type InitialClusterState } from '../core/node.js';
import { ballotToString, needsDurableState, type Command, type CoreEvent, type NodeId, type PeerMessage, type Ready, type Slot, type Value, type WalRecord } from '../core/messages.js';
import { defaultCoreLimits, type CoreLimits } from '../core/limits.js';
import { WriteAheadLog, type FsyncPolicy } from '../storage/wal.js';
import { lockDataDir, type ReleaseLock } from '../storage/lock.js';
import { clusterIdFor, ensureIdentity } from '../storage/identity.js';
import { encodeSnapshot, pruneSnapshots, readLatestSnapshot, removeStaleSnapshotTemporaries, snapshotBytesMax, writeSnapshot, type Snapshot } from '../storage/snapshot.js';
import { createKeyValueStore } from '../statemachine/kv.js';
import { describeThrown, ReplicatedService, type CommandOutcome } from '../statemachine/sessions.js';
import type { StateMachineFactory } from '../statemachine/types.js';
import { stateMachineIdentityFor } from '../statemachine/loader.js';
import { SlotOutcomes } from './outcomes.js';
import type { ClientRequest, NodeStatus, SubmitRequest, TransferMessage } from '../../wire/protocol.js';
import { chosenEntriesMax, commandsPerValueMax, snapshotChunkBytesMax } from '../../wire/validate.js';
import { commandBytes } from '../core/size.js';
import { builtinStateMachineIdentity } from '../../wire/protocol.js';
import { storedValueRefusal, valueBytesMax } from '../statemachine/verbs.js';
import { SnapshotTransfer, type HeldSnapshot } from './transfer.js';
import { defaultTransportLimits, Transport, type ClientLink, type Endpoint, type TransportLimits } from './transport.js';
import { checkAdmissionLimits, defaultAdmissionLimits, exposureWarning, type AdmissionLimits } from './admission.js';
import { silentLogger, type Logger } from './log.js';
import { NodeMetrics } from './metrics.js';
import { serveMetrics, type MetricsServer } from './metrics-http.js';
import { answerFault, FaultInjector } from './faults.js';
import { makeWritesBehind, readLocally, type UnsafeModes } from './unsafe.js';
import type { NodeTls } from './tls.js';
import { checkTickMs } from './config.js';

/** How to run one replica node (`startNode`); `paxos node start` builds it from its flags. */
export interface NodeConfig {
  /** This node's id: a key of `peers`, unique in the cluster. */
  id: NodeId;
  /** Every member of the cluster (this node included) and the address to dial it at. */
  peers: Map<NodeId, Endpoint>;
  /** Where to listen; defaults to this node's own entry in `peers`. */
  listen?: Endpoint;
  /** Holds the write-ahead log, snapshots and identity; locked while the node runs. */
  dataDir: string;
  /** When records reach the disk before anything is acknowledged; default `always`. */
  fsync?: FsyncPolicy;
  /** Names the cluster together with the member ids; a data dir never joins another cluster. */
  clusterToken?: string;
  /**
   * On an empty data dir: `existing` (default) takes it for a replaced disk
   * that must rebuild from its peers before it votes; `new` votes at once, for
   * the first start of a brand-new cluster only. Ignored when the data dir holds state.
   */
  initialClusterState?: InitialClusterState;
  /** One core tick; heartbeats and election timeouts are counted in ticks. */
  tickMs?: number;
  /** Overrides of the Paxos core's limits (window, batch sizes, tick counts). */
  coreLimits?: Partial<CoreLimits>;
  /** Overrides of the transport's limits (frame size, queues, connections). */
  transportLimits?: Partial<TransportLimits>;
  /** The cluster's shared secret (--secret-file); null or absent: connections are not authenticated. */
  secret?: Uint8Array | null;
  /** TLS on the node's port (loadNodeTls); null or absent: plain TCP. */
  tls?: NodeTls | null;
  /** What one remote may cost this node (see admission.ts). */
  admissionLimits?: Partial<AdmissionLimits>;
  /** Client commands waiting for their slot to apply; beyond it, submits are refused as overloaded. */
  clientsWaitingMax?: number;
  /**
   * Commands one client id (session) may have waiting for their slot; beyond
   * it the leader refuses the next with `session_busy`, not proposed.
   * Default {@link sessionCommandsInFlightMaxDefault}.
   */
  sessionCommandsInFlightMax?: number;
  /**
   * Largest command (its `op`, msgpack bytes) the leader proposes; a larger one
   * is refused with `command_too_large`, not proposed. Default
   * {@link commandBytesMaxDefault}, or less when the frame limit is smaller.
   */
  commandBytesMax?: number;
  /**
   * For the built-in key-value store: the largest value a set, cas or append
   * may store, checked by the leader before proposing (`value_too_large`). At
   * most the store's own ceiling, {@link valueBytesMax} (checked in apply on
   * every replica), which is also the default.
   */
  valueBytesMax?: number;
  /**
   * Applied slots between snapshots. Each snapshot lets the log before it be
   * deleted, which bounds memory, disk and restart time; 0 never snapshots.
   */
  snapshotEvery?: number;
  /**
   * Bytes appended to the log since the last snapshot that also trigger one,
   * whichever of this and snapshotEvery comes first; 0 turns this trigger off.
   * A slot batches any number of commands, so slots alone bound neither the
   * memory the log since the snapshot holds nor the time a restart replays it.
   */
  snapshotLogBytes?: number;
  /** Bytes per snapshot chunk sent to a peer (one frame each); default snapshotChunkBytesDefault. */
  snapshotChunkBytes?: number;
  /** Distinct snapshots held in memory for transfers to peers (see SnapshotTransferLimits). */
  snapshotsHeldForTransfersMax?: number;
  /** Slots behind the newest snapshot the log may be kept for a peer catching up (see SnapshotTransferLimits). */
  compactionHoldSlotsMax?: number;
  /** Makes the replicated service; the built-in key-value store by default. Must be deterministic. */
  stateMachine?: StateMachineFactory;
  /**
   * Names the state machine in the peer handshake; a node refuses peers that
   * name another. Default: `builtin:kv@1` for the built-in store, else a hash
   * of the factory's source (see identityOfFactory). loadStateMachine gives one.
   */
  stateMachineIdentity?: string;
  /** Structured logs; silent by default. */
  log?: Logger;
  /** Called when the node cannot go on (a failed fsync, a lost lock); it has stopped serving. */
  onFatal?: (error: Error) => void;
  /** Serve the Prometheus text format at http://<listen host>:<metricsPort>/metrics (0 picks a free port). */
  metricsPort?: number;
  /** Accept `fault` requests (partition, delay, drop of peer traffic): local testing only. */
  enableFaults?: boolean;
  /** Deliberately broken behaviour, only to show that the chaos tests catch it (see unsafe.ts). */
  unsafe?: UnsafeModes;
}

/** The wire's ceiling on one chunk, for flags that set the chunk size. */
export { snapshotChunkBytesMax };

export const tickMsDefault = 10;
export const snapshotEveryDefault = 10_000;
/**
 * 16 MiB of log is about 8 MiB of commands (each is in an accept and a chosen
 * record), which a node holds in memory as objects several times that size
 * until the snapshot lets it forget them, and the garbage collector lets the
 * heap grow to a few times what is live: at this size a node stays near 250 MB
 * under 256 clients (32 MiB went past 300; docs/performance.md), and a restart
 * replays at most this much. At full load that is a snapshot every few seconds.
 */
export const snapshotLogBytesDefault = 16 * 1024 * 1024;
/** Bytes per snapshot chunk on the wire: one frame each, far under the frame limit. */
export const snapshotChunkBytesDefault = 1024 * 1024;
/** Room a chunk's frame needs beside the chunk itself (field names, ids, slot, offsets). */
const snapshotChunkFrameOverheadBytes = 64 * 1024;
/** A snapshot transfer that hears nothing for this long is abandoned and asked for again. */
export const snapshotTransferIdleMsMax = 5_000;
/**
 * Two: in a three-node cluster both peers can fetch at once, each on its own
 * snapshot, so no transfer ever waits; memory is at most three snapshots.
 */
export const snapshotsHeldForTransfersMaxDefault = 2;
/**
 * etcd keeps 5,000 entries behind a snapshot for slow followers; we hold the
 * log only for a peer that is fetching or catching up, so allow more: 100,000
 * small slots are tens of MB at most, and a peer that falls further behind
 * than that is better served by a newer snapshot.
 */
export const compactionHoldSlotsMaxDefault = 100_000;
export const clientsWaitingMaxDefault = 65_536;
/**
 * Rounds of one flush: a self-delivered message makes more work for the same
 * turn, and each round's self messages answer the previous round's, so two
 * or three rounds settle; the bound keeps a bug from spinning the event loop.
 */
const flushRoundsMax = 4;
/**
 * A PaxosClient has one command in flight per client id (a later seq
 * overtaking an earlier one would make it look stale), so an honest session
 * never comes near this; it stops one client id from filling the node's
 * whole waiting table.
 */
export const sessionCommandsInFlightMaxDefault = 64;
/**
 * A command is carried whole in an accept and in every replica's log. Room
 * for a key-value cas with a 1 MiB expected and a 1 MiB new value, far under
 * the 16 MiB frame limit.
 */
export const commandBytesMaxDefault = 4 * 1024 * 1024;
/** What a submit and an accept add around a command: a command must leave this much of the frame limit free. */
export const commandEnvelopeBytesMax = 64 * 1024;
/**
 * After a peer's snapshot could not be restored, the next fetch waits this
 * long: a state machine whose restore() keeps throwing costs one transfer
 * and one log line per interval, not a tight loop of transfers.
 */
export const snapshotRefetchMsMin = 5_000;

/** A node started by `startNode`, serving peers and clients until `stop`. */
export interface RunningNode {
  /** This node's id in the cluster (NodeConfig.id). */
  readonly id: NodeId;
  /** Derived from the cluster token and the member ids. */
  readonly clusterId: string;
  /** Where it listens (the port the OS picked, if 0 was asked for). */
  readonly address: Endpoint;
  /** Role, ballot, slots, digest and metrics, as `paxos status` shows them. */
  status(): NodeStatus;
  /** Graceful stop: stop listening, finish writing, release the data dir. */
  stop(): Promise<void>;
}

interface Waiter {
  link: ClientLink;
  requestId: number;
}

/** Starts a node: locks its data dir, recovers its log, listens, and begins ticking. */
export async function startNode(config: NodeConfig): Promise<RunningNode> {
  const log = config.log ?? silentLogger;
  const self = config.peers.get(config.id);
  if (self === undefined) throw new Error(`node ${config.id} is not in --peers (${[...config.peers.keys()].join(', ')})`);
  checkTickMs(config.tickMs ?? tickMsDefault);
  const clusterId = clusterIdFor(config.clusterToken ?? 'paxos', [...config.peers.keys()]);
  checkTransferLimits(config);
  const release = await lockDataDir(config.dataDir, {
    log: (message) => log.warn(message),
    onCompromised: (error) => config.onFatal?.(error),
  });
  try {
    await ensureIdentity(config.dataDir, { nodeId: config.id, clusterId, stateMachine: stateMachineIdentityFor(config) });
    // Under the lock, so no snapshot is being written: any temporary is a crash's leftover.
    for (const file of await removeStaleSnapshotTemporaries(config.dataDir)) {
      log.warn('removed a temporary file left by a crash mid-snapshot', { file: `snapshots/${file}` });
    }
    const latest = await readLatestSnapshot(config.dataDir);
    const metrics = new NodeMetrics();
    const opened = await WriteAheadLog.open(config.dataDir, {
      fsync: config.fsync ?? 'always',
      log: (level, message, fields) => log[level](message, fields),
      onFsync: (micros) => metrics.onFsync(micros),
    });
    if (config.unsafe?.ackBeforeFsync === true) makeWritesBehind(opened.wal, log);
    const snapshot = latest === null ? null : { ...latest.snapshot, bytes: latest.bytes };
    const runtime = new NodeRuntime(config, { clusterId, log, release, wal: opened.wal, metrics, records: opened.records.length, snapshot });
    const emptyDataDir = snapshot === null && opened.records.length === 0;
    const initialClusterState = config.initialClusterState ?? 'existing';
    if (initialClusterState === 'new') {
      if (emptyDataDir) log.info('empty data dir of a new cluster (--initial-cluster-state new): voting at once');
      else log.debug('--initial-cluster-state new ignored: the data dir holds state, which says what this node promised');
    }
    const core = new PaxosNode({
      id: config.id,
      members: [...config.peers.keys()],
      seed: seedFor(config.id),
      limits: checkedCoreLimits(config.coreLimits, frameOf(config)),
      recovered: recoverState(opened.records, snapshot?.slot ?? 0),
      // An empty data dir may be a replaced disk that forgot what it promised.
      rebuilding: rebuildsOnStart({ emptyDataDir, initialClusterState }),
    });
    return await runtime.start(core, config.listen ?? self);
  } catch (error) {
    await release();
    throw error;
  }
}

interface FrameRoom {
  /** This node's frame limit (--max-frame-bytes). */
  frameBytesMax: number;
  /** What a frame leaves for commands or values once its envelope is counted. */
  room: number;
}

function frameOf(config: NodeConfig): FrameRoom {
  const frameBytesMax = config.transportLimits?.frameBytesMax ?? defaultTransportLimits.frameBytesMax;
  return { frameBytesMax, room: frameBytesMax - commandEnvelopeBytesMax };
}

/**
 * The command limits, checked against each other and the frame limit at
 * start: a command the leader accepts must fit in a frame with its envelope.
 */
function checkedCommandLimits(
  config: NodeConfig,
  stateMachine: string,
): { clientsWaitingMax: number; sessionCommandsInFlightMax: number; commandBytesMax: number; valueBytesMax: number | null } {
  const { frameBytesMax, room: commandRoom } = frameOf(config);
  const commandBytesMax = config.commandBytesMax ?? Math.min(commandBytesMaxDefault, commandRoom);
  const positive = (name: string, value: number): number => {
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${value}`);
    return value;
  };
  positive('commandBytesMax (--command-bytes-max)', commandBytesMax);
  if (commandBytesMax > commandRoom) {
    throw new Error(`--command-bytes-max ${commandBytesMax} leaves no room in a frame of --max-frame-bytes ${frameBytesMax}: it must be at most ${commandRoom}`);
  }
  const builtin = stateMachine === builtinStateMachineIdentity && (config.stateMachine === undefined || config.stateMachine === createKeyValueStore);
  if (!builtin && config.valueBytesMax !== undefined) throw new Error('--value-bytes-max applies to the built-in key-value store only; a user state machine checks its own values');
  const valueLimit = builtin ? positive('valueBytesMax (--value-bytes-max)', config.valueBytesMax ?? valueBytesMax) : null;
  if (valueLimit !== null && valueLimit > valueBytesMax) {
    throw new Error(
      `--value-bytes-max ${valueLimit} is above the built-in store's ceiling of ${valueBytesMax} bytes, which every replica checks when it applies a command (it is part of builtin:kv@1) and so cannot be raised per node`,
    );
  }
  return {
    clientsWaitingMax: positive('clientsWaitingMax (--commands-waiting-max)', config.clientsWaitingMax ?? clientsWaitingMaxDefault),
    sessionCommandsInFlightMax: positive('sessionCommandsInFlightMax (--session-commands-in-flight)', config.sessionCommandsInFlightMax ?? sessionCommandsInFlightMaxDefault),
    commandBytesMax,
    valueBytesMax: valueLimit,
  };
}

/**
 * The core's batches must fit the wire's ceilings, or a peer would refuse them;
 * and its byte bounds must fit this node's frame limit. By default they share
 * a frame's room so that a promise (the window's accepted values and a batch
 * beyond it, plus a catch-up's worth of chosen ones) fits one frame too.
 */
function checkedCoreLimits(limits: Partial<CoreLimits> | undefined, { frameBytesMax, room }: FrameRoom): Partial<CoreLimits> {
  if ((limits?.batchCommandsMax ?? 0) > commandsPerValueMax) throw new Error(`batchCommandsMax must be at most ${commandsPerValueMax}`);
  if ((limits?.catchupSlotsMax ?? 0) > chosenEntriesMax) throw new Error(`catchupSlotsMax must be at most ${chosenEntriesMax}`);
  const quarter = Math.max(1, Math.floor(room / 4));
  const fitted: Partial<CoreLimits> = {
    batchBytesMax: Math.min(defaultCoreLimits.batchBytesMax, quarter),
    windowBytesMax: Math.min(defaultCoreLimits.windowBytesMax, 2 * quarter),
    catchupBytesMax: Math.min(defaultCoreLimits.catchupBytesMax, quarter),
    ...limits,
  };
  for (const name of ['batchBytesMax', 'catchupBytesMax'] as const) {
    if ((fitted[name] ?? 0) > room) throw new Error(`${name} ${fitted[name]} does not fit a frame of ${frameBytesMax} bytes (--max-frame-bytes)`);
  }
  return fitted;
}

/** A snapshot chunk must fit the wire's ceiling and this node's (and its peers') frame limit. */
function checkTransferLimits(config: NodeConfig): void {
  const chunkBytes = config.snapshotChunkBytes ?? snapshotChunkBytesDefault;
  const { frameBytesMax } = frameOf(config);
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > snapshotChunkBytesMax) {
    throw new Error(`the snapshot chunk size must be 1..${snapshotChunkBytesMax} bytes, got ${chunkBytes}`);
  }
  if (chunkBytes + snapshotChunkFrameOverheadBytes > frameBytesMax) {
    throw new Error(`a snapshot chunk of ${chunkBytes} bytes does not fit a ${frameBytesMax}-byte frame: lower the chunk size or raise the frame limit`);
  }
  const held = config.snapshotsHeldForTransfersMax ?? snapshotsHeldForTransfersMaxDefault;
  if (!Number.isSafeInteger(held) || held < 1) throw new Error(`snapshots held for transfers must be at least 1, got ${held}`);
  const hold = config.compactionHoldSlotsMax ?? compactionHoldSlotsMaxDefault;
  if (!Number.isSafeInteger(hold) || hold < 0) throw new Error(`the compaction hold must be 0 or more slots, got ${hold}`);
}

/** Election timeouts must differ between nodes and between restarts; the core's PRNG takes the seed. */
function seedFor(id: NodeId): number {
  return (Date.now() ^ (process.pid << 8) ^ id) >>> 0;
}

class NodeRuntime implements RunningNode {
  readonly id: NodeId;
  readonly clusterId: string;
  address: Endpoint = { host: '', port: 0 };
  private core!: PaxosNode;
  private transport!: Transport;
  private readonly log: Logger;
  private readonly wal: WriteAheadLog;
  private readonly release: ReleaseLock;
  private service: ReplicatedService;
  private readonly waiters = new Map<string, Waiter>();
  /** How many of the waiters belong to each client id (session). */
  private readonly waitingPerClient = new Map<string, number>();
  private readonly clientsWaitingMax: number;
  private readonly sessionCommandsInFlightMax: number;
  private readonly commandBytesMax: number;
  /** Checks a command before the leader proposes it (the built-in store's --value-bytes-max); null when it may go. */
  private readonly commandRefusal: (op: unknown) => string | null;
  private readonly stateMachineIdentity: string;
  /** Recent slots' outcome digests, for clients' votes (`paxos submit --verify`). */
  private readonly outcomes = new SlotOutcomes();
  private readonly metrics: NodeMetrics;
  private metricsServer: MetricsServer | null = null;
  private readonly startedAtMs = Date.now();
  private appliedDigest: string;
  /** The newest durable snapshot, kept in memory to serve transfers. */
  private heldSnapshot: HeldSnapshot | null;
  private snapshotting = false;
  /**
   * The slot of the last snapshot the state machine failed to take (its
   * snapshot() threw), so the next attempt waits a whole interval, like after
   * a success; 0 when the last attempt succeeded.
   */
  private snapshotFailedSlot: Slot = 0;
  /** The log's appended-bytes counter when the last snapshot was tried (see snapshotLogBytes). */
  private logBytesAtSnapshot = 0;
  /** A peer's snapshot this state machine could not restore is not fetched again before this time. */
  private snapshotFetchNotBeforeMs = 0;
  private transfer!: SnapshotTransfer;
  /** Non-null only under --enable-faults. */
  private faults: FaultInjector | null = null;
  /** Settles when the write in progress (and the messages waiting for it) is done. */
  private writeInProgress: Promise<void> = Promise.resolve();
  private flushScheduled = false;
  /** Records (and the messages that vouch for them) waiting for the write in progress. */
  private readonly writeQueue: { records: WalRecord[]; messages: PeerMessage[] }[] = [];
  private writing = false;
  private ticker: NodeJS.Timeout | null = null;
  private stopping: Promise<void> | null = null;
  private fatal: Error | null = null;

  constructor(
    private readonly config: NodeConfig,
    parts: {
      clusterId: string;
      log: Logger;
      release: ReleaseLock;
      wal: WriteAheadLog;
      /** Made before the log is opened, so that it is told of the log's fsyncs. */
      metrics: NodeMetrics;
      records: number;
      snapshot: (Snapshot & { bytes: Buffer }) | null;
    },
  ) {
    this.id = config.id;
    this.clusterId = parts.clusterId;
    this.log = parts.log;
    this.wal = parts.wal;
    this.metrics = parts.metrics;
    this.release = parts.release;
    const factory = config.stateMachine ?? createKeyValueStore;
    const snapshot = parts.snapshot;
    this.stateMachineIdentity = stateMachineIdentityFor(config);
    this.service = snapshot === null ? new ReplicatedService(factory()) : this.restoreOwnSnapshot(factory, snapshot);
    this.appliedDigest = snapshot?.appliedDigest ?? '';
    this.heldSnapshot = snapshot === null ? null : { slot: snapshot.slot, bytes: snapshot.bytes };
    const limits = checkedCommandLimits(config, this.stateMachineIdentity);
    this.clientsWaitingMax = limits.clientsWaitingMax;
    this.sessionCommandsInFlightMax = limits.sessionCommandsInFlightMax;
    this.commandBytesMax = limits.commandBytesMax;
    this.commandRefusal = limits.valueBytesMax === null ? () => null : (op) => storedValueRefusal(op, limits.valueBytesMax as number);
    this.log.info('recovered write-ahead log', { records: parts.records, snapshotSlot: snapshot?.slot ?? 0 });
  }

  /** This node's own latest snapshot; a state machine that cannot restore it stops start-up with a message that says so. */
  private restoreOwnSnapshot(factory: StateMachineFactory, snapshot: Snapshot): ReplicatedService {
    try {
      return ReplicatedService.fromSnapshot(factory, snapshot.state);
    } catch (thrown) {
      throw new Error(
        `state machine ${this.stateMachineIdentity} could not restore this node's own snapshot at slot ${snapshot.slot} in ${this.config.dataDir}: ` +
          `${describeThrown(thrown)}; start the node with the state machine that wrote it, or fix its restore()`,
      );
    }
  }

  async start(core: PaxosNode, listen: Endpoint): Promise<RunningNode> {
    this.core = core;
    const peers = new Map([...this.config.peers].filter(([id]) => id !== this.id));
    if (this.config.enableFaults === true) {
      this.log.warn('fault injection is on (--enable-faults): for local testing only');
      this.faults = new FaultInjector({ self: this.id, peers: [...peers.keys()], log: this.log });
    }
    if (this.config.unsafe?.localReads === true) this.log.warn('UNSAFE: --unsafe-local-reads: a leader answers get from local state');
    this.transport = new Transport({
      faults: this.faults ?? undefined,
      self: this.id,
      clusterId: this.clusterId,
      peers,
      listen,
      limits: { ...defaultTransportLimits, ...this.config.transportLimits },
      secret: this.config.secret ?? null,
      tls: this.config.tls ?? null,
      admission: checkAdmissionLimits({ ...defaultAdmissionLimits, ...this.config.admissionLimits }),
      log: this.log,
      stateMachine: this.stateMachineIdentity,
      onPeerMessage: (message) => this.onPeerMessage(message),
      onTransferMessage: (message) => this.transfer.onMessage(message),
      onClientRequest: (request, link) => this.onClientRequest(request, link),
    });
    this.address = await this.transport.listen();
    // Required client certificates authenticate clients as a secret does; peers are authenticated by either.
    const exposure = exposureWarning(listen, (this.config.secret ?? null) !== null || this.config.tls?.clientCerts === 'required');
    if (exposure !== null) this.log.warn(`SECURITY: ${exposure}`);
    if (this.config.metricsPort !== undefined) {
      this.metricsServer = await serveMetrics({ host: listen.host, port: this.config.metricsPort, status: () => this.status(), log: this.log })
        .catch((error: Error) => this.transport.close().then(() => Promise.reject(error)));
    }
    this.transfer = new SnapshotTransfer({
      self: this.id,
      chunkBytes: this.config.snapshotChunkBytes ?? snapshotChunkBytesDefault,
      idleMsMax: snapshotTransferIdleMsMax,
      snapshotBytesMax,
      snapshotsHeldForTransfersMax: this.config.snapshotsHeldForTransfersMax ?? snapshotsHeldForTransfersMaxDefault,
      compactionHoldSlotsMax: this.config.compactionHoldSlotsMax ?? compactionHoldSlotsMaxDefault,
      send: (message: TransferMessage) => this.transport.send([message]),
      latest: () => this.heldSnapshot,
      onComplete: (snapshot, bytes, from) => this.installSnapshot(snapshot, bytes, from),
      log: this.log,
    });
    const tickMs = this.config.tickMs ?? tickMsDefault;
    this.ticker = setInterval(() => {
      this.transfer.abandonIfIdle();
      this.input(() => this.core.tick());
    }, tickMs);
    this.flush(); // replays the recovered chosen log into the state machine
    const status = core.status();
    this.log.info('node started', {
      id: this.id,
      listen: `${this.address.host}:${this.address.port}`,
      cluster: this.clusterId,
      stateMachine: this.stateMachineIdentity,
      fsync: this.config.fsync ?? 'always',
      commitIndex: status.commitIndex,
      promised: ballotToString(status.promised),
    });
    return this;
  }

  status(): NodeStatus {
    const core: CoreStatus = this.core.status();
    return {
      id: this.id,
      address: `${this.address.host}:${this.address.port}`,
      role: core.role,
      rebuilding: core.rebuilding,
      leader: core.leader,
      ballot: ballotToString(core.ballot),
      promised: ballotToString(core.promised),
      commitIndex: core.commitIndex,
      lastChosen: core.lastChosen,
      lastApplied: this.service.lastAppliedSlot,
      appliedDigest: this.appliedDigest,
      walBytes: this.wal.sizeBytes(),
      lastSnapshot: this.heldSnapshot?.slot ?? 0,
      uptimeMs: Date.now() - this.startedAtMs,
      clusterId: this.clusterId,
      stateMachine: this.stateMachineIdentity,
      peers: this.transport.peerStatus().map((peer) => ({ id: peer.id, address: peer.address, connected: peer.connected })),
      metrics: this.metrics.report({ core, wal: this.wal.stats(), peers: this.transport.peerStatus() }),
    };
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    if (this.ticker !== null) clearInterval(this.ticker);
    this.failWaiters('shutting_down', 'the node is stopping; retry on another node');
    await this.metricsServer?.close();
    await this.transport.close();
    this.faults?.close();
    await this.writeInProgress.catch(() => undefined);
    await this.wal.close().catch((error: Error) => this.log.error('closing the log failed', { error: error.message }));
    await this.release();
    this.log.info('node stopped', { id: this.id });
  }

  // ---- inputs ------------------------------------------------------------

  private input(change: () => void): void {
    if (this.stopping !== null || this.fatal !== null) return;
    change();
    this.scheduleFlush();
  }

  private onPeerMessage(message: PeerMessage): void {
    // A peer catching up after a snapshot we sent: keep our log from where it is.
    if (message.type === 'chosen_request') this.transfer.onCatchupRequest(message.from, message.fromSlot);
    this.input(() => this.core.step(message));
  }

  private onClientRequest(request: ClientRequest, link: ClientLink): void {
    if (request.type === 'status') return link.reply({ type: 'status_reply', id: request.id, status: this.status() });
    if (request.type === 'fault') return link.reply(answerFault(this.faults, request));
    if (request.type === 'slot_outcome') return link.reply(this.outcomes.reply(request, this.service.lastAppliedSlot));
    this.submit(request, link);
  }

  private submit(request: SubmitRequest, link: ClientLink): void {
    const refuse = (code: string, message: string) =>
      link.reply({ type: 'error', id: request.id, code, message, indeterminate: false });
    if (this.stopping !== null || this.fatal !== null) return refuse('shutting_down', 'the node is stopping; retry on another node');
    const cached = this.service.cachedOutcome(request.client, request.seq);
    if (cached !== null) return this.answer({ link, requestId: request.id }, cached);
    if (this.config.unsafe?.localReads === true && this.core.currentRole === 'leader') {
      const local = readLocally(this.service, this.config.stateMachine ?? createKeyValueStore, request);
      if (local !== null) return this.answer({ link, requestId: request.id }, local);
    }
    const key = waiterKey(request.client, request.seq);
    const alreadyWaiting = this.waiters.has(key);
    if (!alreadyWaiting && this.waiters.size >= this.clientsWaitingMax) {
      return refuse('overloaded', `${this.clientsWaitingMax} commands are already waiting (--commands-waiting-max); retry later`);
    }
    const command: Command = { client: request.client, seq: request.seq, op: request.op };
    // On the leader, measured once: for the limit here and for the core's batch and window bounds.
    const bytes = this.core.currentRole === 'leader' ? commandBytes(command) : undefined;
    const refusal = bytes === undefined ? null : this.admission(request, alreadyWaiting, bytes);
    if (refusal !== null) return refuse(refusal.code, refusal.message);
    const outcome = this.core.propose(command, bytes);
    if (outcome.status === 'redirect') {
      const address = outcome.leader === null ? undefined : this.config.peers.get(outcome.leader);
      link.reply({
        type: 'redirect',
        id: request.id,
        leader: outcome.leader,
        address: address === undefined ? null : `${address.host}:${address.port}`,
      });
      return;
    }
    if (outcome.status === 'busy') return refuse('overloaded', `${outcome.pendingCommandsMax} commands are queued; retry later`);
    if (!alreadyWaiting) this.waitingPerClient.set(request.client, (this.waitingPerClient.get(request.client) ?? 0) + 1);
    this.waiters.set(key, { link, requestId: request.id });
    this.metrics.onCommandProposed(key);
    this.scheduleFlush();
  }

  /**
   * The leader's checks before it proposes: limits an operator sets per node.
   * They are safe to differ between nodes (unlike anything apply checks),
   * because a refused command never reaches the log.
   */
  private admission(request: SubmitRequest, alreadyWaiting: boolean, bytes: number): { code: string; message: string } | null {
    const waiting = this.waitingPerClient.get(request.client) ?? 0;
    if (!alreadyWaiting && waiting >= this.sessionCommandsInFlightMax) {
      return {
        code: 'session_busy',
        message:
          `client ${request.client} already has ${waiting} commands waiting for their slot (--session-commands-in-flight ${this.sessionCommandsInFlightMax}); ` +
          'this one was not proposed: wait for their answers (a session applies its commands in seq order)',
      };
    }
    if (bytes > this.commandBytesMax) {
      return { code: 'command_too_large', message: `the command is ${bytes} bytes, more than this node's limit of ${this.commandBytesMax} bytes (--command-bytes-max); it was not proposed` };
    }
    const valueRefusal = this.commandRefusal(request.op);
    return valueRefusal === null ? null : { code: 'value_too_large', message: valueRefusal };
  }

  // ---- acting on Ready ---------------------------------------------------

  /** Inputs that arrive in one turn of the event loop share one Ready. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * Acts on the core's Ready. Messages that vouch for nothing on disk (accepts,
   * heartbeats, catch-up; see needsDurableState) go out at once, and chosen
   * slots are applied at once (chosen means a majority made it durable). The
   * records, and the messages that vouch for them, join the write queue: one
   * write and one fsync covers every Ready that arrived during the previous
   * fsync (group commit), and those messages leave only after it.
   */
  private flush(): void {
    this.flushScheduled = false;
    // Messages to this node itself (a leader's accept to its own acceptor) are
    // stepped in at once; their effects go in a second round of the same flush,
    // so the leader's own accept record starts its fsync without waiting a turn.
    for (let round = 0; round < flushRoundsMax; round += 1) {
      if (this.fatal !== null) return;
      const ready = this.core.takeReady();
      if (isEmpty(ready)) return;
      const afterWrite: PeerMessage[] = [];
      const now: PeerMessage[] = [];
      for (const message of ready.messages) (needsDurableState(message) ? afterWrite : now).push(message);
      const steppedSelf = this.deliver(now);
      // The write goes before applying: a follower's fsync of this accept is on
      // the command's critical path, applying the slots it learned is not.
      if (ready.records.length > 0 || afterWrite.length > 0) {
        this.writeQueue.push({ records: ready.records, messages: afterWrite });
        this.writeNext();
      }
      this.applyChosen(ready);
      if (!steppedSelf) return;
    }
    this.scheduleFlush();
  }

  /** Writes everything queued as one append, then sends the messages that waited for it. */
  private writeNext(): void {
    if (this.writing || this.writeQueue.length === 0 || this.fatal !== null) return;
    const batch = this.writeQueue.splice(0);
    const records = batch.flatMap((entry) => entry.records);
    const messages = batch.flatMap((entry) => entry.messages);
    // Learned chosen values need not be durable before anything is sent (a
    // restarted node learns them again); promises and accepted values must be.
    const mustSync = records.some((record) => record.type !== 'chosen');
    if (!mustSync) {
      if (records.length > 0) this.wal.appendLazily(records).catch((error: Error) => this.die(error));
      this.deliver(messages);
      return;
    }
    this.writing = true;
    this.writeInProgress = this.wal
      .append(records)
      .then(() => {
        this.writing = false;
        this.deliver(messages);
        this.writeNext();
      })
      .catch((error: Error) => this.die(error));
  }

  /** Sends to peers; a message to this node itself is stepped in locally. Returns whether any was. */
  private deliver(messages: PeerMessage[]): boolean {
    if (messages.length === 0 || this.fatal !== null) return false;
    const remote: PeerMessage[] = [];
    let steppedSelf = false;
    for (const message of messages) {
      if (message.to === this.id) {
        this.core.step(message);
        steppedSelf = true;
      } else remote.push(message);
    }
    if (this.stopping === null) this.transport.send(remote);
    this.scheduleFlush();
    return steppedSelf;
  }

  private applyChosen(ready: Ready): void {
    for (const entry of ready.apply) {
      this.metrics.onSlotApplied(entry.value.commands.length);
      this.appliedDigest = chainDigest(this.appliedDigest, entry.slot, entry.value);
      for (const outcome of this.outcomes.record(entry.slot, this.service.applyValue(entry.slot, entry.value))) this.resolveWaiter(outcome);
    }
    for (const event of ready.events) this.onCoreEvent(event);
    if (ready.snapshotNeeded !== null && Date.now() >= this.snapshotFetchNotBeforeMs) this.transfer.fetch(ready.snapshotNeeded.from);
    this.maybeSnapshot();
    if (this.waiters.size > 0 && this.core.currentRole !== 'leader') {
      this.failWaiters('leader_changed', 'leadership changed before the command was chosen; retry');
    }
  }

  // ---- snapshots ---------------------------------------------------------

  /**
   * Every snapshotEvery applied slots, or snapshotLogBytes of log, whichever
   * comes first: write a snapshot durably, then let the core forget what it
   * covers and compact the log down to a checkpoint segment. A
   * state machine whose snapshot() throws does not stop the node (every replica
   * would throw at the same slot, and again on replay): that snapshot is
   * skipped, logged, and tried again an interval later; the log grows meanwhile.
   */
  private maybeSnapshot(): void {
    const every = this.config.snapshotEvery ?? snapshotEveryDefault;
    const slot = this.service.lastAppliedSlot;
    const since = Math.max(this.heldSnapshot?.slot ?? 0, this.snapshotFailedSlot);
    if (every === 0 || this.snapshotting || this.stopping !== null || slot === since) return;
    const logBytesMax = this.config.snapshotLogBytes ?? snapshotLogBytesDefault;
    const logBytes = this.wal.bytesWritten - this.logBytesAtSnapshot;
    if (slot - since < every && (logBytesMax === 0 || logBytes < logBytesMax)) return;
    this.logBytesAtSnapshot = this.wal.bytesWritten;
    let bytes: Buffer;
    try {
      bytes = encodeSnapshot({ slot, appliedDigest: this.appliedDigest, state: this.service.snapshot() });
    } catch (thrown) {
      return this.snapshotFailed(slot, every, thrown);
    }
    this.snapshotFailedSlot = 0;
    this.snapshotting = true;
    void this.persistSnapshot(slot, bytes)
      .then(() => this.compactLog(slot))
      .then(() => pruneSnapshots(this.config.dataDir))
      .then(() => this.log.info('took a snapshot and compacted the log', { slot, bytes: bytes.length, compactedTo: this.core.status().compactedTo, walBytes: this.wal.sizeBytes() }))
      .catch((error: Error) => this.die(error))
      .finally(() => {
        this.snapshotting = false;
      });
  }

  /**
   * Lets the core forget the slots up to the snapshot, except those a peer
   * fetching a snapshot from us, or catching up after one, still needs (see
   * SnapshotTransfer.compactionFloor): without them it would need another
   * snapshot, and a rebuilding node (which does not accept while it rebuilds)
   * might never close the gap while writes go on.
   */
  private async compactLog(snapshotSlot: Slot): Promise<void> {
    const floor = this.transfer.compactionFloor(snapshotSlot);
    if (floor <= this.core.status().compactedTo) return; // nothing more to forget yet
    await this.wal.checkpoint(this.core.compact(floor));
  }

  private snapshotFailed(slot: Slot, every: number, thrown: unknown): void {
    this.snapshotFailedSlot = slot;
    this.log.error(`state machine ${this.stateMachineIdentity} failed to take a snapshot at slot ${slot}; skipped it`, {
      stateMachine: this.stateMachineIdentity,
      slot,
      error: describeThrown(thrown),
      retryAtSlot: slot + every,
    });
    this.log.warn('the write-ahead log is not compacted until a snapshot succeeds, so it keeps growing (and so does restart time); fix the state machine\'s snapshot()', {
      walBytes: this.wal.sizeBytes(),
      lastSnapshot: this.heldSnapshot?.slot ?? 0,
    });
  }

  private async persistSnapshot(slot: Slot, bytes: Buffer): Promise<void> {
    await writeSnapshot(this.config.dataDir, slot, bytes);
    this.heldSnapshot = { slot, bytes };
  }

  /**
   * A peer's snapshot arrived whole. Check it, make it durable, jump the core to
   * it, and swap the state machine: every slot the old one was due to apply has
   * been applied (apply is synchronous with taking a Ready), and the core hands
   * out only slots after the snapshot from here on.
   */
  private async installSnapshot(snapshot: Snapshot, bytes: Buffer, from: NodeId): Promise<void> {
    if (this.stopping !== null || this.fatal !== null) return;
    let service: ReplicatedService;
    try {
      service = ReplicatedService.fromSnapshot(this.config.stateMachine ?? createKeyValueStore, snapshot.state);
    } catch (thrown) {
      // Asking again at once would fetch the same bytes and fail the same way, in a loop.
      this.snapshotFetchNotBeforeMs = Date.now() + snapshotRefetchMsMin;
      this.log.error(`state machine ${this.stateMachineIdentity} could not restore a snapshot from a peer; refused it, and this node stays behind until one restores`, {
        peer: from,
        stateMachine: this.stateMachineIdentity,
        slot: snapshot.slot,
        error: describeThrown(thrown),
        retryInMs: snapshotRefetchMsMin,
      });
      return;
    }
    if (snapshot.slot <= this.core.status().lastApplied) return;
    try {
      await this.persistSnapshot(snapshot.slot, bytes);
    } catch (error) {
      return this.die(error as Error);
    }
    const records = this.core.installSnapshot(snapshot.slot);
    if (records === null) return;
    // Every slot the old state machine was due to apply has been applied (apply is
    // synchronous with taking a Ready); from here on the core hands out slots after the snapshot.
    this.service = service;
    this.appliedDigest = snapshot.appliedDigest;
    this.log.info('installed a snapshot from a peer', { peer: from, slot: snapshot.slot, bytes: bytes.length });
    this.wal
      .checkpoint(records)
      .then(() => pruneSnapshots(this.config.dataDir))
      .catch((error: Error) => this.die(error));
    this.scheduleFlush();
  }

  private resolveWaiter(outcome: CommandOutcome): void {
    const key = waiterKey(outcome.client, outcome.seq);
    const waiter = this.waiters.get(key);
    if (waiter === undefined) return;
    this.waiters.delete(key);
    const waiting = (this.waitingPerClient.get(outcome.client) ?? 1) - 1;
    if (waiting <= 0) this.waitingPerClient.delete(outcome.client);
    else this.waitingPerClient.set(outcome.client, waiting);
    this.metrics.onCommandApplied(key);
    this.answer(waiter, outcome);
  }

  private answer(waiter: Waiter, outcome: CommandOutcome): void {
    if (outcome.ok) waiter.link.reply({ type: 'result', id: waiter.requestId, slot: outcome.slot, result: outcome.result });
    else waiter.link.reply({ type: 'refused', id: waiter.requestId, slot: outcome.slot, error: outcome.error });
  }

  /** Commands proposed but not yet applied may still be chosen: the client must retry with the same seq. */
  private failWaiters(code: string, message: string): void {
    for (const waiter of this.waiters.values()) {
      waiter.link.reply({ type: 'error', id: waiter.requestId, code, message, indeterminate: true });
    }
    this.waiters.clear();
    this.waitingPerClient.clear();
    this.metrics.onCommandsAbandoned();
  }

  private onCoreEvent(event: CoreEvent): void {
    this.metrics.onCoreEvent(event);
    if (event.kind === 'leader') this.log.info('became leader', { ballot: ballotToString(event.ballot) });
    if (event.kind === 'candidate') this.log.info('starting phase 1', { ballot: ballotToString(event.ballot) });
    if (event.kind === 'preempted') {
      this.log.info('preempted by a higher ballot', { ballot: ballotToString(event.ballot), by: ballotToString(event.by) });
    }
    if (event.kind === 'follower') this.log.info('following', { leader: event.leader, promised: ballotToString(event.ballot) });
    if (event.kind === 'rebuilding') {
      this.log.warn(
        'empty data dir: not voting until a majority of the other nodes answer (a replaced disk may have forgotten promises); ' +
          'for the first start of a brand-new cluster use --initial-cluster-state new',
        { peersNeeded: event.peersNeeded },
      );
    }
    if (event.kind === 'rebuilt') {
      this.log.info('rebuilt: voting again', { promised: ballotToString(event.promised), commitIndex: event.commitIndex });
    }
  }

  /** A failed fsync or lost lock: stop serving at once; nothing more may be acknowledged. */
  private die(error: Error): void {
    if (this.fatal !== null) return;
    this.fatal = error;
    this.log.error('node cannot go on', { error: error.message });
    if (this.ticker !== null) clearInterval(this.ticker);
    this.failWaiters('node_failed', error.message);
    this.config.onFatal?.(error);
  }
}

function isEmpty(ready: Ready): boolean {
  const items = ready.records.length + ready.messages.length + ready.apply.length + ready.events.length;
  return items === 0 && ready.snapshotNeeded === null;
}

function chainDigest(previous: string, slot: Slot, value: Value): string {
  return createHash('sha256').update(`${previous}/${slot}/${JSON.stringify(value)}`).digest('hex').slice(0, 32);
}

function waiterKey(client: string, seq: number): string {
  return `${client}\u0000${seq}`;
}
