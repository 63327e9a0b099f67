// The vocabulary of the Paxos core: ballots, values, peer messages, write-ahead
// log records and the Ready batch the core hands to whoever drives it.
// Pure types and tiny pure helpers only; this file is imported by wire, storage,
// runtime and the simulation alike.
import type { ConfirmedRead, FailedRead } from './reads.js';

export type { ConfirmedRead, FailedRead, ReadFailure, ReadId } from './reads.js';

import type { Incarnation, MembershipState } from './membership.js';

/** Node ids are small positive integers, unique within a cluster. */
export type NodeId = number;

/** Slots are numbered from 1; slot 0 means "none". */
export type Slot = number;

/**
 * A ballot orders would-be leaders: a higher round wins, and the node id breaks
 * ties so that two nodes never use the same ballot.
 */
export interface Ballot {
  round: number;
  node: NodeId;
}

/**
 * One client command inside a slot. `client` and `seq` identify it for the
 * session table, which executes a retried command at most once. `op` is the
 * state machine's own command (for the built-in key-value store, an array of
 * strings such as ["set","x","1"]).
 */
export interface Command {
  client: string;
  seq: number;
  op: unknown;
}

/**
 * The value agreed on for one slot: a batch of client commands, applied in
 * order. An empty batch is the no-op a new leader uses to fill a hole.
 */
export interface Value {
  commands: Command[];
}

export interface AcceptedEntry {
  slot: Slot;
  ballot: Ballot;
  value: Value;
}

export interface ChosenEntry {
  slot: Slot;
  value: Value;
}

/** Fields every peer message carries. `from` is checked against the handshake. */
interface Envelope {
  from: NodeId;
  to: NodeId;
}

/**
 * Pre-vote (etcd's PreVote, Raft thesis 9.6): before it raises any ballot, a node
 * whose leader went quiet asks whether its peers would answer a prepare. A node
 * that still hears a live leader says no, so a node back from a partition (or
 * restarted) cannot depose a healthy leader by nacking it with a higher ballot.
 */
export interface PreVoteMessage extends Envelope {
  type: 'prevote';
}

export interface PreVoteReplyMessage extends Envelope {
  type: 'prevote_reply';
  granted: boolean;
}

/** Phase 1a: a candidate asks acceptors to promise `ballot` for every slot >= fromSlot. */
export interface PrepareMessage extends Envelope {
  type: 'prepare';
  ballot: Ballot;
  fromSlot: Slot;
  /**
   * Sent by a node the leader blessed with timeout_now (a leadership
   * transfer): acceptors answer it even while they hear a live leader (the
   * pre-vote rule would ignore it). Acceptor rules are unchanged, so safety
   * does not depend on who may send it.
   */
  blessed?: true;
}

/**
 * A leadership transfer (etcd's MsgTimeoutNow): the leader of `ballot`, which
 * has stopped proposing and knows `to` holds every slot it knows chosen (up to
 * commitIndex), tells that incarnation to campaign at once, skipping pre-vote.
 */
export interface TimeoutNowMessage extends Envelope {
  type: 'timeout_now';
  ballot: Ballot;
  /** The target's incarnation the leader saw caught up: a wiped disk under the same id ignores it. */
  incarnation: Incarnation;
  commitIndex: Slot;
}

/**
 * Phase 1b: the acceptor promised `ballot` and reports what it accepted at
 * slots >= fromSlot, and the values it knows chosen there. A non-zero
 * `catchUpTo` (>= fromSlot) says the report is withheld: the acceptor compacted
 * those slots into a snapshot, or the candidate lags too far behind, and the
 * candidate must learn the chosen log up to that slot before it may lead.
 */
export interface PromiseMessage extends Envelope {
  type: 'promise';
  /** The promising data dir's incarnation: a promise counts only for the incarnation a slot's configuration names. */
  incarnation: Incarnation;
  ballot: Ballot;
  fromSlot: Slot;
  accepted: AcceptedEntry[];
  chosen: ChosenEntry[];
  catchUpTo: Slot;
}

/** Phase 2a: the leader of `ballot` proposes `value` for `slot`; commitIndex piggybacks what is chosen. */
export interface AcceptMessage extends Envelope {
  type: 'accept';
  ballot: Ballot;
  slot: Slot;
  value: Value;
  commitIndex: Slot;
}

/** Phase 2b: the acceptor accepted (and persisted) the leader's value for `slot` at `ballot`. */
export interface AcceptedMessage extends Envelope {
  type: 'accepted';
  /** As in a promise: the vote counts only if config(slot) names this incarnation as a voter. */
  incarnation: Incarnation;
  ballot: Ballot;
  slot: Slot;
  /** The acceptor's own commit index: how far it has caught up (auto-replace waits for it). */
  commitIndex: Slot;
}

/** The acceptor refused `ballot` because it has promised the higher `promised`. */
export interface NackMessage extends Envelope {
  type: 'nack';
  ballot: Ballot;
  promised: Ballot;
}

/**
 * The leader of `ballot` is alive. Every slot <= commitIndex is chosen, and for
 * such a slot an acceptor that accepted a value at exactly `ballot` holds the
 * chosen value (a leader proposes one value per slot per ballot).
 */
export interface HeartbeatMessage extends Envelope {
  type: 'heartbeat';
  ballot: Ballot;
  commitIndex: Slot;
  /**
   * Non-zero when reads wait on this heartbeat (a read round, see reads.ts):
   * an acceptor that has promised nothing above `ballot` echoes it in its heartbeat_reply.
   */
  round: number;
}

/**
 * A follower's answer to a heartbeat: which incarnation it is and how far it
 * has caught up, so the leader can tell a wiped member's new incarnation has
 * caught up (auto-replace) and operators can see each member's lag; and, for
 * reads, that it still follows this ballot in read round `round`.
 */
export interface HeartbeatReplyMessage extends Envelope {
  type: 'heartbeat_reply';
  ballot: Ballot;
  /**
   * The heartbeat's read round, echoed (0: none). Sent only by an acceptor
   * that has promised nothing above `ballot`: a majority of these from the
   * voters of the configurations in play, after a read arrived, shows that no
   * other leader could have taken a write before the read arrived (reads.ts).
   */
  round: number;
  incarnation: Incarnation;
  commitIndex: Slot;
}

/** A replica missing chosen values asks a peer for slots fromSlot..toSlot. */
export interface ChosenRequestMessage extends Envelope {
  type: 'chosen_request';
  fromSlot: Slot;
  toSlot: Slot;
}

/**
 * Chosen values the sender knows, in slot order (possibly fewer than asked for).
 * When the sender has compacted the slots asked for into a snapshot, entries is
 * empty and `compactedTo` tells the requester to fetch that snapshot instead.
 */
export interface ChosenReplyMessage extends Envelope {
  type: 'chosen_reply';
  entries: ChosenEntry[];
  commitIndex: Slot;
  compactedTo: Slot;
}

/**
 * Bootstrap (a node that belongs to no cluster yet): what is your state? The
 * asker names its incarnation and the window it would found a cluster with.
 */
export interface JoinQueryMessage extends Envelope {
  type: 'join_query';
  incarnation: Incarnation;
  window: number;
  /** What the asker's data dir was seeded with: absent for an empty one, `<slot>:<sha256>` for a restored backup (bootstrapBase). */
  base?: string;
}

/**
 * The answer: `membership` non-null when the sender belongs to a cluster (the
 * asker adopts it and catches up); otherwise `pristine` says whether its data
 * dir was never part of one, and `view` lists the incarnations it has heard
 * from pristine nodes (itself included), so that founders agree on one view.
 */
export interface JoinReplyMessage extends Envelope {
  type: 'join_reply';
  incarnation: Incarnation;
  window: number;
  pristine: boolean;
  view: { id: NodeId; incarnation: Incarnation }[];
  membership: MembershipState | null;
  /** As in join_query: what the sender's data dir was seeded with, while it is pristine. */
  base?: string;
}

export type PeerMessage =
  | PreVoteMessage
  | PreVoteReplyMessage
  | PrepareMessage
  | PromiseMessage
  | AcceptMessage
  | AcceptedMessage
  | NackMessage
  | HeartbeatMessage
  | HeartbeatReplyMessage
  | ChosenRequestMessage
  | ChosenReplyMessage
  | JoinQueryMessage
  | JoinReplyMessage
  | TimeoutNowMessage;

export type PeerMessageType = PeerMessage['type'];

export const peerMessageTypes: readonly PeerMessageType[] = [
  'prevote',
  'prevote_reply',
  'prepare',
  'promise',
  'accept',
  'accepted',
  'nack',
  'heartbeat',
  'heartbeat_reply',
  'chosen_request',
  'chosen_reply',
  'join_query',
  'join_reply',
  'timeout_now',
];

/** The acceptor promised `ballot`: it will accept nothing lower. */
export interface PromiseRecord {
  type: 'promise';
  ballot: Ballot;
}

/** The acceptor accepted `value` for `slot` at `ballot`. */
export interface AcceptRecord {
  type: 'accept';
  slot: Slot;
  ballot: Ballot;
  value: Value;
}

/** This replica learned that `value` is chosen for `slot`. */
export interface ChosenRecord {
  type: 'chosen';
  slot: Slot;
  value: Value;
}

/**
 * Written by versions before membership was replicated (the probe-based
 * rebuild, which was unsafe). Still decoded so that such a log opens; the
 * core ignores it (docs/storage.md).
 */
export interface RebuildRecord {
  type: 'rebuild';
  done: boolean;
}

/**
 * The membership state (membership.ts): written when this node founds or
 * joins a cluster (durable before it votes), and at the head of every
 * checkpoint; chosen records after it carry the later changes.
 */
export interface MembershipRecord {
  type: 'membership';
  state: MembershipState;
}

/**
 * A node that belongs to no cluster yet: the incarnations it has heard from
 * fresh peers (itself included). Durable before any join_reply reporting it
 * leaves, so that a view only ever grows, across restarts too: two founders
 * then never disagree on an incarnation (docs/membership.md).
 */
export interface BootstrapViewRecord {
  type: 'bootstrap_view';
  view: { id: NodeId; incarnation: Incarnation }[];
}

export type WalRecord = PromiseRecord | AcceptRecord | ChosenRecord | RebuildRecord | MembershipRecord | BootstrapViewRecord;

export type WalRecordType = WalRecord['type'];

/** Something worth telling an operator about (logs, dashboard events). */
export type CoreEvent =
  | { kind: 'waiting'; why: string }
  | { kind: 'founded'; voters: string }
  | { kind: 'joined'; configuration: string; member: 'voter' | 'learner' | 'unbound' | 'none' }
  | { kind: 'membership'; slot: Slot; effectiveFrom: Slot; change: string }
  | { kind: 'change_proposed'; slot: Slot; change: string }
  | { kind: 'candidate'; ballot: Ballot }
  | { kind: 'leader'; ballot: Ballot }
  | { kind: 'follower'; leader: NodeId | null; ballot: Ballot }
  | { kind: 'preempted'; ballot: Ballot; by: Ballot }
  | { kind: 'transfer_started'; to: NodeId; ballot: Ballot; why: 'request' | 'removal' }
  | { kind: 'transfer_blessed'; to: NodeId; commitIndex: Slot }
  | { kind: 'transfer_done'; from: NodeId; to: NodeId; ballot: Ballot }
  | { kind: 'transfer_failed'; to: NodeId; code: TransferFailure; message: string; certain: boolean };

/**
 * Why a leadership transfer did not happen (or may not have). timed_out: no
 * new leader within the bound (the old leader resumed, or was deposed and the
 * target has not been heard leading); preempted: another ballot took over.
 */
export type TransferFailure = 'target_not_voter' | 'no_target' | 'busy' | 'timed_out' | 'preempted';

/**
 * What the core asks its driver to do (etcd-io/raft's Ready, with its
 * msgsAfterAppend). `number` counts Readies from 1; the driver reports back
 * with PaxosNode.advance which of them are durable and how far it applied.
 * 1. append `records` to the log, in order with earlier Readies' records. When
 *    `mustSync` is false they are all learned chosen values, which may be
 *    written lazily (a restarted node learns them again); otherwise they must
 *    be durable (fsync) before any of `messagesAfterAppend` leaves;
 * 2. send `messages` at once: they vouch for nothing on this node's disk
 *    (accepts, heartbeats, catch-up, questions);
 * 3. send `messagesAfterAppend` only once the records of this Ready and of
 *    every earlier one are durable: they vouch for them (a promise, an accepted
 *    value, a nack reporting the promise, the candidate's own prepare);
 *    a message to this node itself is stepped in locally, under the same rule;
 * 4. apply `apply` to the state machine, in order (slots are consecutive and
 *    continue from the last Ready's, or from an installed snapshot), and answer
 *    the clients waiting on them. This may happen at once: a chosen slot is
 *    already durable on a majority.
 * `snapshotNeeded` asks the driver to fetch node `from`'s snapshot (which covers
 * at least `slot`) and install it: the chosen values this node lacks are gone
 * from that peer's log.
 * `readsConfirmed`: reads (PaxosNode.read) the leader confirmed; answer each
 * from the state machine once it has applied the read's slot, never from the
 * log and without waiting for any fsync. `readsFailed`: reads given up (the
 * node stopped leading, or no majority answered in time); tell their clients
 * to retry. A confirmed read not yet answered when the node stops leading may
 * be failed the same way.
 */
export interface Ready {
  number: number;
  records: WalRecord[];
  mustSync: boolean;
  messages: PeerMessage[];
  messagesAfterAppend: PeerMessage[];
  apply: ChosenEntry[];
  events: CoreEvent[];
  snapshotNeeded: { from: NodeId; slot: Slot } | null;
  readsConfirmed: ConfirmedRead[];
  readsFailed: FailedRead[];
}

/** What the driver tells the core it has done with the Readies it took (etcd's Advance). */
export interface Progress {
  /** Every Ready up to this number has its records durable (or written, when it needed no sync). */
  persisted?: number;
  /** The state machine has applied every slot up to this one. */
  applied?: Slot;
}

export const ballotZero: Ballot = Object.freeze({ round: 0, node: 0 });

/** Negative when a < b, zero when equal, positive when a > b. */
export function compareBallots(a: Ballot, b: Ballot): number {
  if (a.round !== b.round) return a.round < b.round ? -1 : 1;
  if (a.node !== b.node) return a.node < b.node ? -1 : 1;
  return 0;
}

export function ballotToString(b: Ballot): string {
  return `${b.round}.${b.node}`;
}

export const noopValue: Value = Object.freeze({ commands: Object.freeze([]) as unknown as Command[] });
