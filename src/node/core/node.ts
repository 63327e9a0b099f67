// One Multi-Paxos node as a pure, deterministic state machine: acceptor,
// would-be leader and replica in one. Messages, ticks and client commands go in;
// a Ready batch (records to persist, messages to send, slots to apply) comes out.
// No sockets, timers, clocks, files or unseeded randomness here: the runtime and
// the simulation drive it the same way.
//
// Membership is replicated state (membership.ts, docs/membership.md): the
// configuration of slot t follows from the changes chosen at slots <= t -
// window, votes count per (node id, incarnation), and a node that belongs to no
// cluster yet founds or joins one through the bootstrap exchange (join_query).
import { Acceptor, emptyAcceptorState, type AcceptorState } from './acceptor.js';
import { assert } from './assert.js';
import { Campaign, Leadership, Promises, type Proposal, type PeerProgress } from './leader.js';
import { checkCoreLimits, defaultCoreLimits, type CoreLimits } from './limits.js';
import {
  advanceThrough,
  dropEndedEpochs,
  epochsMax,
  changePending,
  cloneState,
  configurationAt,
  configurationKey,
  forgetThrough,
  foundingState,
  isRetired,
  isVoter,
  memberOf,
  membershipChangeOf,
  membershipValue,
  newestEpochSlot,
  stateAsOf,
  type Configuration,
  type Incarnation,
  type Member,
  type MembershipChange,
  type MembershipState,
  VoterQuorums,
} from './membership.js';
import {
  ballotZero,
  compareBallots,
  noopValue,
  type AcceptedEntry,
  type ChosenEntry,
  type AcceptMessage,
  type AcceptedMessage,
  type Ballot,
  type ChosenReplyMessage,
  type ChosenRequestMessage,
  type Command,
  type CoreEvent,
  type HeartbeatMessage,
  type HeartbeatReplyMessage,
  type JoinQueryMessage,
  type JoinReplyMessage,
  type NackMessage,
  type NodeId,
  type PeerMessage,
  type PrepareMessage,
  type PreVoteMessage,
  type PreVoteReplyMessage,
  type PromiseMessage,
  type Progress,
  type TimeoutNowMessage,
  type TransferFailure,
  type Ready,
  type Slot,
  type Value,
  type WalRecord,
} from './messages.js';
import { Prng } from './prng.js';
import { majority } from './quorum.js';
import { ReadTracker, type AckQuorum, type ConfirmedRead, type ReadFailure, type ReadId } from './reads.js';
import { Replica } from './replica.js';
import { commandBytes, valueBytes } from './size.js';

export type Role = 'follower' | 'candidate' | 'leader';

/** What a node had made durable before it stopped, rebuilt from its snapshot and log by recoverState. */
export interface RecoveredState extends AcceptorState {
  chosen: Map<Slot, Value>;
  /** The slot the state machine's snapshot covers (0 when none): slots up to it are chosen and applied. */
  snapshotSlot: Slot;
  /** The cluster's membership as far as this node knew it; null: it has founded or joined no cluster yet. */
  membership: MembershipState | null;
  /** Before that: the incarnations it had heard from fresh peers (bootstrap_view records). */
  bootstrapView: { id: NodeId; incarnation: Incarnation }[];
}

/**
 * How a node that belongs to no cluster yet (no membership record, whatever
 * else its data dir holds) gets one (etcd's --initial-cluster-state):
 * `unanimous` (the default) founds a cluster once every peer answers that it
 * was never part of one, and they agree on everyone's incarnation;
 * `majority` (--initial-cluster-state new) founds once a majority does, after
 * a grace period, naming the silent ones with incarnation null; `join`
 * (existing, --join) never founds: it adopts the cluster a member tells it of.
 * In every mode, a peer that answers with a cluster's membership is adopted.
 */
export type BootstrapMode = 'unanimous' | 'majority' | 'join';

/** The flag's words: `new` lets a majority found, `existing` only joins. */
export type InitialClusterState = 'new' | 'existing';

export const initialClusterStates: readonly InitialClusterState[] = ['new', 'existing'];

export function bootstrapModeFor(initialClusterState: InitialClusterState | undefined): BootstrapMode {
  if (initialClusterState === 'new') return 'majority';
  if (initialClusterState === 'existing') return 'join';
  return 'unanimous';
}

/** The default membership window W: today's default of slots in flight, so the pipeline is never narrower than before. */
export const membershipWindowDefault = defaultCoreLimits.slotsInFlightMax;

/**
 * Deliberately broken cores, only to show that the simulation catches them:
 * `counts-any-incarnation` counts a vote whatever incarnation cast it (a wiped
 * disk's new incarnation completes the old one's quorums); `config-from-unchosen`
 * takes a change into effect at its own proposal, before it is chosen;
 * `transfer-at-leaders-ballot` has a leadership transfer's target campaign at
 * the old leader's ballot instead of a higher one of its own (two proposers,
 * one ballot: the old leader, which never sees a higher ballot, resumes).
 */
export type CoreSabotage = 'counts-any-incarnation' | 'config-from-unchosen' | 'transfer-at-leaders-ballot';

export interface PaxosNodeOptions {
  id: NodeId;
  /** This data dir's incarnation (identity.json), durable before the node first speaks. */
  incarnation: Incarnation;
  /** Seeds the election-timeout PRNG; the simulation derives it from its own seed. */
  seed: number;
  limits?: Partial<CoreLimits>;
  recovered?: RecoveredState;
  /**
   * A membership to start with when none is recovered (tests, a restored
   * backup): written as this node's first record, durable before it votes.
   */
  founding?: MembershipState;
  /** How to get a membership when none is recovered or given: the peers to ask and the window to found with. */
  bootstrap?: {
    mode: BootstrapMode;
    peers: readonly NodeId[];
    window?: number;
    /**
     * What this data dir was seeded with: '' (the default) for an empty one;
     * for one restored from a backup (`paxos snapshot restore`), a name of
     * that backup (`<slot>:<sha256>`), whose snapshot is `recovered`'s. Only
     * nodes with the same base found a cluster together, from the snapshot's
     * slot + 1; a restored node never joins a running cluster.
     */
    base?: string;
  };
  /** The leader replaces (id, old incarnation) by (id, new) once the new one has caught up (default true). */
  autoReplace?: boolean;
  sabotage?: CoreSabotage;
  /**
   * Deliberately broken, only to show that the simulation catches it:
   * `readsWithoutConfirm` confirms a read at once, without the heartbeat
   * round, so a deposed leader that has not heard of its successor answers
   * from its old state. `readsAtCommitIndex` stamps a read with the commit
   * index alone, so a new leader answers before the slots it re-proposed on
   * taking over are chosen again, missing a write its predecessor acknowledged.
   */
  unsafe?: { readsWithoutConfirm?: boolean; readsAtCommitIndex?: boolean };
}

export type ReadOutcome =
  | { status: 'queued' }
  | { status: 'redirect'; leader: NodeId | null }
  | { status: 'busy'; readsWaitingMax: number };

export type ProposeOutcome =
  | { status: 'queued' }
  | { status: 'redirect'; leader: NodeId | null }
  | { status: 'busy'; pendingCommandsMax: number };

/** The answer to transferLeadership (docs/membership.md, "Leadership transfer"). */
export type TransferOutcome =
  | { status: 'started'; to: NodeId; ballot: Ballot }
  | { status: 'already'; leader: NodeId; ballot: Ballot }
  | { status: 'redirect'; leader: NodeId | null }
  | { status: 'refused'; code: Extract<TransferFailure, 'target_not_voter' | 'no_target' | 'busy'>; message: string };

/**
 * A leadership transfer in progress, started by this node while it led at
 * `ballot`. It outlives the leadership: once the target's higher ballot
 * deposes us, we wait to hear the target lead, within the same bound.
 */
interface LeaderTransfer {
  to: NodeId;
  ballot: Ballot;
  /** `removal`: a removed leader handing over by itself (no client waits on it). */
  why: 'request' | 'removal';
  startedTick: number;
  /** When timeout_now last went to the target (null: not yet caught up). */
  blessedAtTick: number | null;
}

export type ChangeOutcome = { status: 'queued' } | { status: 'redirect'; leader: NodeId | null } | { status: 'refused'; reason: string };

export interface CoreStatus {
  id: NodeId;
  incarnation: Incarnation;
  role: Role;
  leader: NodeId | null;
  ballot: Ballot;
  promised: Ballot;
  commitIndex: Slot;
  lastChosen: Slot;
  lastApplied: Slot;
  knownCommitIndex: Slot;
  proposalsInFlight: number;
  pendingCommands: number;
  /** Reads this leader holds until a heartbeat round confirms it still leads. */
  readsWaiting: number;
  compactedTo: Slot;
  /** True while this node's votes do not count: it belongs to no cluster yet, or its configuration does not name it as a voter. */
  rebuilding: boolean;
  /** This node in the configuration of the next open slot. */
  member: 'voter' | 'learner' | 'none' | 'pristine';
  /** The configuration of the next open slot, and from which slot it governs (null before founding or joining). */
  configuration: (Configuration & { fromSlot: Slot }) | null;
  /** A change chosen and not yet in effect, or proposed and not yet chosen. */
  changePending: boolean;
  /** The target of the leadership transfer this node started and that has not ended yet (null: none). */
  transferringTo: NodeId | null;
  /** Readies handed out whose records the driver has not yet reported durable (its write queue). */
  readiesUnpersisted: number;
  tick: number;
}

/**
 * Rebuilds what the node promised, accepted and learned from its records, in log
 * order, on top of a snapshot at `snapshotSlot` (records at or below it are
 * stale) that carried `snapshotMembership`. `rebuild` records of older
 * versions are ignored.
 */
export function recoverState(records: Iterable<WalRecord>, snapshotSlot: Slot = 0, snapshotMembership: MembershipState | null = null): RecoveredState {
  const state: RecoveredState = { promised: ballotZero, accepted: new Map(), chosen: new Map(), snapshotSlot, membership: snapshotMembership === null ? null : cloneState(snapshotMembership), bootstrapView: [] };
  const raise = (ballot: Ballot) => {
    if (compareBallots(ballot, state.promised) > 0) state.promised = ballot;
  };
  for (const record of records) {
    if (record.type === 'promise') raise(record.ballot);
    if (record.type === 'membership') {
      if (state.membership === null || record.state.throughSlot >= state.membership.throughSlot) state.membership = cloneState(record.state);
    }
    if (record.type === 'bootstrap_view') state.bootstrapView = record.view.map((entry) => ({ ...entry }));
    if (record.type === 'promise' || record.type === 'rebuild' || record.type === 'membership' || record.type === 'bootstrap_view' || record.slot <= snapshotSlot) continue;
    if (record.type === 'accept') {
      raise(record.ballot);
      const known = state.accepted.get(record.slot);
      if (known === undefined || compareBallots(record.ballot, known.ballot) >= 0) {
        state.accepted.set(record.slot, { slot: record.slot, ballot: record.ballot, value: record.value });
      }
    }
    if (record.type === 'chosen') state.chosen.set(record.slot, record.value);
  }
  return state;
}

interface Bootstrap {
  mode: BootstrapMode;
  peers: NodeId[];
  window: number;
  /** PaxosNodeOptions.bootstrap.base: founders must share it. */
  base: string;
  /** The slot the snapshot this node was seeded with covers (0 for an empty data dir): the founded cluster's first slot follows it. */
  baseSlot: Slot;
  /** Peers that answered pristine from another base, or as members while this node was restored (it founds, never joins). */
  otherBase: Set<NodeId>;
  /** Incarnations heard from pristine nodes, this one included. */
  view: Map<NodeId, Incarnation>;
  /** The latest pristine answer of each peer. */
  pristine: Map<NodeId, JoinReplyMessage>;
  /** Peers that answered and are not pristine, but belong to no cluster either (joining, or waiting). */
  notPristine: Set<NodeId>;
  /** Peers heard with another incarnation than the view holds: their data dir was replaced meanwhile. */
  replaced: Set<NodeId>;
  lastQueryTick: number;
  startedTick: number;
  lastWhy: string;
}

export class PaxosNode {
  readonly id: NodeId;
  readonly incarnation: Incarnation;
  readonly limits: CoreLimits;
  private readonly prng: Prng;
  private readonly acceptor: Acceptor;
  private readonly replica: Replica;
  private readonly autoReplace: boolean;
  private readonly sabotage: CoreSabotage | null;
  /** Null while this node belongs to no cluster (bootstrap is then non-null). */
  private membership: MembershipState | null;
  /** The slot of a snapshot whose membership was taken and that is not compacted yet (see membershipForSnapshot). */
  private snapshotSlotPending: Slot | null = null;
  private bootstrap: Bootstrap | null = null;
  /** PaxosNodeOptions.bootstrap.base, kept once founded: a late restored founder asks, and adopts only the same base's cluster. */
  private readonly base: string;

  private now = 0;
  private role: Role = 'follower';
  private leaderId: NodeId | null = null;
  private lastLeaderContactTick = Number.NEGATIVE_INFINITY;
  private electionDeadlineTick: number;
  private highestRoundSeen: number;
  private campaign: Campaign | null = null;
  private leadership: Leadership | null = null;
  /** The highest commit index any leader has told us about, and who told us. */
  private knownCommitIndex: Slot = 0;
  private commitSource: NodeId | null = null;
  private lastCatchupRequestTick = Number.NEGATIVE_INFINITY;
  /** Pre-vote in progress: the voters that said they would answer our prepare. */
  private preVote: { config: Configuration; granted: Set<NodeId> } | null = null;
  /** Reads waiting for a heartbeat round that shows this leader still leads (reads.ts). */
  private readonly reads: ReadTracker;
  private readonly unsafeReadsWithoutConfirm: boolean;
  private readonly unsafeReadsAtCommitIndex: boolean;
  /** The configurations the read round in flight counts answers against (readQuorum), to tell when a change moved them. */
  private readRoundConfigs = '';
  private transfer: LeaderTransfer | null = null;

  private ready: Ready = emptyReady(1);
  /** The number of the last Ready handed out, and of the last the driver says is durable. */
  private readyNumber = 0;
  private persistedReady = 0;

  constructor(options: PaxosNodeOptions) {
    assert(typeof options.incarnation === 'string' && options.incarnation.length > 0, 'a node has an incarnation');
    this.id = options.id;
    this.incarnation = options.incarnation;
    this.limits = { ...defaultCoreLimits, ...options.limits };
    checkCoreLimits(this.limits);
    this.autoReplace = options.autoReplace ?? true;
    this.sabotage = options.sabotage ?? null;
    this.prng = new Prng(options.seed);
    const recovered = options.recovered ?? { ...emptyAcceptorState(), chosen: new Map(), snapshotSlot: 0, membership: null, bootstrapView: [] };
    this.acceptor = new Acceptor(recovered);
    this.replica = new Replica(recovered.chosen, recovered.snapshotSlot);
    this.highestRoundSeen = recovered.promised.round;
    this.electionDeadlineTick = this.randomElectionTimeout();
    this.reads = new ReadTracker(this.limits.readsWaitingMax, options.unsafe?.readsAtCommitIndex === true);
    this.unsafeReadsWithoutConfirm = options.unsafe?.readsWithoutConfirm === true;
    this.unsafeReadsAtCommitIndex = options.unsafe?.readsAtCommitIndex === true;
    this.membership = recovered.membership === null ? null : cloneState(recovered.membership);
    this.base = options.bootstrap?.base ?? '';
    assert(this.base === '' || recovered.snapshotSlot > 0, 'a node seeded from a backup starts from its snapshot');
    if (this.membership !== null) {
      assert(this.membership.throughSlot >= this.replica.compactedTo, `the membership known through slot ${this.membership.throughSlot} does not reach the snapshot at ${this.replica.compactedTo}`);
      this.advanceMembership();
    } else if (options.founding !== undefined) {
      this.adopt(cloneState(options.founding), 'founded');
    } else {
      const bootstrap = options.bootstrap ?? { mode: 'unanimous' as const, peers: [this.id] };
      const peers = [...new Set([...bootstrap.peers, this.id])].sort((a, b) => a - b);
      this.bootstrap = {
        mode: bootstrap.mode,
        peers,
        window: bootstrap.window ?? membershipWindowDefault,
        base: this.base,
        baseSlot: recovered.snapshotSlot,
        otherBase: new Set(),
        view: new Map([...recovered.bootstrapView.map((entry) => [entry.id, entry.incarnation] as const), [this.id, this.incarnation]]),
        pristine: new Map(),
        notPristine: new Set(),
        replaced: new Set(),
        lastQueryTick: Number.NEGATIVE_INFINITY,
        startedTick: 0,
        lastWhy: '',
      };
      this.tickBootstrap(this.bootstrap);
    }
  }

  // ---- inputs ------------------------------------------------------------

  /** Advances the node's clock by one tick: elections, heartbeats, resends, catch-up. */
  tick(): void {
    this.now += 1;
    if (this.membership === null) {
      if (this.bootstrap !== null) this.tickBootstrap(this.bootstrap);
      return;
    }
    this.expireTransfer();
    if (this.role === 'leader') this.tickLeader();
    else if (this.now >= this.electionDeadlineTick) this.startPreVote();
    if (this.role !== 'leader') this.requestMissingChosen();
  }

  /** Handles one validated message from a peer (or from this node to itself). */
  step(message: PeerMessage): void {
    assert(message.to === this.id, `message addressed to node ${message.to} stepped into node ${this.id}`);
    if (message.type === 'join_query') return this.onJoinQuery(message);
    if (message.type === 'join_reply') return this.onJoinReply(message);
    // A node that belongs to no cluster yet takes part in nothing else: it could not tell whose votes count.
    if (this.membership === null) return;
    switch (message.type) {
      case 'prevote':
        return this.onPreVote(message);
      case 'prevote_reply':
        return this.onPreVoteReply(message);
      case 'prepare':
        return this.onPrepare(message);
      case 'promise':
        return this.onPromise(message);
      case 'accept':
        return this.onAccept(message);
      case 'accepted':
        return this.onAccepted(message);
      case 'nack':
        return this.onNack(message);
      case 'heartbeat':
        return this.onHeartbeat(message);
      case 'heartbeat_reply':
        return this.onHeartbeatReply(message);
      case 'chosen_request':
        return this.onChosenRequest(message);
      case 'chosen_reply':
        return this.onChosenReply(message);
      case 'timeout_now':
        return this.onTimeoutNow(message);
    }
  }

  /**
   * Offers a client command. Only the leader queues it; it goes into the value of
   * the next free slot when the Ready is taken, so commands that arrive together
   * share a slot. `bytes` is its size (commandBytes), if the caller measured it.
   */
  propose(command: Command, bytes?: number): ProposeOutcome {
    if (this.role !== 'leader' || this.leadership === null) return { status: 'redirect', leader: this.liveLeader() };
    if (this.leadership.pending.length >= this.limits.pendingCommandsMax) {
      return { status: 'busy', pendingCommandsMax: this.limits.pendingCommandsMax };
    }
    this.leadership.enqueue(command, bytes ?? commandBytes(command));
    return { status: 'queued' };
  }

  /**
   * Offers a membership change (leader only, one at a time): refused while
   * another is proposed and not chosen, or chosen and not yet in effect.
   */
  proposeMembershipChange(change: MembershipChange): ChangeOutcome {
    const leadership = this.leadership;
    const membership = this.membership;
    if (this.role !== 'leader' || leadership === null || membership === null) return { status: 'redirect', leader: this.liveLeader() };
    const busy = this.changeBusy(leadership, membership);
    if (busy !== null) return { status: 'refused', reason: busy };
    if (this.transfer !== null) return { status: 'refused', reason: `leadership is being transferred to node ${this.transfer.to}; retry once it leads` };
    leadership.pendingChange = change;
    return { status: 'queued' };
  }

  /**
   * Moves leadership to `to` (null: the most caught-up live voter), etcd's
   * MsgTransferLeader. The target must be a voter of config(commitIndex + 1)
   * under the incarnation heard from it. From now on this leader proposes no
   * new commands (they queue, up to pendingCommandsMax) and no changes; once
   * the target reports our commit index and nothing is in flight, it gets a
   * timeout_now and campaigns at a higher ballot, skipping pre-vote. The Ready
   * reports transfer_done when the target is heard leading, or
   * transfer_failed (after an election timeout at most: this leader resumes).
   */
  transferLeadership(to: NodeId | null): TransferOutcome {
    const leadership = this.leadership;
    if (this.role !== 'leader' || leadership === null || this.membership === null) return { status: 'redirect', leader: this.liveLeader() };
    if (to === this.id) return { status: 'already', leader: this.id, ballot: leadership.ballot };
    if (this.transfer !== null) return { status: 'refused', code: 'busy', message: `a transfer to node ${this.transfer.to} is already under way` };
    const config = this.configAt(this.replica.commitIndex + 1);
    assert(config !== null, 'a leader knows the configuration of its next open slot');
    if (to === null) {
      const target = this.mostCaughtUpVoter(leadership, config);
      if (target === null) return { status: 'refused', code: 'no_target', message: 'no other voter has been heard from lately' };
      to = target;
    }
    const placed = memberOf(config, to);
    if (placed === null || placed.role !== 'voter' || placed.member.incarnation === null) {
      const what = placed === null ? 'not a member' : placed.role === 'learner' ? 'a learner' : 'a voter not yet bound to a data dir';
      return { status: 'refused', code: 'target_not_voter', message: `node ${to} is ${what} of the configuration from slot ${this.replica.commitIndex + 1}; only a voter can lead` };
    }
    this.beginTransfer(leadership, to, 'request');
    return { status: 'started', to, ballot: leadership.ballot };
  }

  /**
   * A linearizable read (a `get`, a state machine's query), without the log.
   * Only the leader takes it: it is stamped with the slot it must see applied
   * and waits for a heartbeat round that starts after it; the Ready then
   * reports it confirmed (readsConfirmed) or given up (readsFailed). `id` is
   * the driver's; the core only hands it back.
   */
  read(id: ReadId): ReadOutcome {
    if (this.role !== 'leader' || this.leadership === null) return { status: 'redirect', leader: this.liveLeader() };
    if (!this.reads.add(id, this.reads.readSlot(this.replica.commitIndex), this.now, this.replica.commitIndex + 1)) {
      return { status: 'busy', readsWaitingMax: this.limits.readsWaitingMax };
    }
    return { status: 'queued' };
  }

  /** Hands out everything the driver must do since the last call (see Ready for the order). */
  takeReady(): Ready {
    this.fillWindow();
    this.startReadRound();
    const ready = this.ready;
    ready.apply = this.replica.takeApplicable();
    ready.mustSync = ready.records.some((record) => record.type !== 'chosen');
    this.readyNumber = ready.number;
    this.ready = emptyReady(ready.number + 1);
    return ready;
  }

  /**
   * The driver reports what it has done with the Readies it took (etcd's
   * Advance): which are durable, and how far the state machine has applied.
   * Compaction and snapshot installs are judged by what it applied, not by
   * what was handed out.
   */
  advance(progress: Progress): void {
    if (progress.persisted !== undefined) {
      assert(progress.persisted <= this.readyNumber, `Ready ${progress.persisted} persisted but only ${this.readyNumber} was taken`);
      assert(progress.persisted >= this.persistedReady, `persisted Ready went back from ${this.persistedReady} to ${progress.persisted}`);
      this.persistedReady = progress.persisted;
    }
    if (progress.applied !== undefined) {
      this.replica.applied(progress.applied);
      this.dropEndedEpochs();
    }
  }

  /**
   * The driver has made a snapshot of the state applied up to `slot` durable:
   * forget what it covers. Returns the records that must be written to a fresh
   * log segment before older segments are deleted (the membership, the current
   * promise, and what is accepted and chosen above the snapshot): with the
   * snapshot they are all this node still needs to remember.
   */
  compact(slot: Slot): WalRecord[] {
    assert(slot <= this.replica.lastApplied, `compaction to slot ${slot} beyond applied slot ${this.replica.lastApplied}`);
    if (slot <= this.replica.compactedTo) {
      this.snapshotSlotPending = null;
      return this.checkpointRecords();
    }
    this.replica.compact(slot);
    this.acceptor.compact(slot);
    if (this.membership !== null) forgetThrough(this.membership, slot);
    const records = this.checkpointRecords();
    this.snapshotSlotPending = null;
    this.dropEndedEpochs();
    return records;
  }

  /**
   * The driver fetched a peer's snapshot at `slot` (carrying the membership as
   * of that slot) and made it durable. Returns null when it is no longer needed
   * (this node applied that far meanwhile, or leads), else the checkpoint
   * records, as for compact(). The driver restores its state machine from the
   * snapshot before it applies any later slot.
   */
  installSnapshot(slot: Slot, membership: MembershipState): WalRecord[] | null {
    if (slot <= this.replica.lastApplied || this.role === 'leader' || this.membership === null) return null;
    assert(membership.throughSlot === slot, `a snapshot at slot ${slot} carries the membership as of slot ${membership.throughSlot}`);
    assert(membership.window === this.membership.window, `a snapshot's membership window ${membership.window} differs from this cluster's ${this.membership.window}`);
    this.replica.install(slot);
    this.acceptor.compact(slot);
    if (membership.throughSlot >= this.membership.throughSlot) this.membership = cloneState(membership);
    else forgetThrough(this.membership, slot);
    // The installed snapshot supersedes one of our own being written (its compaction, if it comes, is below this slot).
    this.snapshotSlotPending = null;
    this.advanceMembership();
    this.knownCommitIndex = Math.max(this.knownCommitIndex, slot);
    this.lastCatchupRequestTick = Number.NEGATIVE_INFINITY; // ask for what follows at once
    return this.checkpointRecords();
  }

  private checkpointRecords(): WalRecord[] {
    const records: WalRecord[] = [];
    if (this.membership !== null) records.push({ type: 'membership', state: cloneState(this.membership) });
    if (this.acceptor.promised.round > 0) records.push({ type: 'promise', ballot: this.acceptor.promised });
    const compacted = this.replica.compactedTo;
    for (const entry of this.acceptor.acceptedEntries()) {
      if (entry.slot > compacted) records.push({ type: 'accept', slot: entry.slot, ballot: entry.ballot, value: entry.value });
    }
    for (const entry of this.replica.chosenFrom(compacted + 1)) records.push({ type: 'chosen', slot: entry.slot, value: entry.value });
    return records;
  }

  // ---- queries -----------------------------------------------------------

  /** This node's role, without building a whole status (the runtime asks on every command). */
  get currentRole(): Role {
    return this.role;
  }

  status(): CoreStatus {
    const own = this.leadership?.ballot ?? this.campaign?.ballot ?? this.acceptor.promised;
    const next = this.replica.commitIndex + 1;
    const config = this.configAt(next);
    const placed = config === null ? null : memberOf(config, this.id);
    const member = this.membership === null ? 'pristine' : placed === null || placed.member.incarnation !== this.incarnation ? 'none' : placed.role;
    return {
      id: this.id,
      incarnation: this.incarnation,
      role: this.role,
      leader: this.role === 'leader' ? this.id : this.liveLeader(),
      ballot: own,
      promised: this.acceptor.promised,
      commitIndex: this.replica.commitIndex,
      lastChosen: this.replica.lastChosen,
      lastApplied: this.replica.lastApplied,
      knownCommitIndex: Math.max(this.knownCommitIndex, this.replica.commitIndex),
      proposalsInFlight: this.leadership?.proposals.size ?? 0,
      pendingCommands: this.leadership?.pending.length ?? 0,
      readsWaiting: this.reads.size,
      compactedTo: this.replica.compactedTo,
      rebuilding: member !== 'voter',
      member,
      configuration: config === null || this.membership === null ? null : { ...config, fromSlot: this.epochStart(next) },
      changePending: this.membership !== null && (changePending(this.membership) || this.leadership?.changeInFlightSlot != null || this.leadership?.pendingChange != null),
      transferringTo: this.transfer?.to ?? null,
      readiesUnpersisted: this.readyNumber - this.persistedReady,
      tick: this.now,
    };
  }

  /** The chosen value of `slot`, if this node knows it (client voting, tests). */
  chosenValue(slot: Slot): Value | undefined {
    return this.replica.chosen(slot);
  }

  /** What this acceptor accepted at `slot` (tests and simulation invariants). */
  acceptedEntry(slot: Slot): AcceptedEntry | undefined {
    return this.acceptor.accepted(slot);
  }

  /** config(slot) as this node knows it from chosen slots; null when it cannot know it yet. */
  configurationAt(slot: Slot): Configuration | null {
    return this.configAt(slot);
  }

  /**
   * The membership as of applied slot `slot`, for the snapshot the driver is
   * taking at that slot (null before founding or joining). Not a mere query:
   * the configurations from `slot` + 1 on are then kept until compact(), whose
   * checkpoint must carry them, since a restart from this snapshot resumes
   * applying (and snapshotting) from `slot`.
   */
  membershipForSnapshot(slot: Slot): MembershipState | null {
    if (this.membership === null) return null;
    // One snapshot at a time (the driver's); a later one replaces a skipped one.
    this.snapshotSlotPending = slot;
    return stateAsOf(this.membership, slot);
  }

  /**
   * The membership as of `slot`, the slot applied just now, for a backup
   * (`paxos snapshot save`): a query, since no restart resumes from a backup,
   * so nothing need be kept for it (epochs after the applied slot are kept anyway).
   */
  membershipAsOfApplied(slot: Slot): MembershipState | null {
    return this.membership === null ? null : stateAsOf(this.membership, slot);
  }

  /** How many configurations (epochs) this node keeps; dropEndedEpochs keeps it to a few (tests, limits). */
  get epochsKept(): number {
    return this.membership?.epochs.length ?? 0;
  }

  /** Every member any configuration this node knows names (voters and learners), the newest entry per id last. */
  knownMembers(): Member[] {
    const byId = new Map<NodeId, Member>();
    for (const epoch of this.membership?.epochs ?? []) for (const member of [...epoch.config.voters, ...epoch.config.learners]) byId.set(member.id, member);
    return [...byId.values()];
  }

  /** The leader's view of its peers: incarnation and commit index from their latest accepted (empty on a follower). */
  peerProgress(): ReadonlyMap<NodeId, PeerProgress> {
    return this.leadership?.progress ?? new Map();
  }

  // ---- membership ----------------------------------------------------------

  private configAt(slot: Slot): Configuration | null {
    return this.membership === null ? null : configurationAt(this.membership, slot);
  }

  private epochStart(slot: Slot): Slot {
    let from = 1;
    for (const epoch of this.membership?.epochs ?? []) if (epoch.fromSlot <= slot) from = epoch.fromSlot;
    return from;
  }

  /** The chosen prefix grew: changes chosen in it move the configuration of later slots (only ever from chosen slots). */
  private advanceMembership(): void {
    const membership = this.membership;
    if (membership === null) return;
    while (membership.throughSlot < this.replica.commitIndex) {
      const slot = membership.throughSlot + 1;
      // config(t) follows only from chosen slots: the gap-free chosen prefix, one slot at a time.
      assert(slot <= this.replica.commitIndex, `membership advanced past the chosen prefix (slot ${slot}, commit ${this.replica.commitIndex})`);
      const value = this.replica.chosen(slot);
      assert(value !== undefined, `the membership follows every chosen slot, but slot ${slot} (below the commit index) is unknown`);
      const change = advanceThrough(membership, slot, value);
      if (change !== null) {
        this.ready.events.push({ kind: 'membership', slot, effectiveFrom: slot + membership.window, change: describeChange(change) });
      }
    }
    this.dropEndedEpochs();
  }

  /**
   * Forgets the configurations no one can ask for any more: those that end at
   * or before the first slot not yet applied (a snapshot is taken at an applied
   * slot and carries config(t) from the slot after it; a snapshot being written
   * holds them until its compaction), nor before the slot a campaign in
   * progress counts its promises at. Phase 1, phase 2, reads and
   * peers() look only at open slots, above the commit index (>= applied).
   */
  private dropEndedEpochs(): void {
    const membership = this.membership;
    if (membership === null) return;
    let firstNeeded = Math.min(this.replica.lastApplied, membership.throughSlot, this.snapshotSlotPending ?? Number.POSITIVE_INFINITY) + 1;
    if (this.campaign !== null) firstNeeded = Math.min(firstNeeded, this.campaign.fromSlot);
    dropEndedEpochs(membership, firstNeeded);
  }

  /** Whether this node may campaign: it is a voter (this very incarnation) of the next open slot's configuration. */
  private isVoterNow(): boolean {
    const config = this.configAt(this.replica.commitIndex + 1);
    return config !== null && isVoter(config, this.id, this.incarnation);
  }

  /**
   * Every node a leader or candidate talks to: the members (voters and
   * learners) of the configurations of the open slots it may propose,
   * commitIndex + 1 .. commitIndex + window.
   */
  private peers(): NodeId[] {
    const membership = this.membership;
    if (membership === null) return [];
    const first = this.replica.commitIndex + 1;
    const last = first + membership.window - 1;
    const ids = new Set<NodeId>();
    for (let index = 0; index < membership.epochs.length; index += 1) {
      const epoch = membership.epochs[index];
      const next = membership.epochs[index + 1];
      if (epoch.fromSlot > last || (next !== undefined && next.fromSlot <= first)) continue;
      for (const member of [...epoch.config.voters, ...epoch.config.learners]) ids.add(member.id);
    }
    return [...ids].sort((a, b) => a - b);
  }

  private changeBusy(leadership: Leadership, membership: MembershipState): string | null {
    // changeInFlightSlot also marks a change re-proposed from an earlier ballot (fillWindow), so no scan of the window is needed.
    if (leadership.pendingChange !== null || leadership.changeInFlightSlot !== null) return 'another membership change is in flight';
    if (changePending(membership)) return `the last membership change takes effect at slot ${newestEpochSlot(membership)}, not yet reached`;
    // Epochs are dropped once applied past: this many means the state machine lags far behind the chosen slots.
    if (membership.epochs.length >= epochsMax) return `${membership.epochs.length} configurations are kept (at most ${epochsMax}): the state machine has applied only up to slot ${this.replica.lastApplied}; retry once it catches up`;
    return null;
  }

  // ---- bootstrap ---------------------------------------------------------
  // A node with no membership asks every peer for its state. Founding needs
  // every peer pristine (unanimous) or a majority (--initial-cluster-state new),
  // all of them reporting the same view of everyone's incarnation; any peer
  // that belongs to a cluster is followed instead (docs/membership.md).

  private tickBootstrap(bootstrap: Bootstrap): void {
    if (this.now - bootstrap.lastQueryTick < this.limits.resendTicks) return;
    bootstrap.lastQueryTick = this.now;
    if (bootstrap.peers.length === 1 && bootstrap.mode !== 'join') return this.tryFound(bootstrap);
    for (const to of bootstrap.peers) {
      if (to !== this.id) this.send({ type: 'join_query', from: this.id, to, incarnation: this.incarnation, window: bootstrap.window, ...baseField(bootstrap.base) });
    }
    this.tryFound(bootstrap);
  }

  private onJoinQuery(message: JoinQueryMessage): void {
    const bootstrap = this.bootstrap;
    const pristine = this.membership === null && bootstrap !== null && bootstrap.mode !== 'join';
    if (pristine && bootstrap.peers.includes(message.from) && message.window === bootstrap.window && (message.base ?? '') === bootstrap.base) this.hear(bootstrap, message.from, message.incarnation);
    this.send({
      type: 'join_reply',
      from: this.id,
      to: message.from,
      incarnation: this.incarnation,
      window: bootstrap?.window ?? this.membership?.window ?? membershipWindowDefault,
      pristine,
      view: pristine ? [...bootstrap.view].map(([id, incarnation]) => ({ id, incarnation })) : [],
      membership: this.membership === null ? null : cloneState(this.membership),
      ...baseField(this.base),
    });
  }

  private onJoinReply(message: JoinReplyMessage): void {
    const bootstrap = this.bootstrap;
    if (this.membership !== null || bootstrap === null) return;
    // A membership known through fewer slots than this node's snapshot covers cannot govern what follows it (a peer's bug): ignored.
    if (message.membership !== null && message.membership.throughSlot < this.replica.compactedTo) return;
    // A restored node adopts only the cluster founded from its own backup (a founder that was quicker than it).
    if (message.membership !== null && (bootstrap.base === '' || message.base === bootstrap.base)) return this.adopt(cloneState(message.membership), 'joined');
    if (!bootstrap.peers.includes(message.from)) return;
    if (message.membership !== null || (message.pristine && (message.base ?? '') !== bootstrap.base)) {
      // A restored data dir holds another history's state: it founds a cluster with dirs restored from the same backup only.
      bootstrap.otherBase.add(message.from);
      bootstrap.pristine.delete(message.from);
      return this.tryFound(bootstrap);
    }
    bootstrap.otherBase.delete(message.from);
    if (!message.pristine || bootstrap.mode === 'join') {
      bootstrap.notPristine.add(message.from);
      bootstrap.pristine.delete(message.from);
      return this.tryFound(bootstrap);
    }
    bootstrap.notPristine.delete(message.from);
    bootstrap.pristine.set(message.from, message);
    if (message.window === bootstrap.window) this.hear(bootstrap, message.from, message.incarnation);
    this.tryFound(bootstrap);
  }

  /**
   * A fresh peer's incarnation joins the view, durably, before any reply
   * reporting it leaves. A view only grows: an id heard once keeps that
   * incarnation (a peer that shows another was wiped while the cluster was
   * being founded, and must join the cluster once it exists).
   */
  private hear(bootstrap: Bootstrap, id: NodeId, incarnation: Incarnation): void {
    const known = bootstrap.view.get(id);
    if (known === incarnation) return;
    if (known !== undefined) {
      bootstrap.replaced.add(id);
      return;
    }
    bootstrap.view.set(id, incarnation);
    this.ready.records.push({ type: 'bootstrap_view', view: [...bootstrap.view].map(([viewId, viewIncarnation]) => ({ id: viewId, incarnation: viewIncarnation })) });
  }

  private tryFound(bootstrap: Bootstrap): void {
    if (bootstrap.mode === 'join') return this.waiting(bootstrap, 'joining an existing cluster: waiting for a member to answer (or for `paxos member add`/`replace` to name this node)');
    const others = bootstrap.peers.filter((id) => id !== this.id);
    const viewKey = (view: Iterable<[NodeId, Incarnation]> | { id: NodeId; incarnation: Incarnation }[]) =>
      [...view].map((e) => (Array.isArray(e) ? `${e[0]}:${e[1]}` : `${e.id}:${e.incarnation}`)).sort().join(',');
    const ownView = viewKey(bootstrap.view);
    const agreeing = others.filter((id) => {
      const reply = bootstrap.pristine.get(id);
      return reply !== undefined && reply.window === bootstrap.window && viewKey(reply.view) === ownView;
    });
    const unanimous = agreeing.length === others.length && bootstrap.view.size === bootstrap.peers.length;
    const graceOver = this.now - bootstrap.startedTick >= this.limits.electionTimeoutTicksMax;
    const enough = bootstrap.mode === 'majority' && graceOver && agreeing.length + 1 >= majority(bootstrap.peers.length);
    if (unanimous || enough) {
      const voters: Member[] = bootstrap.peers.map((id) => ({ id, incarnation: bootstrap.view.get(id) ?? null }));
      this.adopt(foundingState(voters, bootstrap.window, bootstrap.baseSlot), 'founded');
      return;
    }
    const silent = others.filter((id) => !bootstrap.pristine.has(id) && !bootstrap.notPristine.has(id) && !bootstrap.otherBase.has(id));
    const windows = [...bootstrap.pristine.values()].filter((r) => r.window !== bootstrap.window).map((r) => r.from);
    const why =
      bootstrap.otherBase.size > 0
        ? `not founding a cluster: node(s) ${[...bootstrap.otherBase].join(', ')} ${bootstrap.base === '' ? 'were restored from a backup' : 'were not restored from the same backup as this node'}; ` +
          'restore every node of the new cluster from the same backup file (paxos snapshot restore), on empty data dirs'
        : bootstrap.replaced.size > 0
        ? `not founding a cluster: node(s) ${[...bootstrap.replaced].join(', ')} came back with another data dir while the cluster was being founded; restart every node on an empty data dir, or found with the others and let the replaced one join`
        : bootstrap.notPristine.size > 0
        ? `not founding a cluster: node(s) ${[...bootstrap.notPristine].join(', ')} answered that they are not fresh; start this node with --join to join their cluster, or give them empty data dirs`
        : windows.length > 0
          ? `not founding a cluster: node(s) ${windows.join(', ')} would found it with another membership window`
          : silent.length > 0
            ? `waiting for node(s) ${silent.join(', ')} to answer before founding a cluster (every node in --peers must be reachable and fresh; --initial-cluster-state new lets a majority found it)`
            : 'waiting for the fresh nodes to agree on every node\'s incarnation';
    this.waiting(bootstrap, why);
  }

  private waiting(bootstrap: Bootstrap, why: string): void {
    if (why === bootstrap.lastWhy) return;
    bootstrap.lastWhy = why;
    this.ready.events.push({ kind: 'waiting', why });
  }

  /** This node now belongs to a cluster: the membership is durable before anything that vouches for it leaves. */
  private adopt(state: MembershipState, how: 'founded' | 'joined'): void {
    this.membership = state;
    this.bootstrap = null;
    this.ready.records.push({ type: 'membership', state: cloneState(state) });
    this.advanceMembership();
    const config = this.configAt(Math.max(this.replica.commitIndex + 1, state.validFrom));
    if (how === 'founded') this.ready.events.push({ kind: 'founded', voters: config === null ? '?' : configurationKey(config) });
    else {
      const placed = config === null ? null : memberOf(config, this.id);
      // Named with no incarnation yet (`member add`): the first data dir of that id that catches up is bound to it.
      const member = placed === null ? 'none' : placed.member.incarnation === null ? 'unbound' : placed.member.incarnation !== this.incarnation ? 'none' : placed.role;
      this.ready.events.push({ kind: 'joined', configuration: config === null ? '?' : configurationKey(config), member });
    }
    this.electionDeadlineTick = this.now + this.randomElectionTimeout();
  }

  // ---- pre-vote ----------------------------------------------------------

  private startPreVote(): void {
    this.electionDeadlineTick = this.now + this.randomElectionTimeout();
    // A node the configuration does not name as a voter never campaigns (a removed node stays quiet, a learner listens).
    if (!this.isVoterNow()) return;
    const config = this.configAt(this.replica.commitIndex + 1);
    assert(config !== null, 'a voter knows its configuration');
    this.preVote = { config, granted: new Set([this.id]) };
    if (this.preVoteGranted()) return this.startCampaign();
    for (const voter of config.voters) if (voter.id !== this.id) this.send({ type: 'prevote', from: this.id, to: voter.id });
  }

  private preVoteGranted(): boolean {
    const preVote = this.preVote;
    if (preVote === null) return false;
    const granted = preVote.config.voters.filter((voter) => preVote.granted.has(voter.id)).length;
    return granted >= majority(preVote.config.voters.length);
  }

  private onPreVote(message: PreVoteMessage): void {
    const granted = !this.hearsLiveLeaderOtherThan(message.from);
    this.send({ type: 'prevote_reply', from: this.id, to: message.from, granted });
  }

  private onPreVoteReply(message: PreVoteReplyMessage): void {
    if (this.preVote === null || !message.granted || this.role === 'leader') return;
    this.preVote.granted.add(message.from);
    if (this.preVoteGranted()) this.startCampaign();
  }

  // ---- phase 1 -----------------------------------------------------------

  /** `blessing`: the ballot of the leader that sent us timeout_now (a transfer); our prepares then say so. */
  private startCampaign(blessing: Ballot | null = null): void {
    this.preVote = null;
    const round = Math.max(this.highestRoundSeen, this.acceptor.promised.round) + 1;
    // (The sabotage reuses the blessing leader's own ballot: one ballot, two proposers.)
    const ballot: Ballot = blessing !== null && this.sabotage === 'transfer-at-leaders-ballot' ? { ...blessing } : { round, node: this.id };
    this.highestRoundSeen = round;
    this.campaign = new Campaign(ballot, this.replica.commitIndex + 1, this.now);
    this.failReads('not_leader');
    this.leadership = null;
    this.setRole('candidate', null);
    this.ready.events.push({ kind: 'candidate', ballot });
    this.electionDeadlineTick = this.now + this.randomElectionTimeout();
    // "Each proposer remembers (in stable storage) the highest-numbered proposal it has
    // tried to issue": promise our own ballot now, so it is durable before any prepare
    // leaves, whatever order our own messages come back in. A restart never reuses it.
    const own = this.acceptor.prepare(ballot, this.campaign.fromSlot);
    if (own.promised && own.record !== null) this.ready.records.push(own.record);
    // Every member of every configuration of the open slots this candidate may propose.
    const fromSlot = this.campaign.fromSlot;
    for (const to of new Set([this.id, ...this.peers()])) this.send(blessing === null ? { type: 'prepare', from: this.id, to, ballot, fromSlot } : { type: 'prepare', from: this.id, to, ballot, fromSlot, blessed: true });
  }

  private onPrepare(message: PrepareMessage): void {
    // Pre-vote in spirit (etcd #9241): while a live leader is heard, a node back
    // from a partition must not depose it, so its prepare goes unanswered.
    // A blessed prepare (a leadership transfer) is answered all the same: the leader we hear asked for it.
    if (message.from !== this.id && message.blessed !== true && this.hearsLiveLeaderOtherThan(message.from)) return;
    const outcome = this.acceptor.prepare(message.ballot, message.fromSlot);
    if (!outcome.promised) return this.nack(message.from, message.ballot, outcome.higher);
    if (outcome.record !== null) this.ready.records.push(outcome.record);
    this.observeBallot(message.ballot);
    const report = this.promiseReport(message.fromSlot, outcome.accepted);
    this.send({ type: 'promise', from: this.id, to: message.from, incarnation: this.incarnation, ballot: message.ballot, fromSlot: message.fromSlot, ...report });
  }

  /**
   * What a promise reports. A candidate whose log starts below our snapshot, or
   * that lags us by more than a catch-up batch (in slots or bytes), must learn
   * the chosen log before it may lead: our report would be incomplete
   * (compacted) or too large for one message, so we send catchUpTo instead.
   * Otherwise every accepted value from fromSlot on (Synod needs them all) and
   * the chosen values we know, as many as fit a catch-up batch: those only
   * spare the new leader a round, since a chosen value was accepted by a
   * majority, which its promises meet.
   */
  private promiseReport(fromSlot: Slot, accepted: AcceptedEntry[]): Pick<PromiseMessage, 'accepted' | 'chosen' | 'catchUpTo'> {
    const commitIndex = this.replica.commitIndex;
    const behindUs = fromSlot <= this.replica.compactedTo || commitIndex - fromSlot >= this.limits.catchupSlotsMax;
    if (behindUs) return { accepted: [], chosen: [], catchUpTo: commitIndex };
    const chosen: ChosenEntry[] = [];
    let bytes = 0;
    for (const entry of this.replica.chosenFrom(fromSlot)) {
      bytes += valueBytes(entry.value);
      if (bytes > this.limits.catchupBytesMax) {
        // catchUpTo must reach fromSlot, or the candidate would count a promise without our accepted values.
        if (commitIndex >= fromSlot) return { accepted: [], chosen: [], catchUpTo: commitIndex };
        break;
      }
      chosen.push(entry);
    }
    return { accepted, chosen, catchUpTo: 0 };
  }

  private onPromise(message: PromiseMessage): void {
    const leadership = this.leadership;
    if (this.role === 'leader' && leadership !== null) {
      // A voter of a later configuration promising our ballot: the slots it governs may now be proposed.
      if (compareBallots(message.ballot, leadership.ballot) !== 0 || message.catchUpTo !== 0) return;
      leadership.promises.add(message);
      // What it reports accepted must be re-proposed (the Synod rule), also beyond the
      // slots the first majority reported: a slot of a later configuration may hold a
      // value chosen there under an earlier ballot that no promise of the first majority saw.
      for (const entry of message.accepted) leadership.recoverUpTo = Math.max(leadership.recoverUpTo, entry.slot);
      this.reads.recovered(leadership.recoverUpTo);
      for (const entry of message.chosen) this.learnChosen(entry.slot, entry.value);
      return;
    }
    const campaign = this.campaign;
    if (this.role !== 'candidate' || campaign === null) return;
    if (compareBallots(message.ballot, campaign.ballot) !== 0) return;
    if (message.fromSlot !== campaign.fromSlot) return;
    if (message.catchUpTo >= campaign.fromSlot) return this.abandonCampaignToCatchUp(message);
    campaign.promises.add(message);
    const config = this.configAt(campaign.fromSlot);
    if (config !== null && this.countsAsActive(campaign.promises, config, campaign.fromSlot)) this.becomeLeader(campaign);
  }

  /** A ballot is active for a slot once a majority of that slot's voters (per incarnation) promised it. */
  private countsAsActive(promises: Promises, config: Configuration, slot: Slot): boolean {
    if (this.sabotage === 'counts-any-incarnation') {
      const ids = promises.idsReporting(slot);
      return config.voters.filter((v) => ids.has(v.id)).length >= majority(config.voters.length);
    }
    return promises.activeFor(config, slot);
  }

  private abandonCampaignToCatchUp(message: PromiseMessage): void {
    this.campaign = null;
    this.setRole('follower', null);
    this.knownCommitIndex = Math.max(this.knownCommitIndex, message.catchUpTo);
    this.commitSource = message.from;
    this.lastCatchupRequestTick = Number.NEGATIVE_INFINITY;
  }

  /**
   * A majority of the first open slot's voters promised: lead. Every slot up to
   * the highest reported is re-proposed first, in order, with the value accepted
   * at the highest ballot (or a no-op), each only once the ballot is active for
   * that slot's configuration (fillWindow); only then come new commands.
   */
  private becomeLeader(campaign: Campaign): void {
    for (const promise of campaign.promises.values()) {
      for (const entry of promise.chosen) this.learnChosen(entry.slot, entry.value);
    }
    let recoverUpTo = Math.max(this.replica.commitIndex, this.replica.lastChosen);
    for (const slot of campaign.promises.accepted.keys()) recoverUpTo = Math.max(recoverUpTo, slot);
    const leadership = new Leadership(campaign.ballot, campaign.promises, this.replica.commitIndex + 1, recoverUpTo, this.now);
    this.campaign = null;
    this.leadership = leadership;
    this.setRole('leader', this.id);
    if (this.transfer !== null) this.endTransfer({ code: 'preempted', message: `this node was elected again (ballot ${campaign.ballot.round}.${campaign.ballot.node}) before node ${this.transfer.to} took over` });
    this.ready.events.push({ kind: 'leader', ballot: campaign.ballot });
    this.fillWindow();
    this.reads.lead(recoverUpTo);
    this.broadcastHeartbeat(leadership);
  }

  // ---- phase 2 -----------------------------------------------------------

  /**
   * Proposes slots in order while the window has room: first the slots a
   * previous ballot may have chosen, then a waiting membership change (alone in
   * its slot), then client commands, then no-ops until a chosen change takes
   * effect. A slot t is proposed only when config(t) is certain (every slot <=
   * t - window known chosen) and this ballot is active for it; otherwise the
   * leader prepares the voters it lacks, and waits.
   */
  private fillWindow(): void {
    const leadership = this.leadership;
    const membership = this.membership;
    if (leadership === null || membership === null) return;
    for (;;) {
      const slot = leadership.nextSlot;
      if (slot <= this.replica.commitIndex || (slot <= leadership.recoverUpTo && this.replica.isChosen(slot))) {
        leadership.nextSlot = slot + 1;
        continue;
      }
      const recovering = slot <= leadership.recoverUpTo || leadership.promises.accepted.has(slot);
      // While leadership is being transferred, only what an earlier ballot may have chosen is proposed: the rest waits (queued) for the next leader or for this one to resume.
      if (!recovering && this.transfer !== null) return;
      const noopsForChange = changePending(membership) && slot < newestEpochSlot(membership);
      const change = leadership.pendingChange;
      if (!recovering && change === null && leadership.pending.length === 0 && !noopsForChange) return;
      if (!this.windowHasRoom(leadership)) return;
      const config = this.configAt(slot);
      if (config === null) return; // slots <= slot - window are not all known chosen yet
      if (!this.countsAsActive(leadership.promises, config, slot)) return this.prepareMissing(leadership, config, slot);
      if (recovering) {
        const value = leadership.promises.accepted.get(slot)?.value ?? noopValue;
        if (membershipChangeOf(value) !== null) leadership.changeInFlightSlot = slot;
        this.proposeSlot(leadership, slot, value, config);
      } else if (change !== null) {
        leadership.pendingChange = null;
        leadership.changeInFlightSlot = slot;
        this.proposeSlot(leadership, slot, membershipValue(change, slot), config);
        this.ready.events.push({ kind: 'change_proposed', slot, change: describeChange(change) });
        if (this.sabotage === 'config-from-unchosen') this.takeEffectUnchosen(membership, slot, change);
      } else if (leadership.pending.length > 0) {
        const batch = leadership.takeBatch(this.limits.batchCommandsMax, this.limits.batchBytesMax);
        this.proposeSlot(leadership, slot, batch.value, config, batch.bytes);
      } else {
        this.proposeSlot(leadership, slot, noopValue, config);
      }
    }
  }

  /** The sabotage: a change in effect from its proposal on, as if it were chosen (it may never be). */
  private takeEffectUnchosen(membership: MembershipState, slot: Slot, change: MembershipChange): void {
    const last = membership.epochs[membership.epochs.length - 1].config;
    const voters = change.kind === 'set' && change.role === 'voter' ? [...last.voters.filter((m) => m.id !== change.member.id), change.member] : last.voters.filter((m) => m.id !== (change.kind === 'set' ? change.member.id : change.id));
    if (voters.length === 0) return;
    membership.epochs.push({ fromSlot: Math.max(slot + 1, this.replica.commitIndex + 1), config: { voters, learners: last.learners } });
  }

  /** Sends our ballot's prepare to the voters of `config` that have not promised it (at most once per resend interval). */
  private prepareMissing(leadership: Leadership, config: Configuration, slot: Slot): void {
    if (this.now - leadership.lastPrepareTick < this.limits.resendTicks) return;
    leadership.lastPrepareTick = this.now;
    const fromSlot = this.replica.commitIndex + 1;
    assert(fromSlot <= slot, `prepares for slot ${slot} report from slot ${fromSlot}`);
    for (const to of leadership.promises.missing(config, slot)) this.send({ type: 'prepare', from: this.id, to, ballot: leadership.ballot, fromSlot });
  }

  private proposeSlot(leadership: Leadership, slot: Slot, value: Value, config: Configuration, bytes?: number): void {
    const proposal = leadership.propose(slot, value, config, this.now, bytes);
    for (const to of new Set([this.id, ...this.peers()])) this.sendAccept(leadership, proposal, to);
  }

  private sendAccept(leadership: Leadership, proposal: Proposal, to: NodeId): void {
    this.send({
      type: 'accept',
      from: this.id,
      to,
      ballot: leadership.ballot,
      slot: proposal.slot,
      value: proposal.value,
      commitIndex: this.replica.commitIndex,
    });
  }

  private onAccept(message: AcceptMessage): void {
    if (message.slot <= this.replica.compactedTo) return this.onAcceptCompacted(message);
    const outcome = this.acceptor.accept(message.ballot, message.slot, message.value);
    if (!outcome.accepted) return this.nack(message.from, message.ballot, outcome.higher);
    this.ready.records.push(outcome.record);
    this.observeBallot(message.ballot);
    this.heardLeader(message.ballot);
    this.learnCommitIndex(message.ballot, message.commitIndex, message.from);
    this.sendAccepted(message.from, message.ballot, message.slot);
  }

  private sendAccepted(to: NodeId, ballot: Ballot, slot: Slot): void {
    this.send({ type: 'accepted', from: this.id, to, incarnation: this.incarnation, ballot, slot, commitIndex: this.replica.commitIndex });
  }

  /**
   * An accept for a slot inside our snapshot: that slot is chosen. A leader whose
   * ballot we may still accept proposes exactly the chosen value there (Synod:
   * once v is chosen at b, every proposal at a higher ballot is v; a higher
   * chosen ballot would have raised our promise above the leader's), so we
   * answer accepted, or a leader that lags our snapshot could never finish it.
   */
  private onAcceptCompacted(message: AcceptMessage): void {
    if (compareBallots(message.ballot, this.acceptor.promised) < 0) return this.nack(message.from, message.ballot, this.acceptor.promised);
    const record = this.acceptor.promiseAtLeast(message.ballot);
    if (record !== null) this.ready.records.push(record);
    this.observeBallot(message.ballot);
    this.heardLeader(message.ballot);
    this.learnCommitIndex(message.ballot, message.commitIndex, message.from);
    this.sendAccepted(message.from, message.ballot, message.slot);
  }

  private onAccepted(message: AcceptedMessage): void {
    const leadership = this.leadership;
    if (leadership === null || compareBallots(message.ballot, leadership.ballot) !== 0) return;
    if (message.from !== this.id) leadership.heardFrom(message.from, message.incarnation, message.commitIndex, this.now);
    const proposal = leadership.proposals.get(message.slot);
    if (proposal === undefined) return;
    // The vote counts only for the incarnation config(slot) names (the sabotage counts any).
    const config = this.configAt(message.slot);
    const incarnation = this.sabotage === 'counts-any-incarnation' && config !== null ? (memberOf(config, message.from)?.member.incarnation ?? null) : message.incarnation;
    if (proposal.acceptedBy.has(message.from) || !proposal.acceptedBy.add(message.from, incarnation)) return;
    leadership.settle(proposal);
    this.learnChosen(message.slot, proposal.value);
  }

  /** Room for one more slot: under the window's slot count and bytes (one slot is always allowed). */
  private windowHasRoom(leadership: Leadership): boolean {
    if (leadership.nextSlot - 1 - this.replica.commitIndex >= this.limits.slotsInFlightMax) return false;
    return leadership.proposals.size === 0 || leadership.bytesInFlight < this.limits.windowBytesMax;
  }

  // ---- leadership upkeep -------------------------------------------------

  private tickLeader(): void {
    const leadership = this.leadership;
    assert(leadership !== null, 'a leader has a leadership');
    // A leader the configuration no longer names as a voter (a removed leader) hands over, then steps down.
    if (!this.isVoterNow()) this.handOverIfRemoved(leadership);
    if (!this.isVoterNow() && this.transfer === null) {
      this.failReads('not_leader');
      this.leadership = null;
      this.setRole('follower', null);
      this.electionDeadlineTick = this.now + this.randomElectionTimeout();
      return;
    }
    this.ready.readsFailed.push(...this.reads.expire(this.now, this.limits.readWaitTicksMax));
    this.blessIfCaughtUp(leadership);
    if (this.now - leadership.lastHeartbeatTick >= this.limits.heartbeatTicks) this.broadcastHeartbeat(leadership);
    const peers = new Set([this.id, ...this.peers()]);
    for (const proposal of leadership.proposals.values()) {
      if (this.now - proposal.sentAtTick < this.limits.resendTicks) continue;
      proposal.sentAtTick = this.now;
      for (const to of peers) if (!proposal.acceptedBy.has(to)) this.sendAccept(leadership, proposal, to);
    }
    if (this.autoReplace && this.transfer === null) this.maybeAutoReplace(leadership);
  }

  // ---- leadership transfer (etcd's leadTransferee) -------------------------

  /** The live voter (other than us) of `config` whose reported commit index is highest, lowest id first on ties. */
  private mostCaughtUpVoter(leadership: Leadership, config: Configuration): NodeId | null {
    let best: { id: NodeId; commitIndex: Slot } | null = null;
    for (const voter of config.voters) {
      if (voter.id === this.id || voter.incarnation === null) continue;
      const progress = leadership.progress.get(voter.id);
      if (progress === undefined || progress.incarnation !== voter.incarnation) continue;
      if (this.now - progress.atTick > this.limits.heartbeatTicks * 2) continue;
      if (best === null || progress.commitIndex > best.commitIndex) best = { id: voter.id, commitIndex: progress.commitIndex };
    }
    return best?.id ?? null;
  }

  private beginTransfer(leadership: Leadership, to: NodeId, why: 'request' | 'removal'): void {
    this.transfer = { to, ballot: leadership.ballot, why, startedTick: this.now, blessedAtTick: null };
    this.ready.events.push({ kind: 'transfer_started', to, ballot: leadership.ballot, why });
    // Fresh reports of everyone's commit index, and the target learns ours.
    this.broadcastHeartbeat(leadership);
    this.blessIfCaughtUp(leadership);
  }

  /**
   * The target holds everything chosen (its reported commit index is ours, and
   * nothing of ours is in flight, since we stopped proposing): bless it. Resent
   * every resendTicks while we still lead (a lost timeout_now); a target that
   * campaigned has promised above our ballot and ignores a repeat.
   */
  private blessIfCaughtUp(leadership: Leadership): void {
    const transfer = this.transfer;
    if (transfer === null || this.role !== 'leader' || compareBallots(transfer.ballot, leadership.ballot) !== 0) return;
    if (transfer.blessedAtTick !== null && this.now - transfer.blessedAtTick < this.limits.resendTicks) return;
    const config = this.configAt(this.replica.commitIndex + 1);
    const placed = config === null ? null : memberOf(config, transfer.to);
    if (placed === null || placed.role !== 'voter' || placed.member.incarnation === null) {
      return this.endTransfer({ code: 'target_not_voter', message: `node ${transfer.to} is no longer a voter` });
    }
    const progress = leadership.progress.get(transfer.to);
    if (progress === undefined || progress.incarnation !== placed.member.incarnation) return;
    if (progress.commitIndex < this.replica.commitIndex || leadership.proposals.size > 0 || leadership.nextSlot - 1 > this.replica.commitIndex) return;
    if (transfer.blessedAtTick === null) this.ready.events.push({ kind: 'transfer_blessed', to: transfer.to, commitIndex: this.replica.commitIndex });
    transfer.blessedAtTick = this.now;
    this.send({ type: 'timeout_now', from: this.id, to: transfer.to, ballot: leadership.ballot, incarnation: progress.incarnation, commitIndex: this.replica.commitIndex });
  }

  /**
   * A leader whose removal has taken effect (it filled the window up to the
   * change's first slot, so it knows it is out, and so do the followers it
   * told) hands over once per leadership, to the most caught-up voter of the
   * new configuration, instead of leaving the others to notice its silence;
   * it steps down when the transfer ends, whichever way.
   */
  private handOverIfRemoved(leadership: Leadership): void {
    if (this.transfer !== null || leadership.handoverTried) return;
    leadership.handoverTried = true;
    const config = this.configAt(this.replica.commitIndex + 1);
    const to = config === null ? null : this.mostCaughtUpVoter(leadership, config);
    if (to !== null) this.beginTransfer(leadership, to, 'removal');
  }

  /** The bound: an election timeout after the transfer started, it ends (this leader, if it still leads, resumes proposing). */
  private expireTransfer(): void {
    const transfer = this.transfer;
    if (transfer === null || this.now - transfer.startedTick < this.limits.electionTimeoutTicksMax) return;
    const resumed = this.role === 'leader' && this.leadership !== null && compareBallots(this.leadership.ballot, transfer.ballot) === 0;
    this.endTransfer({
      code: 'timed_out',
      message: resumed
        ? `node ${transfer.to} did not take over within ${this.limits.electionTimeoutTicksMax} ticks; this leader resumed`
        : `node ${transfer.to} was not heard leading within ${this.limits.electionTimeoutTicksMax} ticks`,
    });
  }

  /**
   * Ends the transfer with a failure. It is certain (nothing will move) only
   * when the target was never blessed: a timeout_now still on its way may yet
   * make it campaign.
   */
  private endTransfer(failure: { code: TransferFailure; message: string }): void {
    const transfer = this.transfer;
    if (transfer === null) return;
    this.transfer = null;
    this.ready.events.push({ kind: 'transfer_failed', to: transfer.to, code: failure.code, message: failure.message, certain: transfer.blessedAtTick === null });
  }

  /** The leader told us to campaign now: the blessing skips pre-vote (our peers still hear it alive). */
  private onTimeoutNow(message: TimeoutNowMessage): void {
    if (message.incarnation !== this.incarnation || this.role === 'leader') return;
    // A stale blessing (from a ballot we have since promised above) is ignored: its leader no longer leads.
    if (compareBallots(message.ballot, this.acceptor.promised) < 0 || !this.isVoterNow()) return;
    this.startCampaign(message.ballot);
  }

  /**
   * A member whose data dir was replaced comes back as a new incarnation; its
   * old one counts as a dead acceptor. Once the new one has caught up, the
   * leader proposes the ordinary change that names it instead (docs/membership.md).
   */
  private maybeAutoReplace(leadership: Leadership): void {
    const membership = this.membership;
    if (membership === null || this.changeBusy(leadership, membership) !== null) return;
    const config = this.configAt(this.replica.commitIndex + 1);
    if (config === null) return;
    for (const [id, progress] of leadership.progress) {
      const placed = memberOf(config, id);
      if (placed === null || placed.member.incarnation === progress.incarnation) continue;
      // A replaced data dir is gone for good; a late message from it must not bring it back.
      if (isRetired(membership, id, progress.incarnation)) continue;
      // Heard lately, and only this incarnation for a while (a message held long from a dead one is not enough).
      if (this.now - progress.atTick > this.limits.heartbeatTicks * 2) continue;
      if (this.now - progress.sinceTick < this.limits.electionTimeoutTicksMin) continue;
      if (progress.commitIndex + this.limits.catchupSlotsMax < this.replica.commitIndex) continue; // still catching up
      const member: Member = { id, incarnation: progress.incarnation };
      if (placed.member.address !== undefined) member.address = placed.member.address;
      leadership.pendingChange = { kind: 'set', member, role: placed.role };
      return;
    }
  }

  /** `round`: the read round this heartbeat carries (0: none; see startReadRound). */
  private broadcastHeartbeat(leadership: Leadership, round = 0): void {
    leadership.lastHeartbeatTick = this.now;
    for (const to of this.peers()) {
      if (to === this.id) continue;
      this.send({ type: 'heartbeat', from: this.id, to, ballot: leadership.ballot, commitIndex: this.replica.commitIndex, round });
    }
  }

  private onHeartbeat(message: HeartbeatMessage): void {
    if (compareBallots(message.ballot, this.acceptor.promised) < 0) {
      return this.nack(message.from, message.ballot, this.acceptor.promised);
    }
    this.observeBallot(message.ballot);
    this.heardLeader(message.ballot);
    this.learnCommitIndex(message.ballot, message.commitIndex, message.from);
    // The reply says which incarnation this is and how far it has caught up;
    // its `round` echoes the read round (reads.ts): this acceptor has promised
    // nothing above the ballot (checked above), which is all a read round asks.
    // Whether the answer counts for a read is the leader's to judge (voters of
    // the configurations in play, per incarnation), not ours.
    this.send({ type: 'heartbeat_reply', from: this.id, to: message.from, ballot: message.ballot, round: message.round, incarnation: this.incarnation, commitIndex: this.replica.commitIndex });
  }

  private onHeartbeatReply(message: HeartbeatReplyMessage): void {
    const leadership = this.leadership;
    if (leadership === null || compareBallots(message.ballot, leadership.ballot) !== 0 || message.from === this.id) return;
    leadership.heardFrom(message.from, message.incarnation, message.commitIndex, this.now);
    if (this.transfer !== null && message.from === this.transfer.to) this.blessIfCaughtUp(leadership);
    if (message.round > 0) {
      // A change chosen since the round started moved the window's configurations: the round's quorum may miss one, so it is redone.
      const mayConfirm = this.readsMayConfirm(leadership) && this.windowConfigsKey() === this.readRoundConfigs;
      this.confirmReads(this.reads.ack(message.from, message.incarnation, message.round, mayConfirm));
    }
  }

  // ---- reads (reads.ts) --------------------------------------------------

  /**
   * Reads are waiting and no round is in flight (or it is overdue): send a
   * heartbeat round at our ballot. Run when the Ready is taken, so every read
   * that arrived since the last one shares the round.
   */
  private startReadRound(): void {
    const leadership = this.leadership;
    if (leadership === null || this.role !== 'leader') {
      if (this.reads.size > 0) this.failReads('not_leader');
      return;
    }
    if (this.unsafeReadsWithoutConfirm) {
      this.ready.readsConfirmed.push(...this.reads.confirmAllUnsafely());
      return;
    }
    if (!this.readsMayConfirm(leadership)) return;
    const round = this.reads.startRound(() => this.readQuorum(), { id: this.id, incarnation: this.incarnation }, this.now, this.limits.resendTicks);
    if (round === null) return;
    this.readRoundConfigs = this.windowConfigsKey();
    this.confirmReads(this.reads.confirmIfReached());
    this.broadcastHeartbeat(leadership, round);
  }

  /**
   * Whether this leader may confirm reads now: it holds promises from a
   * majority of the voters of every configuration of the open slots (so it has
   * heard of every value chosen there under an earlier ballot), and every slot
   * such a promise reported accepted is chosen (Raft's rule that a leader first
   * commits an entry of its own term). With one configuration this holds once
   * the re-proposals are chosen; with a change pending it also waits for the
   * later configuration's promises (prepareMissing asks for them).
   */
  private readsMayConfirm(leadership: Leadership): boolean {
    // (The sabotage readsAtCommitIndex skips this, as a leader that trusts its commit index alone would.)
    if (leadership.recoverUpTo > this.replica.commitIndex && !this.unsafeReadsAtCommitIndex) return false;
    for (const { config, fromSlot } of this.windowEpochs(this.replica.commitIndex + 1)) {
      if (!this.countsAsActive(leadership.promises, config, fromSlot)) {
        this.prepareMissing(leadership, config, fromSlot);
        return false;
      }
    }
    return true;
  }

  /** The configurations that govern slots from `first` to the end of the window, each with the first such slot it governs. */
  private windowEpochs(first: Slot): { config: Configuration; fromSlot: Slot }[] {
    const membership = this.membership;
    assert(membership !== null, 'a leader has a membership');
    const last = this.replica.commitIndex + membership.window;
    assert(first <= last, `slot ${first} lies beyond the window ending at ${last}`);
    assert(this.configAt(first) !== null, `the configuration of slot ${first} is unknown`);
    const epochs: { config: Configuration; fromSlot: Slot }[] = [];
    for (let index = 0; index < membership.epochs.length; index += 1) {
      const epoch = membership.epochs[index];
      const next = membership.epochs[index + 1];
      if (epoch.fromSlot > last || (next !== undefined && next.fromSlot <= first)) continue;
      epochs.push({ config: epoch.config, fromSlot: Math.max(epoch.fromSlot, first) });
    }
    return epochs;
  }

  /**
   * Who must answer a read round: a majority of the voters (per incarnation)
   * of EVERY configuration that governs an open slot, commitIndex + 1 to the
   * end of the window. A write acknowledged before the read arrived at a slot
   * this leader knows chosen is covered by the read slot (confirmReads); one at
   * an open slot was chosen by a rival ballot only with the votes of a majority
   * of that slot's configuration, and a rival can be active at a slot of the
   * window without a majority of the first open slot's configuration (a
   * change chosen and not yet in effect): so one configuration is not enough.
   */
  private readQuorum(): AckQuorum {
    return new VoterQuorums(this.windowEpochs(this.replica.commitIndex + 1).map((epoch) => epoch.config));
  }

  private windowConfigsKey(): string {
    return this.windowEpochs(this.replica.commitIndex + 1).map((epoch) => configurationKey(epoch.config)).join('|');
  }

  /**
   * Hands confirmed reads to the driver, each to be answered once it has
   * applied its read slot or the commit index now, whichever is higher: a
   * write a late promise revealed (recovered) after the read arrived is chosen
   * by now (readsMayConfirm) and may sit above the slot stamped on arrival.
   */
  private confirmReads(reads: ConfirmedRead[]): void {
    const commitIndex = this.unsafeReadsAtCommitIndex ? 0 : this.replica.commitIndex;
    for (const read of reads) this.ready.readsConfirmed.push({ id: read.id, slot: Math.max(read.slot, commitIndex) });
  }

  private failReads(reason: ReadFailure): void {
    this.ready.readsFailed.push(...this.reads.failAll(reason));
  }

  private onNack(message: NackMessage): void {
    this.observeBallot(message.promised);
  }

  /** Any higher ballot seen deposes our campaign or leadership: someone else is trying to lead. */
  private observeBallot(ballot: Ballot): void {
    this.highestRoundSeen = Math.max(this.highestRoundSeen, ballot.round);
    const own = this.leadership?.ballot ?? this.campaign?.ballot;
    if (own === undefined || compareBallots(ballot, own) <= 0) return;
    this.ready.events.push({ kind: 'preempted', ballot: own, by: ballot });
    // Deposed by the target's campaign: wait to hear it lead (heardLeader). By anyone else: the transfer is over.
    const transfer = this.transfer;
    if (transfer !== null && ballot.node !== transfer.to) this.endTransfer({ code: 'preempted', message: `ballot ${ballot.round}.${ballot.node} of node ${ballot.node} took over first` });
    // A removed leader is no longer told who leads: the blessed target's higher ballot is as far as it can follow the handover.
    if (transfer !== null && transfer.why === 'removal' && ballot.node === transfer.to) {
      this.transfer = null;
      this.ready.events.push({ kind: 'transfer_done', from: this.id, to: transfer.to, ballot });
    }
    this.failReads('not_leader');
    this.campaign = null;
    this.leadership = null;
    this.setRole('follower', null);
    this.electionDeadlineTick = this.now + this.randomElectionTimeout();
  }

  private heardLeader(ballot: Ballot): void {
    const transfer = this.transfer;
    if (transfer !== null && this.role !== 'leader' && ballot.node === transfer.to && compareBallots(ballot, transfer.ballot) > 0) {
      this.transfer = null;
      this.ready.events.push({ kind: 'transfer_done', from: this.id, to: transfer.to, ballot });
    }
    if (ballot.node === this.id || this.role !== 'follower') return;
    this.preVote = null;
    if (this.leaderId !== ballot.node) this.setRole('follower', ballot.node);
    this.lastLeaderContactTick = this.now;
    this.electionDeadlineTick = this.now + this.randomElectionTimeout();
  }

  // ---- learning ----------------------------------------------------------

  private learnChosen(slot: Slot, value: Value): void {
    if (!this.replica.learn(slot, value)) return;
    this.ready.records.push({ type: 'chosen', slot, value });
    this.advanceMembership();
  }

  /**
   * The leader of `ballot` says every slot <= commitIndex is chosen. A leader
   * proposes one value per slot per ballot, and learns a slot chosen only from a
   * majority at its own ballot (or knew it before it proposed), so a value this
   * acceptor accepted at exactly `ballot` is the chosen one.
   */
  private learnCommitIndex(ballot: Ballot, commitIndex: Slot, from: NodeId): void {
    this.knownCommitIndex = Math.max(this.knownCommitIndex, commitIndex);
    // Ask whoever can help: the node that last told us of slots we lack.
    if (commitIndex > this.replica.commitIndex) this.commitSource = from;
    if (this.role === 'leader') return;
    for (let slot = this.replica.commitIndex + 1; slot <= commitIndex; slot += 1) {
      const entry = this.acceptor.accepted(slot);
      if (entry === undefined || compareBallots(entry.ballot, ballot) !== 0) break;
      this.learnChosen(slot, entry.value);
    }
  }

  /** Asks the node that told us of a higher commit index for the chosen values we lack. */
  private requestMissingChosen(): void {
    if (this.commitSource === null || this.replica.commitIndex >= this.knownCommitIndex) return;
    if (this.now - this.lastCatchupRequestTick < this.limits.heartbeatTicks) return;
    this.lastCatchupRequestTick = this.now;
    const fromSlot = this.replica.commitIndex + 1;
    const toSlot = Math.min(this.knownCommitIndex, fromSlot + this.limits.catchupSlotsMax - 1);
    this.send({ type: 'chosen_request', from: this.id, to: this.commitSource, fromSlot, toSlot });
  }

  private onChosenRequest(message: ChosenRequestMessage): void {
    const compactedTo = this.replica.compactedTo;
    const limits = { countMax: this.limits.catchupSlotsMax, bytesMax: this.limits.catchupBytesMax };
    const entries = message.fromSlot <= compactedTo ? [] : this.replica.chosenRange(message.fromSlot, message.toSlot, limits);
    this.send({
      type: 'chosen_reply',
      from: this.id,
      to: message.from,
      entries,
      commitIndex: this.replica.commitIndex,
      compactedTo: message.fromSlot <= compactedTo ? compactedTo : 0,
    });
  }

  private onChosenReply(message: ChosenReplyMessage): void {
    // A leader learns chosen slots only from its own majorities (see learnCommitIndex).
    if (this.role === 'leader') return;
    const before = this.replica.commitIndex;
    if (message.compactedTo > this.replica.commitIndex) {
      this.ready.snapshotNeeded = { from: message.from, slot: message.compactedTo };
    }
    for (const entry of message.entries) this.learnChosen(entry.slot, entry.value);
    this.knownCommitIndex = Math.max(this.knownCommitIndex, message.commitIndex);
    // Progress: ask for the next batch at once rather than on the next tick.
    if (this.replica.commitIndex > before) {
      this.lastCatchupRequestTick = Number.NEGATIVE_INFINITY;
      this.requestMissingChosen();
    }
  }

  // ---- helpers -----------------------------------------------------------

  private nack(to: NodeId, ballot: Ballot, promised: Ballot): void {
    this.send({ type: 'nack', from: this.id, to, ballot, promised });
  }

  private send(message: PeerMessage): void {
    (vouchesForDurableState(message) ? this.ready.messagesAfterAppend : this.ready.messages).push(message);
  }

  private setRole(role: Role, leader: NodeId | null): void {
    const changed = this.role !== role || this.leaderId !== leader;
    this.role = role;
    this.leaderId = leader;
    if (changed && role === 'follower') {
      this.ready.events.push({ kind: 'follower', leader, ballot: this.acceptor.promised });
    }
  }

  private liveLeader(): NodeId | null {
    if (this.role === 'leader') return this.id;
    if (this.leaderId === null) return null;
    return this.now - this.lastLeaderContactTick < this.limits.electionTimeoutTicksMin ? this.leaderId : null;
  }

  private hearsLiveLeaderOtherThan(node: NodeId): boolean {
    if (this.role === 'leader') return true;
    const leader = this.liveLeader();
    return leader !== null && leader !== node;
  }

  private randomElectionTimeout(): number {
    return this.prng.int(this.limits.electionTimeoutTicksMin, this.limits.electionTimeoutTicksMax);
  }
}

export function describeChange(change: MembershipChange): string {
  if (change.kind === 'remove') return `remove node ${change.id}`;
  return `node ${change.member.id} (incarnation ${change.member.incarnation ?? 'none'}) as ${change.role}`;
}

function emptyReady(number: number): Ready {
  return { number, records: [], mustSync: false, messages: [], messagesAfterAppend: [], apply: [], events: [], snapshotNeeded: null, readsConfirmed: [], readsFailed: [] };
}

/**
 * Whether a message vouches for something this node made durable, and so must
 * not leave before the records of its Ready (and of every earlier one) are on
 * disk. promise and accepted vouch for a promise or an accepted value; a
 * prepare for the candidate's own promise (a restart must never reuse the
 * ballot); nack reports the promise; a join_reply the membership this node
 * founded or joined. The others vouch for nothing on this node's disk and may
 * leave at once: an accept proposes (its ballot's promise was made durable
 * before the prepares left), a heartbeat or chosen_reply reports what a
 * majority made durable, and the rest ask questions.
 */
function vouchesForDurableState(message: PeerMessage): boolean {
  switch (message.type) {
    case 'promise':
    case 'accepted':
    case 'prepare':
    case 'nack':
    case 'join_reply':
      return true;
    default:
      return false;
  }
}

export { noopValue };
export type { CoreEvent, Progress };

/** The optional `base` field of join_query and join_reply: left out for an empty data dir, as older versions send it. */
function baseField(base: string): { base?: string } {
  return base === '' ? {} : { base };
}
