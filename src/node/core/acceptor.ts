// The acceptor of the Synod protocol, one per slot but sharing one promise:
// a promise for ballot b covers every slot, so a new leader runs phase 1 once.
import { assert } from './assert.js';
import {
  ballotZero,
  compareBallots,
  type AcceptedEntry,
  type Ballot,
  type Slot,
  type Value,
  type WalRecord,
} from './messages.js';

/** What an acceptor remembers across a crash (rebuilt from its write-ahead log). */
export interface AcceptorState {
  promised: Ballot;
  accepted: Map<Slot, AcceptedEntry>;
}

export function emptyAcceptorState(): AcceptorState {
  return { promised: ballotZero, accepted: new Map() };
}

export type PrepareOutcome =
  | { promised: true; record: WalRecord | null; accepted: AcceptedEntry[] }
  | { promised: false; higher: Ballot };

export type AcceptOutcome = { accepted: true; record: WalRecord } | { accepted: false; higher: Ballot };

export class Acceptor {
  private promisedBallot: Ballot;
  private readonly acceptedBySlot: Map<Slot, AcceptedEntry>;
  private highestAccepted: Slot = 0;

  constructor(state: AcceptorState) {
    this.promisedBallot = state.promised;
    this.acceptedBySlot = state.accepted;
    for (const slot of state.accepted.keys()) this.highestAccepted = Math.max(this.highestAccepted, slot);
  }

  get promised(): Ballot {
    return this.promisedBallot;
  }

  accepted(slot: Slot): AcceptedEntry | undefined {
    return this.acceptedBySlot.get(slot);
  }

  /** Every accepted entry. Kept even once chosen: a later leader's phase 1 must see it. */
  acceptedEntries(): IterableIterator<AcceptedEntry> {
    return this.acceptedBySlot.values();
  }

  get acceptedCount(): number {
    return this.acceptedBySlot.size;
  }

  /** The highest slot holding an accepted value (0 when none). */
  get acceptedUpTo(): Slot {
    return this.highestAccepted;
  }

  /**
   * Phase 1b. Promise `ballot` unless a higher one was promised. Repeating a promise
   * for the same ballot is harmless (a lost promise message gets answered again).
   */
  prepare(ballot: Ballot, fromSlot: Slot): PrepareOutcome {
    const order = compareBallots(ballot, this.promisedBallot);
    if (order < 0) return { promised: false, higher: this.promisedBallot };
    const record: WalRecord | null = order > 0 ? { type: 'promise', ballot } : null;
    if (order > 0) this.raisePromise(ballot);
    const accepted: AcceptedEntry[] = [];
    for (const entry of this.acceptedBySlot.values()) {
      if (entry.slot >= fromSlot) accepted.push(entry);
    }
    accepted.sort((a, b) => a.slot - b.slot);
    return { promised: true, record, accepted };
  }

  /** Phase 2b. Accept unless a higher ballot was promised; accepting also promises `ballot`. */
  accept(ballot: Ballot, slot: Slot, value: Value): AcceptOutcome {
    if (compareBallots(ballot, this.promisedBallot) < 0) return { accepted: false, higher: this.promisedBallot };
    if (compareBallots(ballot, this.promisedBallot) > 0) this.raisePromise(ballot);
    this.acceptedBySlot.set(slot, { slot, ballot, value });
    this.highestAccepted = Math.max(this.highestAccepted, slot);
    return { accepted: true, record: { type: 'accept', slot, ballot, value } };
  }

  /**
   * Raises the promise to at least `ballot` without a prepare: an accept for a
   * slot inside our snapshot is answered (the value is the chosen one) and
   * promises its ballot as any accept would.
   */
  promiseAtLeast(ballot: Ballot): WalRecord | null {
    if (compareBallots(ballot, this.promisedBallot) <= 0) return null;
    this.raisePromise(ballot);
    return { type: 'promise', ballot };
  }

  /** Forgets accepted values at slots <= `slot`: they are chosen and inside a snapshot. */
  compact(slot: Slot): void {
    for (const accepted of this.acceptedBySlot.keys()) if (accepted <= slot) this.acceptedBySlot.delete(accepted);
  }

  private raisePromise(ballot: Ballot): void {
    assert(compareBallots(ballot, this.promisedBallot) > 0, 'a promise never goes down');
    this.promisedBallot = ballot;
  }
}
