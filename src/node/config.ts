// One place for a node's configuration: every limit a node is started with,
// its default, its `paxos node start` flag, its bounds, and every relation
// between limits, checked by one function (`resolveNodeConfig`) that the CLI,
// the library's `startNode` and the simulation all call. Pure: no node:fs,
// node:net, clock or timer, here or in anything it imports, so a simulation
// can resolve a configuration exactly as a real node does.
import { defaultCoreLimits, type CoreLimits } from './core/limits.js';
import type { FsyncPolicy } from './storage/wal.js';
import type { TransportLimits } from './runtime/transport.js';
import type { AdmissionLimits } from './runtime/admission.js';
import { frameBytesMaxDefault } from '../wire/frame.js';
import { chosenEntriesMax, commandsPerValueMax, snapshotChunkBytesMax } from '../wire/validate.js';
import { valueBytesMax as storeValueBytesMax } from './statemachine/verbs.js';
import { sessionWindow } from './statemachine/window.js';

/** A configuration no node can run with; the message names the flag and says what to give instead. */
export class NodeConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'NodeConfigError';
  }
}

export const fsyncPolicyNames = ['always', 'batch', 'never'] as const satisfies readonly FsyncPolicy[];

/** What a caller may set; anything left out gets its default. `NodeConfig` is one of these. */
export interface NodeConfigInput {
  fsync?: FsyncPolicy;
  fsyncBatchLingerMs?: number;
  fsyncBatchBytesMax?: number;
  walSegmentBytesMax?: number;
  tickMs?: number;
  snapshotEvery?: number;
  snapshotLogBytes?: number;
  snapshotChunkBytes?: number;
  snapshotsHeldForTransfersMax?: number;
  compactionHoldSlotsMax?: number;
  clientsWaitingMax?: number;
  sessionCommandsInFlightMax?: number;
  commandBytesMax?: number;
  valueBytesMax?: number;
  coreLimits?: Partial<CoreLimits>;
  transportLimits?: Partial<TransportLimits>;
  admissionLimits?: Partial<AdmissionLimits>;
  /**
   * Whether the node replicates the built-in key-value store (default true):
   * `valueBytesMax` applies to it only.
   */
  builtinStateMachine?: boolean;
}

/** Every limit filled in and checked; frozen. */
export interface ResolvedNodeConfig {
  readonly fsync: FsyncPolicy;
  readonly fsyncBatchLingerMs: number;
  readonly fsyncBatchBytesMax: number;
  readonly walSegmentBytesMax: number;
  readonly tickMs: number;
  readonly snapshotEvery: number;
  readonly snapshotLogBytes: number;
  readonly snapshotChunkBytes: number;
  readonly snapshotsHeldForTransfersMax: number;
  readonly compactionHoldSlotsMax: number;
  readonly clientsWaitingMax: number;
  readonly sessionCommandsInFlightMax: number;
  readonly commandBytesMax: number;
  /** Null for a user state machine, which checks its own values in apply. */
  readonly valueBytesMax: number | null;
  readonly coreLimits: Readonly<CoreLimits>;
  readonly transportLimits: Readonly<TransportLimits>;
  readonly admissionLimits: Readonly<AdmissionLimits>;
}

type TopLevelLimit = Exclude<keyof NodeConfigInput & keyof ResolvedNodeConfig, 'fsync' | 'coreLimits' | 'transportLimits' | 'admissionLimits' | 'builtinStateMachine'>;
type Group = 'coreLimits' | 'transportLimits' | 'admissionLimits';
/** A limit's place in NodeConfig: a field, or a field of one of the limit groups. */
export type LimitKey = TopLevelLimit | `coreLimits.${keyof CoreLimits}` | `transportLimits.${keyof TransportLimits}` | `admissionLimits.${keyof AdmissionLimits}`;

/** Values resolved so far, by key: a default may depend on limits above it in the table. */
export type ResolvedSoFar = Readonly<Partial<Record<LimitKey, number>>>;

export interface LimitRow {
  readonly key: LimitKey;
  /** The `paxos node start` flag that sets it, or null for a limit only the library sets. */
  readonly flag: string | null;
  /** Given as a duration (`10ms`, `5s`) on the command line; milliseconds in NodeConfig. */
  readonly duration?: true;
  readonly default: number | ((resolved: ResolvedSoFar) => number);
  /** Said in --help and docs when the default is computed. */
  readonly defaultText?: string;
  readonly min: number;
  readonly max: number;
  /** One sentence for --help and docs/cli.md. */
  readonly meaning: string;
}

const KiB = 1024;
const MiB = 1024 * 1024;

// ---- the named values the table refers to ------------------------------------

/**
 * Bounds of one core tick (--tick). Below 1 ms the ticker is a busy loop that
 * starves the event loop of sockets and fsyncs; above 1 s a heartbeat (5 ticks)
 * takes 5 s and an election (30-60 ticks) up to a minute: no longer a failover.
 */
export const tickMsMin = 1;
export const tickMsMax = 1000;
export const tickMsDefault = 10;

/**
 * --fsync batch waits this long after the first durable append of a batch for
 * more to join it. 1 ms is under a tenth of a commit's latency at load
 * (docs/performance.md) and longer than a loopback round trip, so the other
 * acceptors' accepts and the next clients' commands usually make it in.
 */
export const fsyncBatchLingerMsDefault = 1;
/** Beyond 50 ms a lingering batch costs more latency than any disk's fsync saves. */
export const fsyncBatchLingerMsMax = 50;
/**
 * A batch this large stops lingering: it already amortises its fsync, and
 * waiting longer only grows the write. Far above one Ready's records under load.
 */
export const fsyncBatchBytesMaxDefault = 1 * MiB;

/**
 * A segment is closed and a new one started once it holds at least this many
 * bytes; it may overshoot by one batch (a batch is never split). Bounds the
 * file a restart reads in one piece and the unit of compaction.
 */
export const walSegmentBytesMaxDefault = 64 * MiB;

export const snapshotEveryDefault = 10_000;
/**
 * 16 MiB of log is about 8 MiB of commands (each is in an accept and a chosen
 * record), which a node holds in memory as objects several times that size
 * until the snapshot lets it forget them, and the garbage collector lets the
 * heap grow to a few times what is live: at this size a node stays near 250 MB
 * under 256 clients (32 MiB went past 300; docs/performance.md), and a restart
 * replays at most this much. At full load that is a snapshot every few seconds.
 */
export const snapshotLogBytesDefault = 16 * MiB;
/** Bytes per snapshot chunk on the wire: one frame each, far under the frame limit. */
export const snapshotChunkBytesDefault = 1 * MiB;
/** Room a chunk's frame needs beside the chunk itself (field names, ids, slot, offsets). */
export const snapshotChunkFrameOverheadBytes = 64 * KiB;
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
/** Room for every client of a busy cluster (bench runs 256) many times over, in tens of MB. */
export const clientsWaitingMaxDefault = 65_536;
/**
 * The session window (statemachine/window.ts): a session's replicated state
 * keeps the outcomes of its last sessionWindow seqs, and a PaxosClient keeps
 * at most that many open, so an honest session never comes near this; it
 * stops one session from filling the node's whole waiting table. It may be
 * lowered, never raised above the window.
 */
export const sessionCommandsInFlightMaxDefault = sessionWindow;
/**
 * A command is carried whole in an accept and in every replica's log. Room
 * for a key-value cas with a 1 MiB expected and a 1 MiB new value, far under
 * the 16 MiB frame limit.
 */
export const commandBytesMaxDefault = 4 * MiB;
/** What a submit and an accept add around a command: a command must leave this much of the frame limit free. */
export const commandEnvelopeBytesMax = 64 * KiB;

/** What a frame of `frameBytesMax` leaves for commands or values once its envelope is counted. */
export function frameRoomBytes(frameBytesMax: number): number {
  return frameBytesMax - commandEnvelopeBytesMax;
}

const frameOf = (resolved: ResolvedSoFar): number => resolved['transportLimits.frameBytesMax'] ?? frameBytesMaxDefault;
/**
 * By default the core's byte bounds share a frame's room so that a promise
 * (the window's accepted values and a batch beyond it, plus a catch-up's worth
 * of chosen ones) fits one frame too: a quarter each for a batch and a
 * catch-up, half for the window.
 */
const quarterOfRoom = (resolved: ResolvedSoFar): number => Math.max(1, Math.floor(frameRoomBytes(frameOf(resolved)) / 4));

const positive = Number.MAX_SAFE_INTEGER;

// ---- the table -----------------------------------------------------------------
//
// In resolution order: a computed default may read only rows above it. Why each
// default is what it is: see the named constant it uses (above), or the
// interface the group comes from (CoreLimits in core/limits.ts, TransportLimits
// in runtime/transport.ts, AdmissionLimits in runtime/admission.ts).

export const limitTable: readonly LimitRow[] = Object.freeze([
  // The frame limit comes first: command, batch and chunk sizes are fitted to it.
  {
    key: 'transportLimits.frameBytesMax',
    flag: '--max-frame-bytes',
    default: frameBytesMaxDefault,
    // A snapshot chunk (1 MiB) and a catch-up batch must still fit; the length prefix is 32 bits.
    min: 2 * MiB,
    max: 0xffff_ffff,
    meaning: 'largest frame accepted from any connection; a bigger one closes it (frame_too_large)',
  },
  // Bytes queued on a peer socket before further messages to it are dropped (Paxos resends).
  { key: 'transportLimits.peerBufferBytesMax', flag: null, default: 8 * MiB, min: 1, max: positive, meaning: 'bytes queued on a peer socket before further messages to it are dropped' },
  // A reconnecting peer gets at most this many queued messages; the rest it catches up on.
  { key: 'transportLimits.peerQueueMessagesMax', flag: null, default: 1024, min: 1, max: positive, meaning: 'messages kept for a peer while its connection is being (re)established' },
  // A peer that was down this long needs catch-up, not a flood of stale accepts.
  { key: 'transportLimits.peerQueueAgeMsMax', flag: null, default: 1_000, min: 1, max: positive, meaning: 'queued messages older than this are dropped when a peer connection comes up' },
  {
    key: 'transportLimits.connectionsMax',
    flag: '--connections-max',
    // File descriptors are the cost; a cluster's peers plus hundreds of clients fit.
    default: 1024,
    min: 1,
    max: positive,
    meaning: 'open connections in all (peers and clients); beyond it a new one is refused (too_many_connections)',
  },
  {
    key: 'transportLimits.handshakeMsMax',
    flag: '--handshake-timeout',
    duration: true,
    // A TLS handshake over a slow link takes well under a second; an idle socket holds a slot.
    default: 5_000,
    min: 1,
    max: positive,
    meaning: 'time a new connection has to finish its handshake (TLS, hello, secret proof) before it is closed (handshake_required)',
  },
  {
    key: 'admissionLimits.connectionsPerAddressMax',
    flag: '--connections-per-address',
    // Loopback is one address: a local cluster's peers, `paxos bench` clients and tools share it.
    default: 256,
    min: 1,
    max: positive,
    meaning: 'open client connections allowed from one remote address (a member peer\'s connection does not count; --connections-max counts all)',
  },
  {
    key: 'admissionLimits.clientFramesPerSecondMax',
    flag: '--client-frames-per-second',
    // Several times what one client connection can use at the node's full throughput.
    default: 20_000,
    min: 1,
    max: positive,
    meaning: 'frames one client connection may send per second; beyond it the node reads that connection more slowly',
  },
  {
    key: 'admissionLimits.clientRequestsInFlightMax',
    flag: '--client-requests-in-flight',
    // A pool of many sessions on one socket (bench shares 16) stays far under it.
    default: 1024,
    min: 1,
    max: positive,
    meaning: 'requests one client connection may have waiting for answers; beyond it the node stops reading it',
  },
  {
    key: 'admissionLimits.connectionBufferBytesMax',
    flag: '--connection-buffer-bytes',
    // A few large answers; below 1 KiB a single status answer would stop reading.
    default: 4 * MiB,
    min: 1024,
    max: positive,
    meaning: 'answer bytes queued for a client that does not read them before the node stops reading its requests',
  },
  // Refusal log lines per second per reason; the rest are counted and summarised.
  { key: 'admissionLimits.refusalLogLinesPerSecondMax', flag: null, default: 20, min: 1, max: positive, meaning: 'refusal log lines per second per reason; the rest are counted' },
  {
    key: 'tickMs',
    flag: '--tick',
    duration: true,
    default: tickMsDefault,
    min: tickMsMin,
    max: tickMsMax,
    meaning: 'length of one core tick (a heartbeat is 5 ticks, an election timeout 30-60)',
  },
  { key: 'walSegmentBytesMax', flag: null, default: walSegmentBytesMaxDefault, min: 4 * KiB, max: positive, meaning: 'a WAL segment is closed and a new one started once it holds this many bytes' },
  {
    key: 'fsyncBatchLingerMs',
    flag: '--fsync-batch-linger',
    duration: true,
    default: fsyncBatchLingerMsDefault,
    min: 0,
    max: fsyncBatchLingerMsMax,
    meaning: '--fsync batch: how long the first durable append of a batch waits for others to join its fsync',
  },
  {
    key: 'fsyncBatchBytesMax',
    flag: '--fsync-batch-bytes',
    default: fsyncBatchBytesMaxDefault,
    min: 1,
    max: positive,
    meaning: '--fsync batch: bytes queued that end the wait at once',
  },
  {
    key: 'snapshotEvery',
    flag: '--snapshot-every',
    default: snapshotEveryDefault,
    min: 0,
    max: positive,
    meaning: 'applied slots between snapshots; each lets older log segments be deleted (0: never)',
  },
  {
    key: 'snapshotLogBytes',
    flag: '--snapshot-log-bytes',
    default: snapshotLogBytesDefault,
    min: 0,
    max: positive,
    meaning: 'bytes of log appended since the last snapshot that also trigger one, whichever comes first with --snapshot-every (0: slots only); bounds memory and restart time however many commands a slot holds',
  },
  {
    key: 'snapshotChunkBytes',
    flag: '--snapshot-chunk-bytes',
    default: snapshotChunkBytesDefault,
    // Below 1 KiB a transfer is all round trips; above the wire's ceiling a peer refuses the chunk.
    min: 1024,
    max: snapshotChunkBytesMax,
    meaning: 'bytes per chunk when sending a snapshot to a peer that lags (one frame, one round trip each)',
  },
  {
    key: 'snapshotsHeldForTransfersMax',
    flag: '--snapshots-held-for-transfers',
    default: snapshotsHeldForTransfersMaxDefault,
    min: 1,
    max: positive,
    meaning: 'distinct snapshots kept in memory for peers still fetching them after newer ones were taken; beyond it new transfers wait',
  },
  {
    key: 'compactionHoldSlotsMax',
    flag: '--compaction-hold-slots',
    default: compactionHoldSlotsMaxDefault,
    min: 0,
    max: positive,
    meaning: 'slots behind the newest snapshot the log is kept for a peer fetching a snapshot or catching up after one',
  },
  {
    key: 'clientsWaitingMax',
    flag: '--commands-waiting-max',
    default: clientsWaitingMaxDefault,
    min: 1,
    max: positive,
    meaning: 'client commands waiting in this node for their slot to apply; beyond it a submit is refused (overloaded), not proposed',
  },
  {
    key: 'sessionCommandsInFlightMax',
    flag: '--session-commands-in-flight',
    default: sessionCommandsInFlightMaxDefault,
    min: 1,
    max: sessionWindow,
    meaning: 'commands one session may have waiting for their slot (at most the session window); beyond it the next is refused (session_busy), not proposed',
  },
  {
    key: 'commandBytesMax',
    flag: '--command-bytes-max',
    default: (resolved) => Math.min(commandBytesMaxDefault, frameRoomBytes(frameOf(resolved))),
    defaultText: `${commandBytesMaxDefault}, or less to fit --max-frame-bytes`,
    min: 1,
    max: positive,
    meaning: 'largest command (msgpack bytes) the leader proposes; a larger one is refused (command_too_large), not proposed',
  },
  {
    key: 'valueBytesMax',
    flag: '--value-bytes-max',
    // The store's own ceiling is checked in apply on every replica (part of builtin:kv@1): a node may lower it, never raise it.
    default: storeValueBytesMax,
    min: 1,
    max: storeValueBytesMax,
    meaning: "built-in store: largest value a set, cas or append may store, checked before proposing (value_too_large)",
  },
  // The core's limits: why each is what it is is on CoreLimits (core/limits.ts), which keeps the defaults because the core imports only the core.
  { key: 'coreLimits.slotsInFlightMax', flag: null, default: defaultCoreLimits.slotsInFlightMax, min: 1, max: positive, meaning: 'slots a leader may have proposed and not yet seen chosen' },
  { key: 'coreLimits.batchCommandsMax', flag: null, default: defaultCoreLimits.batchCommandsMax, min: 1, max: commandsPerValueMax, meaning: 'client commands batched into one slot value (at most what a peer accepts in one value)' },
  {
    key: 'coreLimits.batchBytesMax',
    flag: null,
    default: (resolved) => Math.min(defaultCoreLimits.batchBytesMax, quarterOfRoom(resolved)),
    defaultText: `${defaultCoreLimits.batchBytesMax}, or a quarter of a frame's room`,
    min: 1,
    max: positive,
    meaning: 'bytes of commands batched into one slot value',
  },
  {
    key: 'coreLimits.windowBytesMax',
    flag: null,
    default: (resolved) => Math.min(defaultCoreLimits.windowBytesMax, 2 * quarterOfRoom(resolved)),
    defaultText: `${defaultCoreLimits.windowBytesMax}, or half of a frame's room`,
    min: 1,
    max: positive,
    meaning: 'bytes of values a leader may have proposed and not yet seen chosen',
  },
  {
    key: 'coreLimits.catchupBytesMax',
    flag: null,
    default: (resolved) => Math.min(defaultCoreLimits.catchupBytesMax, quarterOfRoom(resolved)),
    defaultText: `${defaultCoreLimits.catchupBytesMax}, or a quarter of a frame's room`,
    min: 1,
    max: positive,
    meaning: 'bytes of chosen values sent in one chosen_reply or promise',
  },
  { key: 'coreLimits.pendingCommandsMax', flag: null, default: defaultCoreLimits.pendingCommandsMax, min: 1, max: positive, meaning: 'client commands a leader queues while the window is full' },
  { key: 'coreLimits.readsWaitingMax', flag: null, default: defaultCoreLimits.readsWaitingMax, min: 1, max: positive, meaning: 'linearizable reads a leader holds while a heartbeat round confirms it still leads' },
  { key: 'coreLimits.readWaitTicksMax', flag: null, default: defaultCoreLimits.readWaitTicksMax, min: 1, max: positive, meaning: 'ticks a read waits for a majority to confirm the leader before it is given up' },
  { key: 'coreLimits.catchupSlotsMax', flag: null, default: defaultCoreLimits.catchupSlotsMax, min: 1, max: chosenEntriesMax, meaning: 'chosen values sent in one chosen_reply (at most what a peer accepts in one)' },
  { key: 'coreLimits.heartbeatTicks', flag: null, default: defaultCoreLimits.heartbeatTicks, min: 1, max: positive, meaning: 'ticks between a leader\'s heartbeats' },
  { key: 'coreLimits.electionTimeoutTicksMin', flag: null, default: defaultCoreLimits.electionTimeoutTicksMin, min: 1, max: positive, meaning: 'shortest election timeout, in ticks' },
  { key: 'coreLimits.electionTimeoutTicksMax', flag: null, default: defaultCoreLimits.electionTimeoutTicksMax, min: 1, max: positive, meaning: 'longest election timeout, in ticks' },
  { key: 'coreLimits.resendTicks', flag: null, default: defaultCoreLimits.resendTicks, min: 1, max: positive, meaning: 'ticks before a proposal not yet chosen is sent again' },
] satisfies LimitRow[]);

// ---- the relations ---------------------------------------------------------------

/** What the relations see: every limit resolved, plus the choices they depend on. */
export interface RelationInput {
  readonly value: (key: LimitKey) => number;
  /** Whether the caller set this limit itself (a relation may refuse a limit that does not apply). */
  readonly given: (key: LimitKey) => boolean;
  readonly fsync: FsyncPolicy;
  readonly builtinStateMachine: boolean;
}

export interface Relation {
  /** A short name, for tests and docs. */
  readonly name: string;
  /** The limits it ties together. */
  readonly keys: readonly LimitKey[];
  /** Null when it holds; else the sentence to show. */
  readonly check: (config: RelationInput) => string | null;
}

/** Names a limit as the user set it: its flag, or its NodeConfig key. */
export function limitName(key: LimitKey): string {
  return rowOf(key).flag ?? key;
}

function shown(key: LimitKey, value: number): string {
  return `${limitName(key)} ${rowOf(key).duration === true ? `${value}ms` : value}`;
}

export const relations: readonly Relation[] = Object.freeze([
  {
    // A command the leader accepts must fit in an accept frame with its envelope.
    name: 'a command fits a frame',
    keys: ['commandBytesMax', 'transportLimits.frameBytesMax'],
    check: ({ value }) => {
      const room = frameRoomBytes(value('transportLimits.frameBytesMax'));
      return value('commandBytesMax') <= room
        ? null
        : `${shown('commandBytesMax', value('commandBytesMax'))} leaves no room in a frame of ${shown('transportLimits.frameBytesMax', value('transportLimits.frameBytesMax'))}: it must be at most ${room}`;
    },
  },
  {
    // Only the built-in store's values are known to the node; a user state machine checks its own in apply.
    name: 'a value limit needs the built-in store',
    keys: ['valueBytesMax'],
    check: ({ given, builtinStateMachine }) =>
      !builtinStateMachine && given('valueBytesMax') ? '--value-bytes-max applies to the built-in key-value store only; a user state machine checks its own values' : null,
  },
  {
    // The linger and its byte bound mean something under batch only; set elsewhere they are a mistake to point out.
    name: 'a batch linger needs --fsync batch',
    keys: ['fsyncBatchLingerMs', 'fsyncBatchBytesMax'],
    check: ({ given, fsync }) => {
      const set = (['fsyncBatchLingerMs', 'fsyncBatchBytesMax'] as const).filter((key) => given(key));
      return fsync === 'batch' || set.length === 0 ? null : `${set.map(limitName).join(' and ')} ${set.length === 1 ? 'applies' : 'apply'} to --fsync batch only (this node has --fsync ${fsync})`;
    },
  },
  {
    // A batch or a catch-up reply travels in one frame (an accept, a chosen_reply).
    name: 'a batch and a catch-up fit a frame',
    keys: ['coreLimits.batchBytesMax', 'coreLimits.catchupBytesMax', 'transportLimits.frameBytesMax'],
    check: ({ value }) => {
      const room = frameRoomBytes(value('transportLimits.frameBytesMax'));
      const over = (['coreLimits.batchBytesMax', 'coreLimits.catchupBytesMax'] as const).find((key) => value(key) > room);
      return over === undefined ? null : `${shown(over, value(over))} does not fit a frame of ${shown('transportLimits.frameBytesMax', value('transportLimits.frameBytesMax'))}: it must be at most ${room}`;
    },
  },
  {
    name: 'a full batch fits the window',
    keys: ['coreLimits.windowBytesMax', 'coreLimits.batchBytesMax'],
    check: ({ value }) =>
      value('coreLimits.windowBytesMax') >= value('coreLimits.batchBytesMax')
        ? null
        : `coreLimits.windowBytesMax ${value('coreLimits.windowBytesMax')} must be at least coreLimits.batchBytesMax ${value('coreLimits.batchBytesMax')}, or a full batch could never be proposed`,
  },
  {
    name: 'an election timeout outlasts two heartbeats',
    keys: ['coreLimits.electionTimeoutTicksMin', 'coreLimits.heartbeatTicks'],
    check: ({ value }) =>
      value('coreLimits.electionTimeoutTicksMin') > 2 * value('coreLimits.heartbeatTicks')
        ? null
        : `coreLimits.electionTimeoutTicksMin ${value('coreLimits.electionTimeoutTicksMin')} must exceed two heartbeats (coreLimits.heartbeatTicks ${value('coreLimits.heartbeatTicks')}), or followers depose a live leader`,
  },
  {
    name: 'election timeouts have a range',
    keys: ['coreLimits.electionTimeoutTicksMax', 'coreLimits.electionTimeoutTicksMin'],
    check: ({ value }) =>
      value('coreLimits.electionTimeoutTicksMax') > value('coreLimits.electionTimeoutTicksMin')
        ? null
        : `coreLimits.electionTimeoutTicksMax ${value('coreLimits.electionTimeoutTicksMax')} must exceed coreLimits.electionTimeoutTicksMin ${value('coreLimits.electionTimeoutTicksMin')}, or duelling candidates never separate`,
  },
  {
    // A chunk travels in one frame, with room for its fields; peers are assumed to share the frame limit.
    name: 'a snapshot chunk fits a frame',
    keys: ['snapshotChunkBytes', 'transportLimits.frameBytesMax'],
    check: ({ value }) => {
      const most = value('transportLimits.frameBytesMax') - snapshotChunkFrameOverheadBytes;
      return value('snapshotChunkBytes') <= most
        ? null
        : `${shown('snapshotChunkBytes', value('snapshotChunkBytes'))} does not fit a frame of ${shown('transportLimits.frameBytesMax', value('transportLimits.frameBytesMax'))} with its ${snapshotChunkFrameOverheadBytes} bytes of fields: it must be at most ${most}, or raise the frame limit`;
    },
  },
] satisfies Relation[]);

// ---- resolving -----------------------------------------------------------------------

const rows = new Map<LimitKey, LimitRow>(limitTable.map((row) => [row.key, row]));

function rowOf(key: LimitKey): LimitRow {
  const row = rows.get(key);
  if (row === undefined) throw new Error(`no limit ${key} in the table`);
  return row;
}

function givenValue(input: NodeConfigInput, key: LimitKey): unknown {
  const dot = key.indexOf('.');
  if (dot === -1) return input[key as TopLevelLimit];
  const group = input[key.slice(0, dot) as Group] as Record<string, unknown> | undefined;
  return group?.[key.slice(dot + 1)];
}

function checkBounds(row: LimitRow, value: unknown): number {
  const unit = row.duration === true ? 'ms' : '';
  const name = row.flag ?? row.key;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new NodeConfigError(`${name} ${String(value)}${typeof value === 'number' ? unit : ''} is not a whole number${row.duration === true ? ' of milliseconds' : ''}: use ${rangeText(row)}`);
  }
  if (value < row.min || value > row.max) {
    throw new NodeConfigError(`${name} ${value}${unit} is out of range: use ${rangeText(row)} (default ${defaultText(row)}; ${row.meaning})`);
  }
  return value;
}

/**
 * Fills in every default and checks every limit and every relation between
 * limits. Throws NodeConfigError (code CONFIG_INVALID) naming the flag, for
 * the first one that does not hold. Pure: the same input always gives the
 * same configuration or the same error.
 */
export function resolveNodeConfig(input: NodeConfigInput = {}): ResolvedNodeConfig {
  const fsync = input.fsync ?? 'always';
  if (!(fsyncPolicyNames as readonly string[]).includes(fsync)) {
    throw new NodeConfigError(`--fsync ${String(fsync)} is not a policy: use ${fsyncPolicyNames.join(', ')}`);
  }
  for (const group of ['coreLimits', 'transportLimits', 'admissionLimits'] as const) {
    for (const field of Object.keys(input[group] ?? {})) {
      if (!rows.has(`${group}.${field}` as LimitKey)) throw new NodeConfigError(`${group}.${field} is not a limit a node knows`);
    }
  }
  const values: Partial<Record<LimitKey, number>> = {};
  const explicit = new Set<LimitKey>();
  for (const row of limitTable) {
    // Null reads as not given (a resolved valueBytesMax is null for a user state machine).
    const given = givenValue(input, row.key) ?? undefined;
    if (given !== undefined) explicit.add(row.key);
    const value = given ?? (typeof row.default === 'number' ? row.default : row.default(values));
    values[row.key] = checkBounds(row, value);
  }
  const view: RelationInput = {
    value: (key) => values[key] as number,
    given: (key) => explicit.has(key),
    fsync,
    builtinStateMachine: input.builtinStateMachine ?? true,
  };
  for (const relation of relations) {
    const problem = relation.check(view);
    if (problem !== null) throw new NodeConfigError(problem);
  }
  const group = <T>(name: Group): T =>
    Object.freeze(Object.fromEntries(limitTable.filter((row) => row.key.startsWith(`${name}.`)).map((row) => [row.key.slice(name.length + 1), values[row.key]]))) as T;
  return Object.freeze({
    fsync,
    fsyncBatchLingerMs: view.value('fsyncBatchLingerMs'),
    fsyncBatchBytesMax: view.value('fsyncBatchBytesMax'),
    walSegmentBytesMax: view.value('walSegmentBytesMax'),
    tickMs: view.value('tickMs'),
    snapshotEvery: view.value('snapshotEvery'),
    snapshotLogBytes: view.value('snapshotLogBytes'),
    snapshotChunkBytes: view.value('snapshotChunkBytes'),
    snapshotsHeldForTransfersMax: view.value('snapshotsHeldForTransfersMax'),
    compactionHoldSlotsMax: view.value('compactionHoldSlotsMax'),
    clientsWaitingMax: view.value('clientsWaitingMax'),
    sessionCommandsInFlightMax: view.value('sessionCommandsInFlightMax'),
    commandBytesMax: view.value('commandBytesMax'),
    valueBytesMax: view.builtinStateMachine ? view.value('valueBytesMax') : null,
    coreLimits: group<CoreLimits>('coreLimits'),
    transportLimits: group<TransportLimits>('transportLimits'),
    admissionLimits: group<AdmissionLimits>('admissionLimits'),
  });
}

/** The defaults of a group, as the table gives them for a node with every other limit at its default. */
const defaults = resolveNodeConfig();
export const transportLimitsDefault: Readonly<TransportLimits> = defaults.transportLimits;
export const admissionLimitsDefault: Readonly<AdmissionLimits> = defaults.admissionLimits;

// ---- the command line ------------------------------------------------------------------

/** The range a row allows, as --help and errors say it. */
export function rangeText(row: LimitRow): string {
  const unit = row.duration === true ? 'ms' : '';
  if (row.max === positive) return `${row.min}${unit} or more`;
  if (row.duration === true && row.max >= 1000 && row.max % 1000 === 0) return `${row.min}ms to ${row.max / 1000}s`;
  return `${row.min}${unit} to ${row.max}${unit}`;
}

/** A row's default as --help and docs say it. */
export function defaultText(row: LimitRow): string {
  if (typeof row.default !== 'number') return row.defaultText ?? 'computed';
  if (row.duration !== true) return String(row.default);
  return row.default >= 1000 && row.default % 1000 === 0 ? `${row.default / 1000}s` : `${row.default}ms`;
}

/** The rows that have a `paxos node start` flag. */
export function flaggedLimits(): (LimitRow & { flag: string })[] {
  return limitTable.filter((row): row is LimitRow & { flag: string } => row.flag !== null);
}

/**
 * The limits `paxos node start` was given, from its flags' text keyed by flag
 * name without the dashes (undefined: not given, so the default applies).
 * Text that is no number or duration is a NodeConfigError like any other bad value.
 */
export function limitsFromFlags(flags: Readonly<Record<string, unknown>>, parseDuration: (text: string) => number): NodeConfigInput {
  const input: Record<string, unknown> = {};
  for (const row of flaggedLimits()) {
    const text = flags[row.flag.slice(2)];
    if (text === undefined) continue;
    if (typeof text !== 'string') throw new Error(`flag ${row.flag} must be parsed as a string`);
    let value: number;
    if (row.duration === true) {
      try {
        value = parseDuration(text);
      } catch {
        throw new NodeConfigError(`${row.flag} ${text} is not a duration: say e.g. ${defaultText(row)}, 5s or 2m (use ${rangeText(row)})`);
      }
    } else {
      if (!/^\s*\d+\s*$/.test(text)) throw new NodeConfigError(`${row.flag} ${text} is not a whole number: use ${rangeText(row)} (default ${defaultText(row)})`);
      value = Number(text);
    }
    const dot = row.key.indexOf('.');
    if (dot === -1) input[row.key] = value;
    else {
      const group = row.key.slice(0, dot);
      input[group] = { ...(input[group] as object | undefined), [row.key.slice(dot + 1)]: value };
    }
  }
  return input as NodeConfigInput;
}

/**
 * The table of flags as docs/cli.md shows it (a test keeps the two the same):
 * `node -e "import('./dist/node/config.js').then((c) => console.log(c.limitTableMarkdown()))"`.
 */
export function limitTableMarkdown(): string {
  const lines = ['| flag | default | allowed | meaning |', '|---|---|---|---|'];
  for (const row of flaggedLimits()) {
    lines.push(`| \`${row.flag} ${row.duration === true ? 'DURATION' : 'N'}\` | ${defaultText(row)} | ${rangeText(row)} | ${row.meaning} |`);
  }
  return lines.join('\n');
}
