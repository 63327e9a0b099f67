// What a would-be leader keeps: its ballot, the promises of phase 1, and the
// proposals of phase 2 still waiting for a majority.
import { assert } from './assert.js';
import { compareBallots, noopValue, type AcceptedEntry, type Ballot, type Command, type NodeId, type PromiseMessage, type Slot, type Value } from './messages.js';
import { Quorum } from './quorum.js';
import { valueBytes } from './size.js';

/** A value proposed for a slot at the leader's ballot, and who has accepted it. */
export interface Proposal {
  slot: Slot;
  value: Value;
  /** The value's size (size.ts), counted in the leader's window until the slot is chosen. */
  bytes: number;
  acceptedBy: Quorum;
  /** Tick at which the accept was last sent, to resend what got lost. */
  sentAtTick: number;
}

/** Phase 1 in progress: the candidate's ballot and the promises so far. */
export class Campaign {
  readonly promises = new Map<NodeId, PromiseMessage>();
  private readonly quorum: Quorum;

  constructor(
    readonly ballot: Ballot,
    readonly fromSlot: Slot,
    readonly startedAtTick: number,
    majority: number,
  ) {
    this.quorum = new Quorum(majority);
  }

  /** Records a promise for this campaign's ballot; true once a majority has promised. */
  addPromise(message: PromiseMessage): boolean {
    assert(compareBallots(message.ballot, this.ballot) === 0, 'a campaign counts only promises for its own ballot');
    if (!this.promises.has(message.from)) this.promises.set(message.from, message);
    return this.quorum.add(message.from);
  }
}

/**
 * For every slot any promise reported, the value accepted at the highest ballot:
 * the Synod rule that makes a new leader re-propose whatever may have been chosen.
 */
export function highestAccepted(promises: Iterable<PromiseMessage>): Map<Slot, AcceptedEntry> {
  const bySlot = new Map<Slot, AcceptedEntry>();
  for (const promise of promises) {
    for (const entry of promise.accepted) {
      const known = bySlot.get(entry.slot);
      if (known === undefined || compareBallots(entry.ballot, known.ballot) > 0) bySlot.set(entry.slot, entry);
    }
  }
  return bySlot;
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

  constructor(
    readonly ballot: Ballot,
    nextSlot: Slot,
    nowTick: number,
  ) {
    this.nextSlot = nextSlot;
    this.lastHeartbeatTick = nowTick;
  }

  /** Registers the one value this ballot proposes for `slot`; `bytes` defaults to its measured size. */
  propose(slot: Slot, value: Value, majority: number, nowTick: number, bytes: number = valueBytes(value)): Proposal {
    assert(!this.proposals.has(slot), `a leader proposes one value per slot per ballot (slot ${slot})`);
    const proposal: Proposal = { slot, value, bytes, acceptedBy: new Quorum(majority), sentAtTick: nowTick };
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
