// One Multi-Paxos node as a pure, deterministic state machine: acceptor,
// would-be leader and replica in one. Messages, ticks and client commands go in;
// a Ready batch (records to persist, messages to send, slots to apply) comes out.
// No sockets, timers, clocks, files or unseeded randomness here: the runtime and
// the simulation drive it the same way.
import { Acceptor, emptyAcceptorState, type AcceptorState } from './acceptor.js';
import { assert } from './assert.js';
import { Campaign, highestAccepted, Leadership, type Proposal } from './leader.js';
import { checkCoreLimits, defaultCoreLimits, type CoreLimits } from './limits.js';
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
  type NackMessage,
  type NodeId,
  type PeerMessage,
  type FillMessage,
  type PrepareMessage,
  type PreVoteMessage,
  type PreVoteReplyMessage,
  type ProbeMessage,
  type ProbeReplyMessage,
  type PromiseMessage,
  type Progress,
  type Ready,
  type Slot,
  type Value,
  type WalRecord,
} from './messages.js';
import { Prng } from './prng.js';
import { majority, Quorum } from './quorum.js';
import { Replica } from './replica.js';
import { commandBytes, valueBytes } from './size.js';

export type Role = 'follower' | 'candidate' | 'leader';

/** What a node had made durable before it stopped, rebuilt from its snapshot and log by recoverState. */
export interface RecoveredState extends AcceptorState {
  chosen: Map<Slot, Value>;
  /** The slot the state machine's snapshot covers (0 when none): slots up to it are chosen and applied. */
  snapshotSlot: Slot;
  /** A rebuild began (on an empty data dir) and has not finished: the node must not vote yet. */
  rebuilding: boolean;
}

export interface PaxosNodeOptions {
  id: NodeId;
  /** Every node of the cluster, this one included. */
  members: readonly NodeId[];
  /** Seeds the election-timeout PRNG; the simulation derives it from its own seed. */
  seed: number;
  limits?: Partial<CoreLimits>;
  recovered?: RecoveredState;
  /**
   * The node must rebuild before it votes (see rebuildsOnStart): it starts on an
   * empty data dir that may be a replaced disk which forgot promises and
   * accepted values, so it votes only after it has heard from a majority of its
   * peers and learned everything it could have voted for.
   */
  rebuilding?: boolean;
}

/**
 * What a node on an empty data dir may assume (etcd's --initial-cluster-state).
 * `existing`: it may be a replaced disk that forgot promises and accepted
 * values, so it rebuilds before it votes. `new`: it belongs to a brand-new
 * cluster in which nothing was ever promised, so it votes at once. `new` on a
 * replaced disk could let a slot be chosen twice (the simulation shows it).
 */
export type InitialClusterState = 'new' | 'existing';

export const initialClusterStates: readonly InitialClusterState[] = ['new', 'existing'];

/**
 * Whether a node must rebuild before it votes: its data dir began as a
 * possibly replaced disk (`origin` existing, recorded with its identity when
 * the dir was created) and has made nothing durable since (no record, no
 * snapshot). A data dir that began as part of a new cluster has lost no vote
 * even with no record in it: its identity is durable before it first speaks,
 * and a vote leaves only after the record it vouches for is durable. A data
 * dir with records says for itself whether a rebuild is unfinished (recoverState).
 */
export function rebuildsOnStart(options: { origin: InitialClusterState; emptyDataDir: boolean }): boolean {
  return options.emptyDataDir && options.origin === 'existing';
}

export type ProposeOutcome =
  | { status: 'queued' }
  | { status: 'redirect'; leader: NodeId | null }
  | { status: 'busy'; pendingCommandsMax: number };

export interface CoreStatus {
  id: NodeId;
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
  compactedTo: Slot;
  /** True while a node on an empty data dir does not yet vote (see PaxosNodeOptions.rebuilding). */
  rebuilding: boolean;
  /** Readies handed out whose records the driver has not yet reported durable (its write queue). */
  readiesUnpersisted: number;
  tick: number;
}

/**
 * Rebuilds what the node promised, accepted and learned from its records, in log
 * order, on top of a snapshot at `snapshotSlot` (records at or below it are stale).
 */
export function recoverState(records: Iterable<WalRecord>, snapshotSlot: Slot = 0): RecoveredState {
  const state: RecoveredState = { promised: ballotZero, accepted: new Map(), chosen: new Map(), snapshotSlot, rebuilding: false };
  const raise = (ballot: Ballot) => {
    if (compareBallots(ballot, state.promised) > 0) state.promised = ballot;
  };
  for (const record of records) {
    if (record.type === 'promise') raise(record.ballot);
    if (record.type === 'rebuild') state.rebuilding = !record.done;
    if (record.type === 'promise' || record.type === 'rebuild' || record.slot <= snapshotSlot) continue;
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

export class PaxosNode {
  readonly id: NodeId;
  readonly members: readonly NodeId[];
  readonly limits: CoreLimits;
  private readonly majority: number;
  private readonly prng: Prng;
  private readonly acceptor: Acceptor;
  private readonly replica: Replica;

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
  private rebuild: Rebuild | null = null;
  /** Pre-vote in progress: the peers that said they would answer our prepare. */
  private preVote: Quorum | null = null;

  private ready: Ready = emptyReady(1);
  /** The number of the last Ready handed out, and of the last the driver says is durable. */
  private readyNumber = 0;
  private persistedReady = 0;

  constructor(options: PaxosNodeOptions) {
    assert(options.members.includes(options.id), 'a node is a member of its own cluster');
    assert(new Set(options.members).size === options.members.length, 'member ids are distinct');
    this.id = options.id;
    this.members = [...options.members].sort((a, b) => a - b);
    this.limits = { ...defaultCoreLimits, ...options.limits };
    checkCoreLimits(this.limits);
    this.majority = majority(this.members.length);
    this.prng = new Prng(options.seed);
    const recovered = options.recovered ?? { ...emptyAcceptorState(), chosen: new Map(), snapshotSlot: 0, rebuilding: false };
    this.acceptor = new Acceptor(recovered);
    this.replica = new Replica(recovered.chosen, recovered.snapshotSlot);
    this.highestRoundSeen = recovered.promised.round;
    this.electionDeadlineTick = this.randomElectionTimeout();
    const rebuilding = options.rebuilding === true || recovered.rebuilding;
    if (rebuilding && this.members.length > 1) this.startRebuild();
  }

  // ---- inputs ------------------------------------------------------------

  /** Advances the node's clock by one tick: elections, heartbeats, resends, catch-up. */
  tick(): void {
    this.now += 1;
    if (this.rebuild !== null) this.tickRebuild(this.rebuild);
    else if (this.role === 'leader') this.tickLeader();
    else if (this.now >= this.electionDeadlineTick) this.startPreVote();
    if (this.role !== 'leader') this.requestMissingChosen();
  }

  /** Handles one validated message from a peer (or from this node to itself). */
  step(message: PeerMessage): void {
    assert(message.to === this.id, `message addressed to node ${message.to} stepped into node ${this.id}`);
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
      case 'chosen_request':
        return this.onChosenRequest(message);
      case 'chosen_reply':
        return this.onChosenReply(message);
      case 'probe':
        return this.onProbe(message);
      case 'probe_reply':
        return this.onProbeReply(message);
      case 'fill':
        return this.onFill(message);
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

  /** Hands out everything the driver must do since the last call (see Ready for the order). */
  takeReady(): Ready {
    this.fillWindow();
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
    if (progress.applied !== undefined) this.replica.applied(progress.applied);
  }

  /**
   * The driver has made a snapshot of the state applied up to `slot` durable:
   * forget what it covers. Returns the records that must be written to a fresh
   * log segment before older segments are deleted (the current promise, and
   * what is accepted and chosen above the snapshot): with the snapshot they
   * are all this node still needs to remember.
   */
  compact(slot: Slot): WalRecord[] {
    assert(slot <= this.replica.lastApplied, `compaction to slot ${slot} beyond applied slot ${this.replica.lastApplied}`);
    if (slot <= this.replica.compactedTo) return this.checkpointRecords();
    this.replica.compact(slot);
    this.acceptor.compact(slot);
    return this.checkpointRecords();
  }

  /**
   * The driver fetched a peer's snapshot at `slot` and made it durable. Returns
   * null when it is no longer needed (this node applied that far meanwhile, or
   * leads), else the checkpoint records, as for compact(). The driver restores
   * its state machine from the snapshot before it applies any later slot.
   */
  installSnapshot(slot: Slot): WalRecord[] | null {
    if (slot <= this.replica.lastApplied || this.role === 'leader') return null;
    this.replica.install(slot);
    this.acceptor.compact(slot);
    this.knownCommitIndex = Math.max(this.knownCommitIndex, slot);
    this.lastCatchupRequestTick = Number.NEGATIVE_INFINITY; // ask for what follows at once
    this.finishRebuildIfCaughtUp();
    return this.checkpointRecords();
  }

  private checkpointRecords(): WalRecord[] {
    const records: WalRecord[] = this.rebuild === null ? [] : [{ type: 'rebuild', done: false }];
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
    return {
      id: this.id,
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
      compactedTo: this.replica.compactedTo,
      rebuilding: this.rebuild !== null,
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

  // ---- pre-vote ----------------------------------------------------------

  private startPreVote(): void {
    this.electionDeadlineTick = this.now + this.randomElectionTimeout();
    this.preVote = new Quorum(this.majority);
    if (this.preVote.add(this.id)) return this.startCampaign();
    for (const to of this.members) if (to !== this.id) this.send({ type: 'prevote', from: this.id, to });
  }

  private onPreVote(message: PreVoteMessage): void {
    if (this.rebuild !== null) return; // a rebuilding node does not vote
    const granted = !this.hearsLiveLeaderOtherThan(message.from);
    this.send({ type: 'prevote_reply', from: this.id, to: message.from, granted });
  }

  private onPreVoteReply(message: PreVoteReplyMessage): void {
    if (this.preVote === null || !message.granted || this.role === 'leader') return;
    if (this.preVote.add(message.from)) this.startCampaign();
  }

  // ---- phase 1 -----------------------------------------------------------

  private startCampaign(): void {
    this.preVote = null;
    const round = Math.max(this.highestRoundSeen, this.acceptor.promised.round) + 1;
    const ballot: Ballot = { round, node: this.id };
    this.highestRoundSeen = round;
    this.campaign = new Campaign(ballot, this.replica.commitIndex + 1, this.now, this.majority);
    this.leadership = null;
    this.setRole('candidate', null);
    this.ready.events.push({ kind: 'candidate', ballot });
    this.electionDeadlineTick = this.now + this.randomElectionTimeout();
    // "Each proposer remembers (in stable storage) the highest-numbered proposal it has
    // tried to issue": promise our own ballot now, so it is durable before any prepare
    // leaves, whatever order our own messages come back in. A restart never reuses it.
    const own = this.acceptor.prepare(ballot, this.campaign.fromSlot);
    if (own.promised && own.record !== null) this.ready.records.push(own.record);
    for (const to of this.members) this.send({ type: 'prepare', from: this.id, to, ballot, fromSlot: this.campaign.fromSlot });
  }

  private onPrepare(message: PrepareMessage): void {
    if (this.rebuild !== null) return; // a rebuilding node does not vote
    // Pre-vote in spirit (etcd #9241): while a live leader is heard, a node back
    // from a partition must not depose it, so its prepare goes unanswered.
    if (message.from !== this.id && this.hearsLiveLeaderOtherThan(message.from)) return;
    const outcome = this.acceptor.prepare(message.ballot, message.fromSlot);
    if (!outcome.promised) return this.nack(message.from, message.ballot, outcome.higher);
    if (outcome.record !== null) this.ready.records.push(outcome.record);
    this.observeBallot(message.ballot);
    const report = this.promiseReport(message.fromSlot, outcome.accepted);
    this.send({ type: 'promise', from: this.id, to: message.from, ballot: message.ballot, fromSlot: message.fromSlot, ...report });
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
    const campaign = this.campaign;
    if (this.role !== 'candidate' || campaign === null) return;
    if (compareBallots(message.ballot, campaign.ballot) !== 0) return;
    if (message.fromSlot !== campaign.fromSlot) return;
    if (message.catchUpTo >= campaign.fromSlot) return this.abandonCampaignToCatchUp(message);
    if (campaign.addPromise(message)) this.becomeLeader(campaign);
  }

  private abandonCampaignToCatchUp(message: PromiseMessage): void {
    this.campaign = null;
    this.setRole('follower', null);
    this.knownCommitIndex = Math.max(this.knownCommitIndex, message.catchUpTo);
    this.commitSource = message.from;
    this.lastCatchupRequestTick = Number.NEGATIVE_INFINITY;
  }

  /**
   * A majority promised: re-propose, at our ballot, the highest-ballot value any of
   * them accepted for every slot not known chosen, fill holes with no-ops, and
   * only then take new commands.
   */
  private becomeLeader(campaign: Campaign): void {
    for (const promise of campaign.promises.values()) {
      for (const entry of promise.chosen) this.learnChosen(entry.slot, entry.value);
    }
    const accepted = highestAccepted(campaign.promises.values());
    let lastSlot = Math.max(this.replica.commitIndex, this.replica.lastChosen);
    for (const slot of accepted.keys()) lastSlot = Math.max(lastSlot, slot);
    const leadership = new Leadership(campaign.ballot, this.replica.commitIndex + 1, this.now);
    this.campaign = null;
    this.leadership = leadership;
    this.setRole('leader', this.id);
    this.ready.events.push({ kind: 'leader', ballot: campaign.ballot });
    for (let slot = this.replica.commitIndex + 1; slot <= lastSlot; slot += 1) {
      if (this.replica.isChosen(slot)) continue;
      this.proposeSlot(leadership, slot, accepted.get(slot)?.value ?? noopValue);
    }
    leadership.nextSlot = Math.max(leadership.nextSlot, lastSlot + 1);
    this.broadcastHeartbeat(leadership);
  }

  // ---- phase 2 -----------------------------------------------------------

  private proposeSlot(leadership: Leadership, slot: Slot, value: Value, bytes?: number): void {
    const proposal = leadership.propose(slot, value, this.majority, this.now, bytes);
    for (const to of this.members) this.sendAccept(leadership, proposal, to);
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
    if (this.rebuild !== null) return; // a rebuilding node does not vote
    if (message.slot <= this.replica.compactedTo) return this.onAcceptCompacted(message);
    const outcome = this.acceptor.accept(message.ballot, message.slot, message.value);
    if (!outcome.accepted) return this.nack(message.from, message.ballot, outcome.higher);
    this.ready.records.push(outcome.record);
    this.observeBallot(message.ballot);
    this.heardLeader(message.ballot);
    this.send({ type: 'accepted', from: this.id, to: message.from, ballot: message.ballot, slot: message.slot });
    this.learnCommitIndex(message.ballot, message.commitIndex, message.from);
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
    this.send({ type: 'accepted', from: this.id, to: message.from, ballot: message.ballot, slot: message.slot });
    this.learnCommitIndex(message.ballot, message.commitIndex, message.from);
  }

  private onAccepted(message: AcceptedMessage): void {
    const leadership = this.leadership;
    if (leadership === null || compareBallots(message.ballot, leadership.ballot) !== 0) return;
    const proposal = leadership.proposals.get(message.slot);
    if (proposal === undefined || !proposal.acceptedBy.add(message.from)) return;
    leadership.settle(proposal);
    this.learnChosen(message.slot, proposal.value);
  }

  /** Fills free room in the window with batches of pending commands. */
  private fillWindow(): void {
    const leadership = this.leadership;
    if (leadership === null) return;
    while (leadership.pending.length > 0 && this.windowHasRoom(leadership)) this.proposeBatch(leadership);
  }

  private proposeBatch(leadership: Leadership): void {
    const batch = leadership.takeBatch(this.limits.batchCommandsMax, this.limits.batchBytesMax);
    this.proposeSlot(leadership, leadership.nextSlot, batch.value, batch.bytes);
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
    if (this.now - leadership.lastHeartbeatTick >= this.limits.heartbeatTicks) this.broadcastHeartbeat(leadership);
    for (const proposal of leadership.proposals.values()) {
      if (this.now - proposal.sentAtTick < this.limits.resendTicks) continue;
      proposal.sentAtTick = this.now;
      for (const to of this.members) if (!proposal.acceptedBy.has(to)) this.sendAccept(leadership, proposal, to);
    }
  }

  private broadcastHeartbeat(leadership: Leadership): void {
    leadership.lastHeartbeatTick = this.now;
    for (const to of this.members) {
      if (to === this.id) continue;
      this.send({ type: 'heartbeat', from: this.id, to, ballot: leadership.ballot, commitIndex: this.replica.commitIndex });
    }
  }

  private onHeartbeat(message: HeartbeatMessage): void {
    if (compareBallots(message.ballot, this.acceptor.promised) < 0) {
      return this.nack(message.from, message.ballot, this.acceptor.promised);
    }
    this.observeBallot(message.ballot);
    this.heardLeader(message.ballot);
    this.learnCommitIndex(message.ballot, message.commitIndex, message.from);
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
    this.campaign = null;
    this.leadership = null;
    this.setRole('follower', null);
    this.electionDeadlineTick = this.now + this.randomElectionTimeout();
  }

  private heardLeader(ballot: Ballot): void {
    if (ballot.node === this.id || this.role !== 'follower') return;
    this.preVote = null;
    if (this.leaderId !== ballot.node) this.setRole('follower', ballot.node);
    this.lastLeaderContactTick = this.now;
    this.electionDeadlineTick = this.now + this.randomElectionTimeout();
  }

  // ---- learning ----------------------------------------------------------

  private learnChosen(slot: Slot, value: Value): void {
    if (this.replica.learn(slot, value)) this.ready.records.push({ type: 'chosen', slot, value });
  }

  // ---- rebuilding a node that lost its disk --------------------------------
  // Paxos Made Live (section 5.1): a replica that may have forgotten promises
  // and accepted values must not vote until that cannot matter. Ours asks a
  // majority of its peers (any quorum that counted its lost votes shares a
  // node with them), adopts the highest promise they report, and votes only
  // once it has learned every slot any of them had accepted or chosen: every
  // value it could have helped choose is then in its chosen log, which it
  // reports in promises.

  private startRebuild(): void {
    this.rebuild = { replies: new Map(), targetSlot: null, lastProbeTick: Number.NEGATIVE_INFINITY };
    this.ready.records.push({ type: 'rebuild', done: false });
    this.ready.events.push({ kind: 'rebuilding', peersNeeded: this.majority });
  }

  private tickRebuild(rebuild: Rebuild): void {
    if (this.now - rebuild.lastProbeTick < this.limits.resendTicks) return;
    rebuild.lastProbeTick = this.now;
    const leader = this.liveLeader();
    if (rebuild.targetSlot !== null && leader !== null) {
      this.send({ type: 'fill', from: this.id, to: leader, toSlot: rebuild.targetSlot });
      return;
    }
    for (const to of this.members) {
      if (to !== this.id && !rebuild.replies.has(to)) this.send({ type: 'probe', from: this.id, to });
    }
  }

  /** Proposes no-ops up to `toSlot`, a window at a time (the asker repeats until it is there). */
  private onFill(message: FillMessage): void {
    const leadership = this.leadership;
    if (leadership === null) return;
    while (leadership.nextSlot <= message.toSlot && this.windowHasRoom(leadership)) this.proposeBatch(leadership);
  }

  private onProbe(message: ProbeMessage): void {
    this.send({
      type: 'probe_reply',
      from: this.id,
      to: message.from,
      promised: this.acceptor.promised,
      acceptedUpTo: this.acceptor.acceptedUpTo,
      commitIndex: this.replica.commitIndex,
    });
  }

  private onProbeReply(message: ProbeReplyMessage): void {
    const rebuild = this.rebuild;
    if (rebuild === null || rebuild.targetSlot !== null || message.from === this.id) return;
    rebuild.replies.set(message.from, message);
    if (rebuild.replies.size < this.majority) return;
    let target = 0;
    let promised = ballotZero;
    for (const reply of rebuild.replies.values()) {
      target = Math.max(target, reply.acceptedUpTo, reply.commitIndex);
      if (compareBallots(reply.promised, promised) > 0) promised = reply.promised;
      if (reply.commitIndex >= this.knownCommitIndex && reply.commitIndex > 0) {
        this.knownCommitIndex = reply.commitIndex;
        this.commitSource = reply.from;
      }
    }
    const record = this.acceptor.promiseAtLeast(promised);
    if (record !== null) this.ready.records.push(record);
    this.highestRoundSeen = Math.max(this.highestRoundSeen, promised.round);
    rebuild.targetSlot = target;
    this.finishRebuildIfCaughtUp();
  }

  private finishRebuildIfCaughtUp(): void {
    const rebuild = this.rebuild;
    if (rebuild === null || rebuild.targetSlot === null || this.replica.commitIndex < rebuild.targetSlot) return;
    this.rebuild = null;
    this.ready.records.push({ type: 'rebuild', done: true });
    this.electionDeadlineTick = this.now + this.randomElectionTimeout();
    this.ready.events.push({ kind: 'rebuilt', promised: this.acceptor.promised, commitIndex: this.replica.commitIndex });
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
    this.finishRebuildIfCaughtUp();
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
    this.finishRebuildIfCaughtUp();
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

interface Rebuild {
  replies: Map<NodeId, ProbeReplyMessage>;
  /** Set once a majority of peers answered: the slot to learn up to before voting. */
  targetSlot: Slot | null;
  lastProbeTick: number;
}

function emptyReady(number: number): Ready {
  return { number, records: [], mustSync: false, messages: [], messagesAfterAppend: [], apply: [], events: [], snapshotNeeded: null };
}

/**
 * Whether a message vouches for something this node made durable, and so must
 * not leave before the records of its Ready (and of every earlier one) are on
 * disk. promise and accepted vouch for a promise or an accepted value; a
 * prepare for the candidate's own promise (a restart must never reuse the
 * ballot); nack and probe_reply report the promise. The others vouch for
 * nothing on this node's disk and may leave at once: an accept proposes (its
 * ballot's promise was made durable before the prepares left), a heartbeat or
 * chosen_reply reports what a majority made durable, and the rest ask questions.
 */
function vouchesForDurableState(message: PeerMessage): boolean {
  switch (message.type) {
    case 'promise':
    case 'accepted':
    case 'prepare':
    case 'nack':
    case 'probe_reply':
      return true;
    default:
      return false;
  }
}

export { noopValue };
export type { CoreEvent, Progress };
