// The runtime: wires the driver (src/node/driver) to the real world. It locks
// the data dir, checks its identity, opens the write-ahead log, rebuilds the
// core from it, and gives the driver the real disk (WalDisk), the transport's
// sockets and the event loop; it owns the ticker, the metrics endpoint and
// fault injection, and answers status requests. Every decision about when a
// record is durable and a message may leave is the driver's, which the
// simulation runs too.
import { bootstrapModeFor, PaxosNode, recoverState, type CoreStatus, type InitialClusterState, type RecoveredState } from '../core/node.js';
import { ballotToString, type NodeId, type Slot, type WalRecord } from '../core/messages.js';
import type { CoreLimits } from '../core/limits.js';
import { WriteAheadLog, type FsyncPolicy } from '../storage/wal.js';
import { lockDataDir, type ReleaseLock } from '../storage/lock.js';
import { clusterIdFor, ensureIdentity, markLogPresent, readIdentity, restoredBase, type RestoredFrom } from '../storage/identity.js';
import { logLostWarning } from '../storage/log-mark.js';
import { listSnapshots, pruneSnapshots, readLatestSnapshot, removeStaleSnapshotTemporaries, snapshotBytesMax, writeSnapshot, type Snapshot } from '../storage/snapshot.js';
import { createKeyValueStore } from '../statemachine/kv.js';
import type { StateMachineFactory } from '../statemachine/types.js';
import { stateMachineIdentityFor } from '../statemachine/loader.js';
import { NodeDriver } from '../driver/driver.js';
import type { ClientLink, DriverClock, DriverDisk, Done } from '../driver/ports.js';
import type { ClientRequest, NodeStatus } from '../../wire/protocol.js';
import { snapshotChunkBytesMax } from '../../wire/validate.js';
import { builtinStateMachineIdentity } from '../../wire/protocol.js';
import type { valueBytesMax } from '../statemachine/verbs.js';
import { defaultTransportLimits, Transport, type Endpoint, type TransportLimits } from './transport.js';
import { checkAdmissionLimits, defaultAdmissionLimits, exposureWarning, type AdmissionLimits } from './admission.js';
import { silentLogger, type Logger } from './log.js';
import { NodeMetrics } from './metrics.js';
import { serveMetrics, type MetricsServer } from './metrics-http.js';
import { answerFault, FaultInjector } from './faults.js';
import { makeWritesBehind, type UnsafeModes } from './unsafe.js';
import { decideMemberChange } from './members.js';
import { parseEndpoint } from './config.js';
import type { CoreEvent } from '../core/messages.js';
import type { LeaderTransferRequest, MemberRequest } from '../../wire/protocol.js';
import type { NodeTls } from './tls.js';
import {
  clientsWaitingMaxDefault,
  commandBytesMaxDefault,
  compactionHoldSlotsMaxDefault,
  resolveNodeConfig,
  sessionCommandsInFlightMaxDefault,
  snapshotChunkBytesDefault,
  snapshotEveryDefault,
  snapshotLogBytesDefault,
  snapshotsHeldForTransfersMaxDefault,
  tickMsDefault,
  type ResolvedNodeConfig,
} from '../config.js';

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
  /**
   * Under `fsync: 'batch'`: how long the first durable append of a batch waits
   * for more to share its fsync (0..50 ms, default 1). See ../config.ts.
   */
  fsyncBatchLingerMs?: number;
  /** Under `fsync: 'batch'`: bytes queued that end that wait at once (default 1 MiB). */
  fsyncBatchBytesMax?: number;
  /** A write-ahead log segment is closed once it holds this many bytes (default 64 MiB). */
  walSegmentBytesMax?: number;
  /** Names the cluster together with the member ids; a data dir never joins another cluster. */
  clusterToken?: string;
  /**
   * The cluster id, when joining a running cluster (`node start --join` learns
   * it from a member); otherwise derived from the cluster token and --peers' ids.
   */
  clusterId?: string;
  /**
   * For a data dir that belongs to no cluster yet (bootstrapModeFor): absent,
   * it founds one once every peer answers and is fresh; `new` lets a majority
   * found it; `existing` only joins. In every case a peer that belongs to a
   * cluster is joined. Ignored once the data dir belongs to a cluster.
   */
  initialClusterState?: InitialClusterState;
  /** As leader, replace a wiped member's old incarnation by its new one once caught up (default true). */
  autoReplace?: boolean;
  /** The membership window W a founded cluster gets (default 256); every founder must be given the same. */
  membershipWindow?: number;
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
   * Commands one session may have waiting for their slot (at most the session
   * window, 64); beyond it the leader refuses the next with `session_busy`,
   * not proposed. Default {@link sessionCommandsInFlightMaxDefault}.
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

// Every default and bound lives in the table of ../config.ts; re-exported for the callers that import them from here.
export {
  clientsWaitingMaxDefault,
  commandBytesMaxDefault,
  commandEnvelopeBytesMax,
  compactionHoldSlotsMaxDefault,
  sessionCommandsInFlightMaxDefault,
  snapshotChunkBytesDefault,
  snapshotEveryDefault,
  snapshotLogBytesDefault,
  snapshotsHeldForTransfersMaxDefault,
  tickMsDefault,
} from '../config.js';
/** A snapshot transfer that hears nothing for this long is abandoned and asked for again. */
export const snapshotTransferIdleMsMax = 5_000;
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

/** Starts a node: locks its data dir, recovers its log, listens, and begins ticking. */
export async function startNode(config: NodeConfig): Promise<RunningNode> {
  const log = config.log ?? silentLogger;
  const self = config.peers.get(config.id);
  if (self === undefined) throw new Error(`node ${config.id} is not in --peers (${[...config.peers.keys()].join(', ')})`);
  // First, before anything is touched: every limit filled in and checked (NodeConfigError).
  const resolved = resolveNodeConfig({ ...config, builtinStateMachine: isBuiltinStore(config) });
  config = withResolved(config, resolved);
  const release = await lockDataDir(config.dataDir, {
    log: (message) => log.warn(message),
    onCompromised: (error) => config.onFatal?.(error),
  });
  try {
    // A dir seeded by `paxos snapshot restore` holds its new cluster's id (possibly the backup's, kept on purpose).
    const existing = await readIdentity(config.dataDir);
    const restoredFrom = existing?.restoredFrom;
    if (existing === null) await refuseSnapshotsWithoutIdentity(config.dataDir);
    const clusterId = existing !== null && restoredFrom !== undefined ? existing.clusterId : (config.clusterId ?? clusterIdFor(config.clusterToken ?? 'paxos', [...config.peers.keys()]));
    const initialClusterState = config.initialClusterState;
    const ensured = await ensureIdentity(config.dataDir, { nodeId: config.id, clusterId, stateMachine: stateMachineIdentityFor(config) });
    const incarnation = ensured.identity.incarnation;
    if (incarnation === undefined) throw new Error(`data dir ${config.dataDir} has no incarnation in its identity file`);
    if (ensured.logLost !== null) log.warn(logLostWarning(ensured.logLost), { lostIncarnation: ensured.logLost, incarnation, dataDir: config.dataDir });
    // Under the lock, so no snapshot is being written: any temporary is a crash's leftover.
    for (const file of await removeStaleSnapshotTemporaries(config.dataDir)) {
      log.warn('removed a temporary file left by a crash mid-snapshot', { file: `snapshots/${file}` });
    }
    const latest = await readLatestSnapshot(config.dataDir);
    const metrics = new NodeMetrics();
    const opened = await WriteAheadLog.open(config.dataDir, {
      fsync: resolved.fsync,
      batchLingerMs: resolved.fsyncBatchLingerMs,
      batchBytesMax: resolved.fsyncBatchBytesMax,
      segmentBytesMax: resolved.walSegmentBytesMax,
      log: (level, message, fields) => log[level](message, fields),
      onFsync: (micros) => metrics.onFsync(micros),
    });
    // The log's first segment is durable now; mark the incarnation as having a log before anything is sent (log-mark.ts).
    await markLogPresent(config.dataDir, ensured.identity).catch(async (error: unknown) => {
      await opened.wal.close().catch(() => undefined);
      throw error;
    });
    if (config.unsafe?.ackBeforeFsync === true) makeWritesBehind(opened.wal, log);
    const snapshot = latest === null ? null : { ...latest.snapshot, bytes: latest.bytes };
    const runtime = new NodeRuntime(config, { clusterId, log, release, wal: opened.wal, metrics, records: opened.records.length });
    const recovered = recoverState(opened.records, snapshot?.slot ?? 0, snapshot?.membership ?? null);
    // What a node still founding a cluster writes (bootstrap views; old rebuild marks) holds no vote.
    const holdsVotes = opened.records.some((record) => record.type !== 'rebuild' && record.type !== 'bootstrap_view');
    try {
      checkRecoveredState(config, { recovered, snapshotSlot: snapshot?.slot ?? null, holdsVotes, restoredFrom });
    } catch (error) {
      await opened.wal.close().catch(() => undefined);
      throw error;
    }
    // A data dir that lost its log belonged to a cluster: it only joins, never founds another (with
    // --initial-cluster-state new, it and one wiped founder would otherwise found a second cluster).
    const bootstrapMode = ensured.identity.replacedAfterLogLoss !== undefined ? 'join' : bootstrapModeFor(initialClusterState);
    if (recovered.membership === null) {
      log.info('this data dir belongs to no cluster yet: asking the --peers nodes', { incarnation, mode: bootstrapMode });
    } else if (initialClusterState !== undefined) log.debug('--initial-cluster-state ignored: the data dir belongs to a cluster');
    const core = new PaxosNode({
      id: config.id,
      incarnation,
      seed: seedFor(config.id),
      limits: resolved.coreLimits,
      recovered,
      bootstrap: { mode: bootstrapMode, peers: [...config.peers.keys()], window: config.membershipWindow, ...(restoredFrom === undefined ? {} : { base: restoredBase(restoredFrom) }) },
      autoReplace: config.autoReplace ?? true,
    });
    return await runtime.start(core, snapshot, config.listen ?? self);
  } catch (error) {
    await release();
    throw error;
  }
}

/**
 * What start-up refuses once the log is read: a restored dir whose restore did
 * not finish, or that is started with other ids than restore was given, or
 * with --join; and promises or a snapshot with no membership (an old version).
 */
function checkRecoveredState(
  config: NodeConfig,
  state: { recovered: RecoveredState; snapshotSlot: Slot | null; holdsVotes: boolean; restoredFrom: RestoredFrom | undefined },
): void {
  const { recovered, snapshotSlot, holdsVotes, restoredFrom } = state;
  const restoredBaseSnapshot = restoredFrom !== undefined && recovered.membership === null && snapshotSlot === restoredFrom.slot && !holdsVotes;
  if (restoredFrom !== undefined && recovered.membership === null && !restoredBaseSnapshot) {
    throw new Error(
      `data dir ${config.dataDir} was restored from a backup at slot ${restoredFrom.slot}, but its snapshot of that slot is ${snapshotSlot === null ? 'missing' : `replaced by one at ${snapshotSlot}`}: ` +
        'the restore did not finish, or the dir lost its log and snapshots since. Delete the dir: started on an empty dir the node joins its cluster as a new member ' +
        '(if the cluster was never founded, run paxos snapshot restore into it again instead)',
    );
  }
  // Until founded, only with the ids restore was given (founders that disagreed would found two clusters); later, membership changes rule.
  if (restoredBaseSnapshot) checkRestoredPeers(config, restoredFrom);
  if (restoredBaseSnapshot && config.initialClusterState === 'existing') {
    throw new Error(
      `data dir ${config.dataDir} was restored from a backup: it founds a new cluster with the other dirs restored from the same file, and never joins a running one; ` +
        'start it with the --peers given to paxos snapshot restore (no --join), or start a node that should join on an empty --data-dir',
    );
  }
  if (recovered.membership === null && !restoredBaseSnapshot && (snapshotSlot !== null || holdsVotes)) {
    // Promises or accepted values with no membership: written by a version before membership was replicated.
    throw new Error(
      `data dir ${config.dataDir} holds a log written before membership was replicated (no membership record); ` +
        'this version cannot tell whose votes it counted (and replays unregistered client commands differently). Keep running the version that wrote it, or start this version on empty data dirs and load the data again',
    );
  }
}

/**
 * A node writes identity.json before anything else, so snapshots without it are
 * a restore (which writes the identity last) that was cut short, or a copy.
 * Refused before ensureIdentity would give the dir a fresh identity.
 */
async function refuseSnapshotsWithoutIdentity(dataDir: string): Promise<void> {
  const snapshots = await listSnapshots(dataDir);
  if (snapshots.length === 0) return;
  throw new Error(
    `data dir ${dataDir} holds snapshots (${snapshots.map((s) => s.file).join(', ')}) but no identity.json: a paxos snapshot restore that was interrupted, or a copy; ` +
      'delete the dir and run paxos snapshot restore again, or start this node on an empty --data-dir',
  );
}

/**
 * A restored dir founds its cluster with exactly the node ids restore was given:
 * founders that disagreed on them would each found another cluster.
 */
function checkRestoredPeers(config: NodeConfig, restored: RestoredFrom | undefined): void {
  if (restored === undefined) return;
  const key = (ids: Iterable<number>) => [...ids].sort((a, b) => a - b).join(',');
  if (key(config.peers.keys()) === key(restored.peers)) return;
  throw new Error(
    `data dir ${config.dataDir} was restored for a cluster of nodes ${key(restored.peers)}, but this node was started with --peers naming ${key(config.peers.keys())}; ` +
      'start every restored node with the --peers given to paxos snapshot restore (later changes go through paxos member add/remove)',
  );
}

/** Whether the node replicates the built-in key-value store (which --value-bytes-max is for). */
function isBuiltinStore(config: NodeConfig): boolean {
  const factory = config.stateMachine;
  return stateMachineIdentityFor(config) === builtinStateMachineIdentity && (factory === undefined || factory === createKeyValueStore);
}

/** The config with every limit as resolved, so that what reads it later finds no field left to default. */
function withResolved(config: NodeConfig, resolved: ResolvedNodeConfig): NodeConfig {
  const { valueBytesMax: valueLimit, ...limits } = resolved;
  return { ...config, ...limits, valueBytesMax: valueLimit ?? undefined };
}

/** The command limits of a resolved config; valueBytesMax is null for a user state machine. */
function commandLimitsOf(config: NodeConfig): { clientsWaitingMax: number; sessionCommandsInFlightMax: number; commandBytesMax: number; valueBytesMax: number | null } {
  return {
    clientsWaitingMax: config.clientsWaitingMax ?? clientsWaitingMaxDefault,
    sessionCommandsInFlightMax: config.sessionCommandsInFlightMax ?? sessionCommandsInFlightMaxDefault,
    commandBytesMax: config.commandBytesMax ?? commandBytesMaxDefault,
    valueBytesMax: config.valueBytesMax ?? null,
  };
}

/** Election timeouts must differ between nodes and between restarts; the core's PRNG takes the seed. */
function seedFor(id: NodeId): number {
  return (Date.now() ^ (process.pid << 8) ^ id) >>> 0;
}

/** The driver's disk, on the real write-ahead log and snapshot files. */
class WalDisk implements DriverDisk {
  constructor(
    private readonly wal: WriteAheadLog,
    private readonly dataDir: string,
  ) {}

  append(records: WalRecord[], sync: boolean, done: Done): void {
    (sync ? this.wal.append(records) : this.wal.appendLazily(records)).then(() => done(null), (error: Error) => done(error));
  }

  writeSnapshot(slot: Slot, bytes: Uint8Array, _origin: 'took' | 'installed', done: Done): void {
    // Older snapshots go once the new one is durable: the log since the newest covers the rest.
    writeSnapshot(this.dataDir, slot, bytes)
      .then(() => pruneSnapshots(this.dataDir))
      .then(() => done(null), (error: Error) => done(error));
  }

  checkpoint(records: WalRecord[], done: Done): void {
    this.wal.checkpoint(records).then(() => done(null), (error: Error) => done(error));
  }

  get bytesWritten(): number {
    return this.wal.bytesWritten;
  }

  get gathersAppends(): boolean {
    return this.wal.gathersAppends;
  }
}

/** The event loop as the driver's clock: one setImmediate later, every input of this turn shares one Ready. */
const eventLoopClock: DriverClock = { nowMs: () => Date.now(), defer: (work) => setImmediate(work) };

class NodeRuntime implements RunningNode {
  readonly id: NodeId;
  readonly clusterId: string;
  address: Endpoint = { host: '', port: 0 };
  private core!: PaxosNode;
  private driver!: NodeDriver;
  private transport!: Transport;
  private readonly log: Logger;
  /** Each member's address as the configuration last named it, to tell a move from a view that differs (see dialNewMembers). */
  private readonly configuredAddresses = new Map<NodeId, string>();
  private addressesChecked = false;
  private readonly wal: WriteAheadLog;
  private readonly release: ReleaseLock;
  private readonly stateMachineIdentity: string;
  private readonly metrics: NodeMetrics;
  private metricsServer: MetricsServer | null = null;
  private readonly startedAtMs = Date.now();
  /** Non-null only under --enable-faults. */
  private faults: FaultInjector | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private stopping: Promise<void> | null = null;

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
    },
  ) {
    this.id = config.id;
    this.clusterId = parts.clusterId;
    this.log = parts.log;
    this.wal = parts.wal;
    this.metrics = parts.metrics;
    this.release = parts.release;
    this.stateMachineIdentity = stateMachineIdentityFor(config);
    this.log.info('recovered write-ahead log', { records: parts.records });
  }

  async start(core: PaxosNode, snapshot: (Snapshot & { bytes: Buffer }) | null, listen: Endpoint): Promise<RunningNode> {
    this.core = core;
    const peers = new Map([...this.config.peers].filter(([id]) => id !== this.id));
    if (this.config.enableFaults === true) {
      this.log.warn('fault injection is on (--enable-faults): for local testing only');
      this.faults = new FaultInjector({ self: this.id, peers: [...peers.keys()], log: this.log });
    }
    if (this.config.unsafe?.localReads === true) this.log.warn('UNSAFE: --unsafe-local-reads: a leader answers get from local state');
    const limits = commandLimitsOf(this.config);
    this.driver = new NodeDriver({
      id: this.id,
      core,
      disk: new WalDisk(this.wal, this.config.dataDir),
      network: { send: (messages) => this.transport.send(messages) },
      clock: eventLoopClock,
      log: this.log,
      stateMachine: this.config.stateMachine ?? createKeyValueStore,
      stateMachineIdentity: this.stateMachineIdentity,
      snapshot: snapshot === null ? null : { ...snapshot, state: snapshot.state, bytes: snapshot.bytes },
      limits: {
        snapshotEvery: this.config.snapshotEvery ?? snapshotEveryDefault,
        snapshotLogBytes: this.config.snapshotLogBytes ?? snapshotLogBytesDefault,
        clientsWaitingMax: limits.clientsWaitingMax,
        sessionCommandsInFlightMax: limits.sessionCommandsInFlightMax,
        commandBytesMax: limits.commandBytesMax,
        valueBytesMax: limits.valueBytesMax,
        snapshotChunkBytes: this.config.snapshotChunkBytes ?? snapshotChunkBytesDefault,
        snapshotTransferIdleMsMax,
        snapshotBytesMax,
        snapshotsHeldForTransfersMax: this.config.snapshotsHeldForTransfersMax ?? snapshotsHeldForTransfersMaxDefault,
        compactionHoldSlotsMax: this.config.compactionHoldSlotsMax ?? compactionHoldSlotsMaxDefault,
        snapshotRefetchMsMin,
      },
      addressOf: (id) => {
        const address = this.config.peers.get(id);
        return address === undefined ? null : `${address.host}:${address.port}`;
      },
      // The metrics, and a membership change that names a new member's address: dial it.
      observer: new Proxy(this.metrics, {
        get: (target, property, receiver) => {
          if (property === 'onCoreEvent') return (event: CoreEvent) => this.onCoreEvent(event);
          const value = Reflect.get(target, property, receiver) as unknown;
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      }),
      onFatal: (error) => this.die(error),
      sabotage: { localReads: this.config.unsafe?.localReads === true },
    });
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
      onPeerMessage: (message) => this.driver.onPeerMessage(message),
      onTransferMessage: (message) => this.driver.onTransferMessage(message),
      onClientRequest: (request, link) => this.onClientRequest(request, link),
    });
    this.address = await this.transport.listen();
    this.dialNewMembers();
    // Required client certificates authenticate clients as a secret does; peers are authenticated by either.
    const exposure = exposureWarning(listen, (this.config.secret ?? null) !== null || this.config.tls?.clientCerts === 'required');
    if (exposure !== null) this.log.warn(`SECURITY: ${exposure}`);
    if (this.config.metricsPort !== undefined) {
      this.metricsServer = await serveMetrics({ host: listen.host, port: this.config.metricsPort, status: () => this.status(), log: this.log })
        .catch((error: Error) => this.transport.close().then(() => Promise.reject(error)));
    }
    const tickMs = this.config.tickMs ?? tickMsDefault;
    this.ticker = setInterval(() => this.driver.tick(), tickMs);
    this.driver.start(); // replays the recovered chosen log into the state machine
    const status = core.status();
    this.log.info('node started', {
      id: this.id,
      listen: `${this.address.host}:${this.address.port}`,
      cluster: this.clusterId,
      stateMachine: this.stateMachineIdentity,
      fsync: this.config.fsync ?? 'always',
      commitIndex: status.commitIndex,
      promised: ballotToString(status.promised),
      snapshotSlot: snapshot?.slot ?? 0,
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
      member: core.member,
      incarnation: core.incarnation,
      changePending: core.changePending,
      ...(core.configuration === null
        ? {}
        : {
            configuration: {
              fromSlot: core.configuration.fromSlot,
              voters: core.configuration.voters.map((m) => ({ id: m.id, incarnation: m.incarnation, address: m.address ?? this.addressOf(m.id) })),
              learners: core.configuration.learners.map((m) => ({ id: m.id, incarnation: m.incarnation, address: m.address ?? this.addressOf(m.id) })),
            },
          }),
      ...(core.role === 'leader'
        ? { progress: [...this.core.peerProgress()].map(([id, p]) => ({ id, incarnation: p.incarnation, commitIndex: p.commitIndex, agoMs: Math.max(0, (core.tick - p.atTick) * (this.config.tickMs ?? tickMsDefault)) })) }
        : {}),
      leader: core.leader,
      ballot: ballotToString(core.ballot),
      promised: ballotToString(core.promised),
      commitIndex: core.commitIndex,
      lastChosen: core.lastChosen,
      lastApplied: this.driver.lastApplied,
      appliedDigest: this.driver.appliedDigest,
      walBytes: this.wal.sizeBytes(),
      lastSnapshot: this.driver.lastSnapshotSlot,
      uptimeMs: Date.now() - this.startedAtMs,
      clusterId: this.clusterId,
      stateMachine: this.stateMachineIdentity,
      peers: this.transport.peerStatus().map((peer) => ({ id: peer.id, address: peer.address, connected: peer.connected })),
      metrics: this.metrics.report({ core, wal: this.wal.stats(), peers: this.transport.peerStatus() }),
    };
  }

  private onCoreEvent(event: CoreEvent): void {
    this.metrics.onCoreEvent?.(event);
    if (event.kind === 'membership' || event.kind === 'joined' || event.kind === 'founded') this.dialNewMembers();
  }

  /**
   * Dials the members at the addresses the configuration names. Members this
   * node's --peers does not name are dialled at once. For the others, --peers
   * wins at start: a test's or the chaos script's per-node view may name a proxy.
   * A disagreement is logged once. But a later change of a member's address in
   * the configuration (`member replace --address`, the machine moved) is followed.
   */
  private dialNewMembers(): void {
    if (this.transport === undefined) return;
    const members = this.core.knownMembers();
    if (members.length === 0) return; // not in a cluster yet: the first look comes with founding or joining
    const atStart = !this.addressesChecked;
    this.addressesChecked = true;
    for (const member of members) {
      if (member.id === this.id) continue;
      const seen = this.configuredAddresses.get(member.id);
      // '' for a founder, whose address the configuration leaves to each node's --peers.
      this.configuredAddresses.set(member.id, member.address ?? '');
      if (member.address === undefined) continue;
      const named = this.config.peers.get(member.id);
      if (named !== undefined) {
        const dialled = `${named.host}:${named.port}`;
        if (dialled === member.address || seen === member.address) continue;
        if (atStart) {
          this.log.warn(`--peers names node ${member.id} at ${dialled}, the configuration at ${member.address}: dialling ${dialled} (if node ${member.id} moved, update --peers)`, { member: member.id });
          continue;
        }
      }
      let endpoint: Endpoint;
      try {
        endpoint = parseEndpoint(member.address);
      } catch {
        this.log.warn('a member\'s address cannot be dialled', { member: member.id, address: member.address });
        continue;
      }
      this.config.peers.set(member.id, endpoint); // for redirects and status too
      this.transport.movePeer(member.id, endpoint);
      const why = named === undefined ? 'dialling a new member' : `node ${member.id} is named at a new address: dialling it there`;
      this.log.info(why, { member: member.id, address: member.address });
    }
  }

  /** `paxos member ...` on this node: only the leader proposes a change. */
  private onMemberRequest(request: MemberRequest, link: ClientLink): void {
    const core = this.core.status();
    const reply = (status: 'queued' | 'refused' | 'redirect', message: string, leader: NodeId | null = core.leader) => {
      const address = leader === null ? null : leader === this.id ? `${this.address.host}:${this.address.port}` : (this.config.peers.get(leader) ?? null);
      link.reply({ type: 'member_reply', id: request.id, status, message, leader, address: address === null ? null : typeof address === 'string' ? address : `${address.host}:${address.port}` });
    };
    if (core.role !== 'leader') return reply('redirect', core.leader === null ? 'no leader is known here' : `node ${core.leader} leads`);
    const limits = this.core.limits;
    const decision = decideMemberChange(request, {
      self: this.id,
      status: core,
      progress: this.core.peerProgress(),
      aliveTicks: limits.electionTimeoutTicksMax * 2,
      caughtUpSlots: limits.catchupSlotsMax,
    });
    if ('refused' in decision) return reply('refused', decision.refused);
    const outcome = this.driver.changeMembership(decision.change);
    if (outcome.status === 'queued') return reply('queued', 'proposed');
    if (outcome.status === 'refused') return reply('refused', outcome.reason);
    return reply('redirect', 'leadership moved', outcome.leader);
  }

  /** `paxos leader transfer`: answered when the target leads or the transfer failed (the core bounds it by an election timeout). */
  private onLeaderTransfer(request: LeaderTransferRequest, link: ClientLink): void {
    const none = { code: null, message: '', certain: true, from: null, to: null, ballot: null, leader: null, address: null };
    this.driver.transferLeadership(request.to, (result) => {
      if (result.status === 'done') {
        const message = result.from === result.to ? `node ${result.to} already leads` : `node ${result.to} leads at ballot ${result.ballot} (was node ${result.from})`;
        return link.reply({ type: 'leader_transfer_reply', id: request.id, ...none, status: 'done', message, from: result.from, to: result.to, ballot: result.ballot, leader: result.to, address: this.addressOf(result.to) });
      }
      if (result.status === 'redirect') {
        const message = result.leader === null ? 'no leader is known here' : `node ${result.leader} leads`;
        return link.reply({ type: 'leader_transfer_reply', id: request.id, ...none, status: 'redirect', message, leader: result.leader, address: result.address });
      }
      link.reply({ type: 'leader_transfer_reply', id: request.id, ...none, status: 'failed', code: result.code, message: result.message, certain: result.certain, to: request.to });
    });
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    if (this.ticker !== null) clearInterval(this.ticker);
    this.driver.stop();
    await this.metricsServer?.close();
    await this.transport.close();
    this.faults?.close();
    await this.driver.writesSettled();
    await this.wal.close().catch((error: Error) => this.log.error('closing the log failed', { error: error.message }));
    await this.release();
    this.log.info('node stopped', { id: this.id });
  }

  private onClientRequest(request: ClientRequest, link: ClientLink): void {
    if (request.type === 'status') return link.reply({ type: 'status_reply', id: request.id, status: this.status() });
    if (request.type === 'fault') return link.reply(answerFault(this.faults, request));
    if (request.type === 'slot_outcome') return link.reply(this.driver.slotOutcome(request));
    if (request.type === 'member') return this.onMemberRequest(request, link);
    if (request.type === 'leader_transfer') return this.onLeaderTransfer(request, link);
    if (this.stopping !== null) {
      return link.reply({ type: 'error', id: request.id, code: 'shutting_down', message: 'the node is stopping; retry on another node', indeterminate: false });
    }
    if (request.type === 'query') return this.driver.query(request, link);
    if (request.type === 'snapshot_fetch') return this.driver.snapshotFetch(request, link);
    this.driver.submit(request, link);
  }

  /** The address this node dials `id` at (its own listen address for itself), or null. */
  private addressOf(id: NodeId): string | null {
    if (id === this.id) return `${this.address.host}:${this.address.port}`;
    const endpoint = this.config.peers.get(id);
    return endpoint === undefined ? null : `${endpoint.host}:${endpoint.port}`;
  }

  /** A failed fsync or lost lock: stop serving at once; nothing more may be acknowledged. */
  private die(error: Error): void {
    if (this.ticker !== null) clearInterval(this.ticker);
    this.config.onFatal?.(error);
  }
}
