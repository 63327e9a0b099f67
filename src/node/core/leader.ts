// What a would-be leader keeps: its ballot, the promises of phase 1, and the
// proposals of phase 2 still waiting for a majority of their slot's voters.
import { assert } from './assert.js';
import { compareBallots, noopValue, type AcceptedEntry, type Ballot, type Command, type NodeId, type PromiseMessage, type Slot, type Value } from './messages.js';
import { VoterQuorum, type Configuration, type Incarnation, type MembershipChange } from './membership.js';
import { valueBytes } from './size.js';

/** A value proposed for a slot at the leader's ballot, and who has accepted it. */
export interface Proposal {
  slot: Slot;
  value: Value;
  /** The value's size (size.ts), counted in the leader's window until the slot is chosen. */
  bytes: number;
  /** Votes of config(slot)'s voters, per incarnation. */
  acceptedBy: VoterQuorum;
  /** Tick at which the accept was last sent, to resend what got lost. */
  sentAtTick: number;
}

/**
 * The promises for one ballot, from any node (voters of any configuration the
 * ballot needs, or not), with what each reported accepted. A ballot is active
 * for slot t once the promisers include a majority of config(t)'s voters
 * (counted per incarnation) whose promises report slot t (fromSlot <= t).
 */
export class Promises {
  /** Keyed by (id, incarnation): a wiped node's new incarnation does not overwrite the old one's real promise. */
  private readonly byMember = new Map<string, PromiseMessage>();
  /** For every slot any promise reported, the value accepted at the highest ballot (the Synod rule). */
  readonly accepted = new Map<Slot, AcceptedEntry>();

  constructor(readonly ballot: Ballot) {}

  /** Records a promise for this ballot; a repeat from the same incarnation reporting no more changes nothing. */
  add(message: PromiseMessage): void {
    assert(compareBallots(message.ballot, this.ballot) === 0, 'promises are counted only for their own ballot');
    const key = memberKey(message.from, message.incarnation);
    const known = this.byMember.get(key);
    if (known !== undefined && known.fromSlot <= message.fromSlot) return;
    this.byMember.set(key, message);
    for (const entry of message.accepted) {
      const best = this.accepted.get(entry.slot);
      if (best === undefined || compareBallots(entry.ballot, best.ballot) > 0) this.accepted.set(entry.slot, entry);
    }
  }

  /** Whether a majority of `config`'s voters promised, each (that very incarnation) reporting slot `slot`. */
  activeFor(config: Configuration, slot: Slot): boolean {
    return config.voters.filter((voter) => this.promisedFor(voter.id, voter.incarnation, slot)).length >= Math.floor(config.voters.length / 2) + 1;
  }

  /** Voters of `config` with no promise of theirs (that incarnation, reporting `slot`) yet. */
  missing(config: Configuration, slot: Slot): NodeId[] {
    return config.voters.filter((voter) => !this.promisedFor(voter.id, voter.incarnation, slot)).map((voter) => voter.id);
  }

  /** Ids that promised, whatever their incarnation (the sabotage that counts by id alone). */
  idsReporting(slot: Slot): Set<NodeId> {
    return new Set([...this.byMember.values()].filter((promise) => promise.fromSlot <= slot).map((promise) => promise.from));
  }

  values(): IterableIterator<PromiseMessage> {
    return this.byMember.values();
  }

  private promisedFor(id: NodeId, incarnation: Incarnation | null, slot: Slot): boolean {
    if (incarnation === null) return false;
    const promise = this.byMember.get(memberKey(id, incarnation));
    return promise !== undefined && promise.fromSlot <= slot;
  }
}

function memberKey(id: NodeId, incarnation: Incarnation): string {
  return `${id}\u0000${incarnation}`;
}

/** Phase 1 in progress: the candidate's ballot and the promises so far. */
export class Campaign {
  readonly promises: Promises;

  constructor(
    readonly ballot: Ballot,
    readonly fromSlot: Slot,
    readonly startedAtTick: number,
  ) {
    this.promises = new Promises(ballot);
  }
}

/** What the leader knows of a peer from its accepteds: its incarnation and how far it has caught up. */
export interface PeerProgress {
  incarnation: Incarnation;
  commitIndex: Slot;
  /** When this incarnation was last heard from, and since when every report from this id named it. */
  atTick: number;
  sinceTick: number;
}

/** The leader's phase 2 bookkeeping for one ballot. */
export class Leadership {
  readonly proposals = new Map<Slot, Proposal>();
  /** Commands waiting for room in the window, in arrival order, with their sizes. */
  readonly pending: Command[] = [];
  private readonly pendingBytes: number[] = [];
  /** Bytes of the proposals not yet chosen (windowBytesMax). */
  bytesInFlight = 0;
  nextSlot: Slot;
  lastHeartbeatTick: number;
  /** Slots up to this one may hold a value accepted under an earlier ballot: re-proposed (or filled with a no-op) first. */
  recoverUpTo: Slot;
  /** A membership change waiting for its slot (one at a time). */
  pendingChange: MembershipChange | null = null;
  /** The slot whose proposal carries a change, until it is chosen. */
  changeInFlightSlot: Slot | null = null;
  /** When prepares last went to voters of a later configuration that have not promised this ballot. */
  lastPrepareTick = Number.NEGATIVE_INFINITY;
  readonly progress = new Map<NodeId, PeerProgress>();
  /** A leader that a chosen change removes tries to hand over once per leadership (node.ts handOverIfRemoved). */
  handoverTried = false;

  /** A peer reported its incarnation and commit index; a report naming another incarnation starts its count afresh. */
  heardFrom(id: NodeId, incarnation: Incarnation, commitIndex: Slot, nowTick: number): void {
    const known = this.progress.get(id);
    if (known !== undefined && known.incarnation === incarnation) {
      known.atTick = nowTick;
      known.commitIndex = Math.max(known.commitIndex, commitIndex);
      return;
    }
    this.progress.set(id, { incarnation, commitIndex, atTick: nowTick, sinceTick: nowTick });
  }

  constructor(
    readonly ballot: Ballot,
    readonly promises: Promises,
    nextSlot: Slot,
    recoverUpTo: Slot,
    nowTick: number,
  ) {
    this.nextSlot = nextSlot;
    this.recoverUpTo = recoverUpTo;
    this.lastHeartbeatTick = nowTick;
  }

  /** Registers the one value this ballot proposes for `slot`, counted against `config`'s voters. */
  propose(slot: Slot, value: Value, config: Configuration, nowTick: number, bytes: number = valueBytes(value)): Proposal {
    assert(!this.proposals.has(slot), `a leader proposes one value per slot per ballot (slot ${slot})`);
    const proposal: Proposal = { slot, value, bytes, acceptedBy: new VoterQuorum(config), sentAtTick: nowTick };
    this.proposals.set(slot, proposal);
    this.bytesInFlight += bytes;
    if (slot >= this.nextSlot) this.nextSlot = slot + 1;
    return proposal;
  }

  /** The proposal at `slot` was chosen: it leaves the window. */
  settle(proposal: Proposal): void {
    assert(this.proposals.get(proposal.slot) === proposal, `slot ${proposal.slot} settles the proposal it holds`);
    this.proposals.delete(proposal.slot);
    this.bytesInFlight -= proposal.bytes;
    if (this.changeInFlightSlot === proposal.slot) this.changeInFlightSlot = null;
  }

  /** Queues a client command of `bytes` (commandBytes) for the next batch. */
  enqueue(command: Command, bytes: number): void {
    this.pending.push(command);
    this.pendingBytes.push(bytes);
  }

  /**
   * Takes pending commands, in order, as the value of a new slot: up to
   * `countMax` of them and `bytesMax` bytes, but always at least one.
   */
  takeBatch(countMax: number, bytesMax: number): { value: Value; bytes: number } {
    let count = 0;
    let bytes = 5;
    while (count < this.pending.length && count < countMax && (count === 0 || bytes + this.pendingBytes[count] <= bytesMax)) {
      bytes += this.pendingBytes[count];
      count += 1;
    }
    if (count === 0) return { value: noopValue, bytes: valueBytes(noopValue) };
    this.pendingBytes.splice(0, count);
    return { value: { commands: this.pending.splice(0, count) }, bytes };
  }
}
