// The learner/replica: which values are chosen, how far the chosen log is
// gap-free (the commit index), how far it has been handed out to apply, and
// how far the driver says it has applied (PaxosNode.advance).
import { valueBytes } from './size.js';
import { assert } from './assert.js';
import type { ChosenEntry, Slot, Value } from './messages.js';

export class Replica {
  readonly #chosen: Map<Slot, Value>;
  #commitIndex: Slot;
  /** Handed out to the driver to apply (takeApplicable), possibly not yet applied. */
  #handedOutUpTo: Slot;
  #lastApplied: Slot;
  #lastChosen: Slot;
  /** Slots <= this live only in a snapshot; their values are forgotten here. */
  #compactedTo: Slot;

  /** `snapshotSlot`: the slot the state machine was restored to (0 when none). */
  constructor(chosen: Map<Slot, Value>, snapshotSlot: Slot) {
    this.#chosen = chosen;
    this.#commitIndex = snapshotSlot;
    this.#handedOutUpTo = snapshotSlot;
    this.#lastApplied = snapshotSlot;
    this.#lastChosen = snapshotSlot;
    this.#compactedTo = snapshotSlot;
    for (const slot of [...chosen.keys()]) {
      if (slot <= snapshotSlot) chosen.delete(slot);
      else this.#lastChosen = Math.max(this.#lastChosen, slot);
    }
    this.advanceCommitIndex();
  }

  get compactedTo(): Slot {
    return this.#compactedTo;
  }

  /** Every slot <= commitIndex is chosen and known here. */
  get commitIndex(): Slot {
    return this.#commitIndex;
  }

  /** The highest slot known chosen, possibly beyond a gap. */
  get lastChosen(): Slot {
    return this.#lastChosen;
  }

  /** The last slot the driver has applied to its state machine (see applied()). */
  get lastApplied(): Slot {
    return this.#lastApplied;
  }

  isChosen(slot: Slot): boolean {
    return this.#chosen.has(slot);
  }

  chosen(slot: Slot): Value | undefined {
    return this.#chosen.get(slot);
  }

  /**
   * Learn that `value` is chosen for `slot`. Returns true when this is news (the
   * caller persists a chosen record). Learning it again must give the same value.
   */
  learn(slot: Slot, value: Value): boolean {
    if (slot <= this.#compactedTo) return false; // already inside the snapshot
    const known = this.#chosen.get(slot);
    if (known !== undefined) {
      assert(sameCommandIds(known, value), `a chosen value never changes (slot ${slot})`);
      return false;
    }
    this.#chosen.set(slot, value);
    this.#lastChosen = Math.max(this.#lastChosen, slot);
    this.advanceCommitIndex();
    return true;
  }

  /** Chosen slots not yet handed out to apply, in order; marks them handed out. */
  takeApplicable(): ChosenEntry[] {
    const entries: ChosenEntry[] = [];
    while (this.#handedOutUpTo < this.#commitIndex) {
      const slot = this.#handedOutUpTo + 1;
      const value = this.#chosen.get(slot);
      assert(value !== undefined, `slots apply in order (slot ${slot} is below the commit index but unknown)`);
      entries.push({ slot, value });
      this.#handedOutUpTo = slot;
    }
    return entries;
  }

  /** The driver applied every slot up to `slot`: never beyond what was handed out, never backwards. */
  applied(slot: Slot): void {
    assert(slot <= this.#handedOutUpTo, `slot ${slot} applied but only ${this.#handedOutUpTo} was handed out`);
    assert(slot >= this.#lastApplied, `applied slot went back from ${this.#lastApplied} to ${slot}`);
    this.#lastApplied = slot;
  }

  /** Consecutive chosen entries from `fromSlot`, at most `countMax` of them. */
  chosenRange(fromSlot: Slot, toSlot: Slot, limits: { countMax: number; bytesMax: number }): ChosenEntry[] {
    const entries: ChosenEntry[] = [];
    let bytes = 0;
    for (let slot = fromSlot; slot <= toSlot && entries.length < limits.countMax; slot += 1) {
      const value = this.#chosen.get(slot);
      if (value === undefined) break;
      bytes += valueBytes(value);
      // At least one value, however large: a smaller one would never come.
      if (entries.length > 0 && bytes > limits.bytesMax) break;
      entries.push({ slot, value });
    }
    return entries;
  }

  /** Every chosen value known at slots >= fromSlot, gaps or not, in slot order. */
  chosenFrom(fromSlot: Slot): ChosenEntry[] {
    const entries: ChosenEntry[] = [];
    for (const [slot, value] of this.#chosen) if (slot >= fromSlot) entries.push({ slot, value });
    return entries.sort((a, b) => a.slot - b.slot);
  }

  /** Forgets chosen values at slots <= `slot`, which a snapshot of the applied state now holds. */
  compact(slot: Slot): void {
    assert(slot <= this.#lastApplied, `compaction to slot ${slot} beyond the last applied slot ${this.#lastApplied}`);
    for (let forgotten = this.#compactedTo + 1; forgotten <= slot; forgotten += 1) this.#chosen.delete(forgotten);
    this.#compactedTo = Math.max(this.#compactedTo, slot);
  }

  /** Jumps to a snapshot at `slot` taken by a peer: every slot up to it is chosen and applied. */
  install(slot: Slot): void {
    assert(slot > this.#lastApplied, `a snapshot at slot ${slot} is not ahead of applied slot ${this.#lastApplied}`);
    assert(this.#handedOutUpTo === this.#lastApplied, `a snapshot is installed while slots ${this.#lastApplied + 1}..${this.#handedOutUpTo} are being applied`);
    for (const known of [...this.#chosen.keys()]) if (known <= slot) this.#chosen.delete(known);
    this.#compactedTo = slot;
    this.#handedOutUpTo = slot;
    this.#lastApplied = slot;
    this.#commitIndex = Math.max(this.#commitIndex, slot);
    this.#lastChosen = Math.max(this.#lastChosen, slot);
    this.advanceCommitIndex();
  }

  private advanceCommitIndex(): void {
    while (this.#chosen.has(this.#commitIndex + 1)) this.#commitIndex += 1;
  }
}

/**
 * Two values are the same when they hold the same commands in the same order.
 * A command is identified by (client, seq): a client never reuses a sequence
 * number for a different operation.
 */
export function sameCommandIds(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (a.commands.length !== b.commands.length) return false;
  for (let i = 0; i < a.commands.length; i += 1) {
    if (a.commands[i].client !== b.commands[i].client || a.commands[i].seq !== b.commands[i].seq) return false;
  }
  return true;
}
