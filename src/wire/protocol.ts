// Messages that are not Paxos: the connection handshake and the client protocol.
// Peer (Paxos) messages are defined by the core in src/node/core/messages.ts.
import type { NodeId, PeerMessage, Slot } from '../node/core/messages.js';
import type { AuthMessage, ChallengeMessage } from './auth.js';

/** Bumped whenever a message changes shape; both sides must speak the same version. */
export const protocolVersion = 1;

/** The first frame on every connection, from the side that connected. */
export interface HelloMessage {
  type: 'hello';
  protocol: number;
  /** The cluster the speaker belongs to. A client that does not know it yet sends null. */
  clusterId: string | null;
  role: 'node' | 'client';
  /** The speaker's node id when role is 'node'. */
  nodeId: NodeId | null;
  /**
   * The state machine a node runs (see {@link builtinStateMachineIdentity});
   * a listener refuses a peer that runs another. Absent means the built-in store.
   */
  stateMachine?: string;
  /** Optional: 32 random bytes from a connector with a shared secret, for the listener to prove itself over (see auth.ts). */
  nonce?: Uint8Array | null;
}

/**
 * The state machine identity of the built-in key-value store, and what a hello
 * or welcome without a `stateMachine` field means (nodes older than the field
 * could run nothing else).
 */
export const builtinStateMachineIdentity = 'builtin:kv@1';

/** The listener's answer to a hello it accepts. */
export interface WelcomeMessage {
  type: 'welcome';
  protocol: number;
  clusterId: string;
  nodeId: NodeId;
  /** The state machine the listener runs; tells a client whether the built-in store's verbs apply. */
  stateMachine?: string;
  /**
   * The largest frame body the listener reads (--max-frame-bytes). A bigger
   * one closes the connection at its header, so a client refuses to send it
   * instead: the command is then certainly not applied. Absent from older nodes.
   */
  frameBytesMax?: number;
}

/** Sent just before a connection is closed on purpose, so the other side can say why. */
export interface GoodbyeMessage {
  type: 'goodbye';
  code: CloseReason;
  reason: string;
}

/** Stable codes for why a connection was closed (logged and reported in --json). */
export type CloseReason =
  | 'frame_too_large'
  | 'decode_failed'
  | 'invalid_message'
  | 'unknown_type'
  | 'wrong_cluster'
  | 'wrong_protocol'
  | 'unknown_node'
  | 'handshake_required'
  | 'wrong_state_machine'
  | 'shutting_down'
  | 'auth_failed'
  | 'too_many_connections';

/** A client asks for `op` to be ordered and applied. (client, seq) makes retries safe. */
export interface SubmitRequest {
  type: 'submit';
  /** Request id, unique per connection; echoed in the response. */
  id: number;
  client: string;
  seq: number;
  op: unknown;
}

/**
 * How a query is answered. `linearizable`: by the leader, without the log,
 * once it has confirmed with a majority that it still leads after the query
 * arrived and has applied every slot chosen before that (docs/protocol.md,
 * "Reads"). `local`: at once from the contacted replica's applied state,
 * possibly stale. (A read ordered through the log is a `submit`.)
 */
export type ReadConsistency = 'linearizable' | 'local';

export const readConsistencies: readonly ReadConsistency[] = ['linearizable', 'local'];

/**
 * A client asks for a read-only `op` (the built-in store's `get`, a user state
 * machine's `query`) to be answered from the state machine, never written to
 * the log. No session, no seq: a read changes nothing, so it is simply retried.
 */
export interface QueryRequest {
  type: 'query';
  id: number;
  op: unknown;
  consistency: ReadConsistency;
}

/** A client asks for the node's status (role, ballot, slots, ...). */
export interface StatusRequest {
  type: 'status';
  id: number;
}

/** What a `fault` request does to the node's transport (see src/node/runtime/faults.ts). */
export type FaultAction = 'partition' | 'heal' | 'delay' | 'drop';

/**
 * Test-only: changes the faults the node injects into its own peer traffic.
 * A node started without --enable-faults refuses it. `nodes` are the peers
 * concerned (empty: every peer; partition needs at least one); `delayMs` is
 * used by delay, `rate` (0..1) by drop, and both are 0 otherwise.
 */
export interface FaultRequest {
  type: 'fault';
  id: number;
  action: FaultAction;
  nodes: NodeId[];
  delayMs: number;
  rate: number;
}

/**
 * Client voting (`paxos submit --verify`): a client asks a replica for the
 * digest of the outcomes it computed when it applied `slot`.
 */
export interface SlotOutcomeRequest {
  type: 'slot_outcome';
  id: number;
  slot: Slot;
}

/**
 * `paxos member ...`: a membership change for the leader to propose (docs/membership.md).
 * `add` names `node` at `address` (as a voter, or a learner), bound to the
 * first incarnation that joins from there; `promote` makes a caught-up learner
 * a voter; `remove` drops `node` (refused when the voters left would not have
 * a live majority, unless `force`); `replace` names `node` at `address` anew,
 * its old incarnation a dead acceptor until the new one joins.
 */
export interface MemberRequest {
  type: 'member';
  id: number;
  action: MemberAction;
  node: NodeId;
  address: string | null;
  learner: boolean;
  force: boolean;
}

export type MemberAction = 'add' | 'promote' | 'remove' | 'replace';

export const memberActions: readonly MemberAction[] = ['add', 'promote', 'remove', 'replace'];

/**
 * `paxos leader transfer [--to N]`: move leadership to voter `to` (null: the
 * most caught-up voter). A follower redirects to the leader; the leader
 * answers once the target leads or the transfer failed (docs/membership.md).
 */
export interface LeaderTransferRequest {
  type: 'leader_transfer';
  id: number;
  to: NodeId | null;
}

export type LeaderTransferCode = 'target_not_voter' | 'no_target' | 'busy' | 'timed_out' | 'preempted' | 'shutting_down';

export const leaderTransferCodes: readonly LeaderTransferCode[] = ['target_not_voter', 'no_target', 'busy', 'timed_out', 'preempted', 'shutting_down'];

/**
 * How a transfer ended: `done` (`to` leads at `ballot`; `from` led before),
 * `failed` with `code` (`certain`: leadership did not and will not move
 * because of this request; otherwise the target may still take over), or
 * `redirect` to the leader at `address`.
 */
export interface LeaderTransferResponse {
  type: 'leader_transfer_reply';
  id: number;
  status: 'done' | 'failed' | 'redirect';
  code: LeaderTransferCode | null;
  message: string;
  certain: boolean;
  from: NodeId | null;
  to: NodeId | null;
  ballot: string | null;
  leader: NodeId | null;
  address: string | null;
}

/**
 * `paxos snapshot save`: a backup of the cluster's state, one chunk per round
 * trip. `slot` 0 with `offset` 0 asks the leader to start one: it confirms a
 * linearizable read, and once it has applied that read's slot it snapshots its
 * applied state and holds those bytes; every later request names the slot the
 * first reply announced and the offset of the next chunk, on the same node.
 */
export interface SnapshotFetchRequest {
  type: 'snapshot_fetch';
  id: number;
  slot: Slot;
  offset: number;
}

export type ClientRequest = SubmitRequest | QueryRequest | StatusRequest | FaultRequest | SlotOutcomeRequest | MemberRequest | LeaderTransferRequest | SnapshotFetchRequest;

/** The answer to a member request: queued (proposed by this leader), refused (certainly not made, with why), or redirect. */
export interface MemberResponse {
  type: 'member_reply';
  id: number;
  status: 'queued' | 'refused' | 'redirect';
  message: string;
  leader: NodeId | null;
  address: string | null;
}

/** The command was chosen at `slot` and applied; `result` is the state machine's result. */
export interface ResultResponse {
  type: 'result';
  id: number;
  slot: Slot;
  result: unknown;
}

/** The command was chosen at `slot` and applied, but the state machine refused it (it changed nothing). */
export interface RefusedResponse {
  type: 'refused';
  id: number;
  slot: Slot;
  error: string;
}

/**
 * The answer to a query: `result` when `ok`, else the state machine's refusal
 * in `error`. `appliedSlot` is the state it was read from (every slot up to it
 * applied). `consistency` echoes the request; for `local`, `knownChosenSlot`
 * is the highest slot this replica knows chosen (from the leader's heartbeats),
 * so `knownChosenSlot - appliedSlot` is how far behind it may be, at least.
 */
export interface QueryResponse {
  type: 'query_reply';
  id: number;
  ok: boolean;
  result: unknown;
  error: string | null;
  appliedSlot: Slot;
  consistency: ReadConsistency;
  knownChosenSlot: Slot;
}

/** This node does not lead; try `leader` (null when it does not know who does). Nothing was proposed. */
export interface RedirectResponse {
  type: 'redirect';
  id: number;
  leader: NodeId | null;
  address: string | null;
}

/**
 * The node could not complete the request. `indeterminate` is true when the
 * command may still be chosen (it was proposed), false when it certainly was not.
 */
export interface ErrorResponse {
  type: 'error';
  id: number;
  code: string;
  message: string;
  indeterminate: boolean;
}

/**
 * Codes of an error answer (never indeterminate) that retrying elsewhere
 * cannot change: every node refuses the command alike, or the client's own
 * session is the cause. A client reports them at once as not applied.
 */
export const finalErrorCodes: ReadonlySet<string> = new Set([
  /** The command is larger than the leader's --command-bytes-max. */
  'command_too_large',
  /** A value for the built-in store is larger than the leader's --value-bytes-max. */
  'value_too_large',
  /** The client id already has --session-commands-in-flight commands waiting. */
  'session_busy',
]);

export interface StatusMember {
  id: NodeId;
  incarnation: string | null;
  address: string | null;
}

export interface StatusConfiguration {
  fromSlot: Slot;
  voters: StatusMember[];
  learners: StatusMember[];
}

export interface NodeStatus {
  id: NodeId;
  address: string;
  role: 'leader' | 'follower' | 'candidate';
  /**
   * True while the node's votes do not count: it belongs to no cluster yet,
   * or the configuration does not name this data dir's incarnation as a voter
   * (a learner, a wiped disk not yet replaced, a removed node). Absent from older nodes.
   */
  rebuilding?: boolean;
  /** This node in the configuration of its next open slot (docs/membership.md). Absent from older nodes. */
  member?: 'voter' | 'learner' | 'none' | 'pristine';
  /** This data dir's incarnation. Absent from older nodes. */
  incarnation?: string;
  /** The configuration of this node's next open slot, and from which slot it governs. Absent before founding and from older nodes. */
  configuration?: StatusConfiguration;
  /** On the leader: what it last heard from each peer (incarnation, commit index, how long ago). */
  progress?: { id: NodeId; incarnation: string; commitIndex: Slot; agoMs: number }[];
  /** A membership change is proposed and not chosen, or chosen and not yet in effect. */
  changePending?: boolean;
  leader: NodeId | null;
  ballot: string;
  promised: string;
  commitIndex: Slot;
  lastChosen: Slot;
  lastApplied: Slot;
  /**
   * A hash chain over every applied slot's value and the outcomes its
   * commands had (each result or refusal): two replicas with the same
   * lastApplied and the same digest went through the same history with the
   * same results; different digests at the same slot mean they diverged.
   */
  appliedDigest: string;
  walBytes: number;
  lastSnapshot: Slot;
  uptimeMs: number;
  clusterId: string;
  /** The state machine the node runs (see {@link builtinStateMachineIdentity}); absent from older nodes. */
  stateMachine?: string;
  peers: { id: NodeId; address: string; connected: boolean }[];
  /** What the node measures about itself (see NodeMetricsReport); absent from nodes older than it. */
  metrics?: NodeMetricsReport;
}

/**
 * A node's own measurements, for `paxos status --json`, `paxos top` and the
 * Prometheus endpoint. Counters run from the node's start; rates and the
 * latency window cover the last few seconds. Times are integer microseconds.
 */
export interface NodeMetricsReport {
  /** Slots this node proposed as leader that are not chosen yet (0 on a follower). */
  proposalsInFlight: number;
  /** Client commands queued at this leader while its window of slots is full. */
  commandsPending: number;
  /** Client commands this node proposed as leader. */
  commandsProposed: number;
  /** Client commands this node applied to its state machine (every replica applies every command). */
  commandsApplied: number;
  commandsAppliedPerSecond: number;
  /** Propose-to-apply time of the commands this node proposed, over the last `windowSeconds`. */
  commitLatency: LatencyWindowReport;
  /** The same since start, in cumulative buckets: counts[i] commands took at most boundsMicros[i]. */
  commitLatencyHistogram: LatencyHistogramReport;
  fsyncs: number;
  fsyncsPerSecond: number;
  fsyncMicrosTotal: number;
  fsyncLastMicros: number;
  /** Mean fsync time over the same window as fsyncsPerSecond (0 when there was none). */
  fsyncMeanMicros: number;
  /** The write-ahead log's fsync times over the last `windowSeconds`; absent from older nodes. */
  fsyncLatency?: LatencyWindowReport;
  /** The same since start, in cumulative buckets (etcd's wal_fsync_duration_seconds); absent from older nodes. */
  fsyncLatencyHistogram?: LatencyHistogramReport;
  walRecordsWritten: number;
  walBytesWritten: number;
  /** Times this node saw the leadership move to a new leader (its own elections included). */
  leaderChanges: number;
  /** Traffic with each other node; NodeStatus.peers says whether the link is up. */
  peers: PeerTrafficReport[];
}

export interface LatencyWindowReport {
  windowSeconds: number;
  samples: number;
  p50Micros: number;
  p99Micros: number;
  maxMicros: number;
}

export interface LatencyHistogramReport {
  boundsMicros: number[];
  counts: number[];
  count: number;
  sumMicros: number;
}

export interface PeerTrafficReport {
  id: NodeId;
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Frames to this peer dropped because its link was slow or down (Paxos resends what matters). */
  framesDropped: number;
}

export interface StatusResponse {
  type: 'status_reply';
  id: number;
  status: NodeStatus;
}

/** The answer to a fault request: whether it was applied, and the node's faults now (or why not). */
export interface FaultResponse {
  type: 'fault_reply';
  id: number;
  ok: boolean;
  message: string;
}

/**
 * A replica's vote on `slot`. `known` with the digest (a sha256 over every
 * command's outcome in the slot, result included) when it applied the slot and still
 * keeps it; otherwise not known: not applied yet when `slot > lastApplied`
 * (ask again), else no longer kept or skipped by a snapshot.
 */
export interface SlotOutcomeResponse {
  type: 'slot_outcome_reply';
  id: number;
  slot: Slot;
  known: boolean;
  digest: string | null;
  lastApplied: Slot;
}

/**
 * One chunk of a backup snapshot (the snapshot file format of
 * storage/snapshot-codec.ts) taken at applied `slot`, `totalBytes` in all.
 * `voters` and `learners` are the configuration that governs the slot after it.
 */
export interface SnapshotFetchResponse {
  type: 'snapshot_fetch_reply';
  id: number;
  slot: Slot;
  offset: number;
  totalBytes: number;
  data: Uint8Array;
  voters: NodeId[];
  learners: NodeId[];
}

export type ClientResponse =
  | SnapshotFetchResponse
  | ResultResponse
  | QueryResponse
  | RefusedResponse
  | RedirectResponse
  | ErrorResponse
  | StatusResponse
  | FaultResponse
  | SlotOutcomeResponse
  | MemberResponse
  | LeaderTransferResponse;

/**
 * State transfer, between nodes, outside the Paxos core: a lagging node asks a
 * peer for a snapshot a chunk at a time. `slot` 0 with `offset` 0 starts a
 * transfer on the peer's newest snapshot; every later request names the slot
 * the first chunk announced, and the peer keeps serving that snapshot until the
 * transfer completes or goes quiet, whatever snapshots it takes meanwhile.
 */
export interface SnapshotRequestMessage {
  type: 'snapshot_request';
  from: NodeId;
  to: NodeId;
  slot: Slot;
  offset: number;
}

/**
 * One chunk of the sender's snapshot file at `slot` (total `totalBytes`), in
 * answer to a request for `offset`. The file carries its own checksum.
 */
export interface SnapshotChunkMessage {
  type: 'snapshot_chunk';
  from: NodeId;
  to: NodeId;
  slot: Slot;
  offset: number;
  totalBytes: number;
  data: Uint8Array;
}

/**
 * Why a snapshot request was not answered with a chunk: `none` (the sender has
 * no snapshot), `busy` (it already holds as many snapshots for transfers as it
 * may), `gone` (it no longer holds the snapshot at `slot`: the transfer went
 * quiet or the sender restarted). The requester drops the transfer; it asks
 * again, from the newest snapshot, when it next finds slots it needs compacted.
 */
export type SnapshotUnavailableReason = 'none' | 'busy' | 'gone';

export interface SnapshotUnavailableMessage {
  type: 'snapshot_unavailable';
  from: NodeId;
  to: NodeId;
  /** The slot the request named (0 for a request that started a transfer). */
  slot: Slot;
  reason: SnapshotUnavailableReason;
}

export type TransferMessage = SnapshotRequestMessage | SnapshotChunkMessage | SnapshotUnavailableMessage;

export const transferMessageTypes: ReadonlySet<string> = new Set<TransferMessage['type']>(['snapshot_request', 'snapshot_chunk', 'snapshot_unavailable']);

export const snapshotUnavailableReasons: readonly SnapshotUnavailableReason[] = ['none', 'busy', 'gone'];

/** Everything that can travel in a frame. */
export type WireMessage =
  | HelloMessage
  | ChallengeMessage
  | AuthMessage
  | WelcomeMessage
  | GoodbyeMessage
  | PeerMessage
  | TransferMessage
  | ClientRequest
  | ClientResponse;
