// The vocabulary of the Paxos core: ballots, values, peer messages, write-ahead
// log records and the Ready batch the core hands to whoever drives it.
// Pure types and tiny pure helpers only; this file is imported by wire, storage,
// runtime and the simulation alike.

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
  ballot: Ballot;
  slot: Slot;
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
 * A node that started on an empty data dir asks its peers what they know
 * before it votes: it may be a replaced disk that forgot its promises.
 */
export interface ProbeMessage extends Envelope {
  type: 'probe';
}

/**
 * A rebuilding node asks the leader to make every slot up to `toSlot` chosen
 * (with no-ops if need be): a peer accepted something there, so it may hold a
 * value the rebuilding node once helped choose, and an idle cluster would
 * otherwise never get that far.
 */
export interface FillMessage extends Envelope {
  type: 'fill';
  toSlot: Slot;
}

/** What the sender has promised, accepted and learned, for a rebuilding node. */
export interface ProbeReplyMessage extends Envelope {
  type: 'probe_reply';
  promised: Ballot;
  /** The highest slot the sender has accepted a value for (0 when none). */
  acceptedUpTo: Slot;
  commitIndex: Slot;
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
  | ChosenRequestMessage
  | ChosenReplyMessage
  | ProbeMessage
  | ProbeReplyMessage
  | FillMessage;

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
  'chosen_request',
  'chosen_reply',
  'probe',
  'probe_reply',
  'fill',
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
 * This node started on an empty data dir and does not vote until it has rebuilt
 * what it may have forgotten (done: false), or it has finished (done: true).
 * Durable, so that a crash in between does not let it vote too early.
 */
export interface RebuildRecord {
  type: 'rebuild';
  done: boolean;
}

export type WalRecord = PromiseRecord | AcceptRecord | ChosenRecord | RebuildRecord;

export type WalRecordType = WalRecord['type'];

/** Something worth telling an operator about (logs, dashboard events). */
export type CoreEvent =
  | { kind: 'rebuilding'; peersNeeded: number }
  | { kind: 'rebuilt'; promised: Ballot; commitIndex: Slot }
  | { kind: 'candidate'; ballot: Ballot }
  | { kind: 'leader'; ballot: Ballot }
  | { kind: 'follower'; leader: NodeId | null; ballot: Ballot }
  | { kind: 'preempted'; ballot: Ballot; by: Ballot };

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
