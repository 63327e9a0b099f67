// What a would-be leader keeps: its ballot, the promises of phase 1, and the
// proposals of phase 2 still waiting for a majority.
import { assert } from './assert.js';
import { compareBallots, noopValue, type AcceptedEntry, type Ballot, type Command, type NodeId, type PromiseMessage, type Slot, type Value } from './messages.js';
import { Quorum } from './quorum.js';

/** A value proposed for a slot at the leader's ballot, and who has accepted it. */
export interface Proposal {
  slot: Slot;
  value: Value;
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
  /** Commands waiting for room in the window, in arrival order. */
  readonly pending: Command[] = [];
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

  /** Registers the one value this ballot proposes for `slot`. */
  propose(slot: Slot, value: Value, majority: number, nowTick: number): Proposal {
    assert(!this.proposals.has(slot), `a leader proposes one value per slot per ballot (slot ${slot})`);
    const proposal: Proposal = { slot, value, acceptedBy: new Quorum(majority), sentAtTick: nowTick };
    this.proposals.set(slot, proposal);
    if (slot >= this.nextSlot) this.nextSlot = slot + 1;
    return proposal;
  }

  /** Takes up to `countMax` pending commands as the value of a new slot. */
  takeBatch(countMax: number): Value {
    const commands = this.pending.splice(0, countMax);
    return commands.length === 0 ? noopValue : { commands };
  }
}
