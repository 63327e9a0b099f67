// The learner/replica: which values are chosen, how far the chosen log is
// gap-free (the commit index), and how far it has been handed out to apply.
import { assert } from './assert.js';
import type { ChosenEntry, Slot, Value } from './messages.js';

export class Replica {
  private readonly chosenBySlot: Map<Slot, Value>;
  private chosenUpTo: Slot = 0;
  private appliedUpTo: Slot = 0;
  private highestChosen: Slot = 0;

  constructor(chosen: Map<Slot, Value>) {
    this.chosenBySlot = chosen;
    for (const slot of chosen.keys()) this.highestChosen = Math.max(this.highestChosen, slot);
    this.advanceCommitIndex();
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
  chosenRange(fromSlot: Slot, toSlot: Slot, countMax: number): ChosenEntry[] {
    const entries: ChosenEntry[] = [];
    for (let slot = fromSlot; slot <= toSlot && entries.length < countMax; slot += 1) {
      const value = this.chosenBySlot.get(slot);
      if (value === undefined) break;
      entries.push({ slot, value });
    }
    return entries;
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
