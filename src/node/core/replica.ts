// The learner/replica: which values are chosen, how far the chosen log is
// gap-free (the commit index), and how far it has been handed out to apply.
import { valueBytes } from './size.js';
import { assert } from './assert.js';
import type { ChosenEntry, Slot, Value } from './messages.js';

export class Replica {
  private readonly chosenBySlot: Map<Slot, Value>;
  private chosenUpTo: Slot;
  private appliedUpTo: Slot;
  private highestChosen: Slot;
  /** Slots <= this live only in a snapshot; their values are forgotten here. */
  private compactedUpTo: Slot;

  /** `snapshotSlot`: the slot the state machine was restored to (0 when none). */
  constructor(chosen: Map<Slot, Value>, snapshotSlot: Slot) {
    this.chosenBySlot = chosen;
    this.chosenUpTo = snapshotSlot;
    this.appliedUpTo = snapshotSlot;
    this.highestChosen = snapshotSlot;
    this.compactedUpTo = snapshotSlot;
    for (const slot of [...chosen.keys()]) {
      if (slot <= snapshotSlot) chosen.delete(slot);
      else this.highestChosen = Math.max(this.highestChosen, slot);
    }
    this.advanceCommitIndex();
  }

  get compactedTo(): Slot {
    return this.compactedUpTo;
  }

  /** Every slot <= commitIndex is chosen and known here. */
  get commitIndex(): Slot {
    return this.chosenUpTo;
  }

  /** The highest slot known chosen, possibly beyond a gap. */
  get lastChosen(): Slot {
    return this.highestChosen;
  }

  get lastApplied(): Slot {
    return this.appliedUpTo;
  }

  isChosen(slot: Slot): boolean {
    return this.chosenBySlot.has(slot);
  }

  chosen(slot: Slot): Value | undefined {
    return this.chosenBySlot.get(slot);
  }

  /**
   * Learn that `value` is chosen for `slot`. Returns true when this is news (the
   * caller persists a chosen record). Learning it again must give the same value.
   */
  learn(slot: Slot, value: Value): boolean {
    if (slot <= this.compactedUpTo) return false; // already inside the snapshot
    const known = this.chosenBySlot.get(slot);
    if (known !== undefined) {
      assert(sameValue(known, value), `a chosen value never changes (slot ${slot})`);
      return false;
    }
    this.chosenBySlot.set(slot, value);
    this.highestChosen = Math.max(this.highestChosen, slot);
    this.advanceCommitIndex();
    return true;
  }

  /** Chosen slots not yet handed out to apply, in order; marks them handed out. */
  takeApplicable(): ChosenEntry[] {
    const entries: ChosenEntry[] = [];
    while (this.appliedUpTo < this.chosenUpTo) {
      const slot = this.appliedUpTo + 1;
      const value = this.chosenBySlot.get(slot);
      assert(value !== undefined, `slots apply in order (slot ${slot} is below the commit index but unknown)`);
      entries.push({ slot, value });
      this.appliedUpTo = slot;
    }
    return entries;
  }

  /** Consecutive chosen entries from `fromSlot`, at most `countMax` of them. */
  chosenRange(fromSlot: Slot, toSlot: Slot, limits: { countMax: number; bytesMax: number }): ChosenEntry[] {
    const entries: ChosenEntry[] = [];
    let bytes = 0;
    for (let slot = fromSlot; slot <= toSlot && entries.length < limits.countMax; slot += 1) {
      const value = this.chosenBySlot.get(slot);
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
    for (const [slot, value] of this.chosenBySlot) if (slot >= fromSlot) entries.push({ slot, value });
    return entries.sort((a, b) => a.slot - b.slot);
  }

  /** Forgets chosen values at slots <= `slot`, which a snapshot of the applied state now holds. */
  compact(slot: Slot): void {
    assert(slot <= this.appliedUpTo, `compaction to slot ${slot} beyond the last applied slot ${this.appliedUpTo}`);
    for (let forgotten = this.compactedUpTo + 1; forgotten <= slot; forgotten += 1) this.chosenBySlot.delete(forgotten);
    this.compactedUpTo = Math.max(this.compactedUpTo, slot);
  }

  /** Jumps to a snapshot at `slot` taken by a peer: every slot up to it is chosen and applied. */
  install(slot: Slot): void {
    assert(slot > this.appliedUpTo, `a snapshot at slot ${slot} is not ahead of applied slot ${this.appliedUpTo}`);
    for (const known of [...this.chosenBySlot.keys()]) if (known <= slot) this.chosenBySlot.delete(known);
    this.compactedUpTo = slot;
    this.appliedUpTo = slot;
    this.chosenUpTo = Math.max(this.chosenUpTo, slot);
    this.highestChosen = Math.max(this.highestChosen, slot);
    this.advanceCommitIndex();
  }

  private advanceCommitIndex(): void {
    while (this.chosenBySlot.has(this.chosenUpTo + 1)) this.chosenUpTo += 1;
  }
}

/**
 * Two values are the same when they hold the same commands in the same order.
 * A command is identified by (client, seq): a client never reuses a sequence
 * number for a different operation.
 */
export function sameValue(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (a.commands.length !== b.commands.length) return false;
  for (let i = 0; i < a.commands.length; i += 1) {
    if (a.commands[i].client !== b.commands[i].client || a.commands[i].seq !== b.commands[i].seq) return false;
  }
  return true;
}
