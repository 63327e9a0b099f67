// The runtime: wires the driver (src/node/driver) to the real world. It locks
// the data dir, checks its identity, opens the write-ahead log, rebuilds the
// core from it, and gives the driver the real disk (WalDisk), the transport's
// sockets and the event loop; it owns the ticker, the metrics endpoint and
// fault injection, and answers status requests. Every decision about when a
// record is durable and a message may leave is the driver's, which the
// simulation runs too.
import { PaxosNode, rebuildsOnStart, recoverState, type CoreStatus, type InitialClusterState } from '../core/node.js';
import { ballotToString, type NodeId, type Slot, type WalRecord } from '../core/messages.js';
import { defaultCoreLimits, type CoreLimits } from '../core/limits.js';
import { WriteAheadLog, type FsyncPolicy } from '../storage/wal.js';
import { lockDataDir, type ReleaseLock } from '../storage/lock.js';
import { clusterIdFor, ensureIdentity } from '../storage/identity.js';
import { pruneSnapshots, readLatestSnapshot, removeStaleSnapshotTemporaries, snapshotBytesMax, writeSnapshot, type Snapshot } from '../storage/snapshot.js';
import { createKeyValueStore } from '../statemachine/kv.js';
import type { StateMachineFactory } from '../statemachine/types.js';
import { stateMachineIdentityFor } from '../statemachine/loader.js';
import { NodeDriver } from '../driver/driver.js';
import type { ClientLink, DriverClock, DriverDisk, Done } from '../driver/ports.js';
import type { ClientRequest, NodeStatus } from '../../wire/protocol.js';
import { chosenEntriesMax, commandsPerValueMax, snapshotChunkBytesMax } from '../../wire/validate.js';
import { builtinStateMachineIdentity } from '../../wire/protocol.js';
import { valueBytesMax } from '../statemachine/verbs.js';
import { defaultTransportLimits, Transport, type Endpoint, type TransportLimits } from './transport.js';
import { checkAdmissionLimits, defaultAdmissionLimits, exposureWarning, type AdmissionLimits } from './admission.js';
import { silentLogger, type Logger } from './log.js';
import { NodeMetrics } from './metrics.js';
import { serveMetrics, type MetricsServer } from './metrics-http.js';
import { answerFault, FaultInjector } from './faults.js';
import { makeWritesBehind, type UnsafeModes } from './unsafe.js';
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
    const initialClusterState = config.initialClusterState ?? 'existing';
    const { identity } = await ensureIdentity(config.dataDir, { nodeId: config.id, clusterId, stateMachine: stateMachineIdentityFor(config), origin: initialClusterState });
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
    const runtime = new NodeRuntime(config, { clusterId, log, release, wal: opened.wal, metrics, records: opened.records.length });
    const emptyDataDir = snapshot === null && opened.records.length === 0;
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
      rebuilding: rebuildsOnStart({ origin: identity.origin ?? 'new', emptyDataDir }),
    });
    return await runtime.start(core, snapshot, config.listen ?? self);
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
    const limits = checkedCommandLimits(this.config, this.stateMachineIdentity);
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
      observer: this.metrics,
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
    if (this.stopping !== null) {
      return link.reply({ type: 'error', id: request.id, code: 'shutting_down', message: 'the node is stopping; retry on another node', indeterminate: false });
    }
    this.driver.submit(request, link);
  }

  /** A failed fsync or lost lock: stop serving at once; nothing more may be acknowledged. */
  private die(error: Error): void {
    if (this.ticker !== null) clearInterval(this.ticker);
    this.config.onFatal?.(error);
  }
}
