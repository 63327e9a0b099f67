// `paxos log inspect --diff`: do these data dirs hold the same chosen values?
// A data dir's chosen values are its `chosen` records; a slot below its latest
// sound snapshot has none (it is covered by the snapshot), and a follower may
// not have written the newest ones yet (chosen records are written lazily).
// So the dirs are compared at the slots all of them hold, and the slots only
// some hold are reported, with why the others lack them. Pure: a function of
// what src/node/storage/data-dir.ts read.
import type { Slot, Value } from '../node/core/messages.js';
import type { DataDirContents } from '../node/storage/data-dir.js';
import { placedRecords } from '../node/storage/data-dir.js';
import { sameValue } from '../node/storage/log-check.js';
import { summariseContents } from '../node/storage/log-summary.js';
import { valuePreview } from './preview.js';

/**
 * Data dirs one --diff reads. Each log is held in memory while comparing; a
 * cluster has far fewer members, and copies of them rarely number more.
 */
export const diffDataDirsMax = 32;
/**
 * Ranges of slots only some dirs hold that a result lists. Logs that alternate
 * holders slot by slot could make one range per slot; past this, a count says
 * how many more there are.
 */
export const diffPartialRangesMax = 1000;

/** One compared data dir, as the result describes it. */
export interface DiffDirectory {
  /** As given on the command line. */
  dataDir: string;
  nodeId: number | null;
  clusterId: string | null;
  /** How many slots have a chosen record, and the lowest and highest of them. */
  chosenSlots: number;
  firstChosen: Slot | null;
  lastChosen: Slot | null;
  /** The latest snapshot that passes its checks: the slots up to it need no chosen record. */
  snapshotSlot: Slot | null;
  /** The log is damaged here: its records after this point were not read. */
  corrupt: { file: string; offset: number; why: string } | null;
}

/** Slots `from` to `to`, both included. */
export interface SlotRange {
  from: Slot;
  to: Slot;
}

/** The first slot where the dirs' chosen values differ, and each holder's value. */
export interface DiffDifference {
  slot: Slot;
  /** One per dir that holds the slot, in command-line order. */
  values: { dataDir: string; preview: string }[];
}

/** Why a dir lacks a slot others hold. */
export type MissingSlot = { dataDir: string; why: 'snapshot'; snapshotSlot: Slot } | { dataDir: string; why: 'no_chosen_record' };

/** A run of slots held by some dirs only (the same dirs, for the same reasons, at every slot of it). */
export interface PartialRange extends SlotRange {
  heldBy: string[];
  missing: MissingSlot[];
}

export interface DiffResult {
  /** No slot holds different chosen values (exit 0); false: see `difference` (exit 1). */
  agree: boolean;
  dirs: DiffDirectory[];
  /** The slots every dir holds: the ones compared between all of them. */
  common: { slots: number; ranges: SlotRange[] };
  difference: DiffDifference | null;
  partial: PartialRange[];
  /** Partial ranges left out beyond diffPartialRangesMax. */
  partialOmitted: number;
  /** Reasons to read the result with care: damaged logs, dirs of different clusters. */
  warnings: string[];
}

/** A dir's chosen values by slot; more than one only when its own log contradicts itself. */
type ChosenValues = Map<Slot, Value[]>;

/** Compares the chosen values of `dirs` (at least two), slot by slot. */
export function diffContents(dirs: readonly { label: string; contents: DataDirContents }[]): DiffResult {
  if (dirs.length < 2) throw new RangeError(`--diff compares at least two data dirs, got ${dirs.length}`);
  const chosen = dirs.map(({ contents }) => chosenValues(contents));
  const described = dirs.map(({ label, contents }, position) => describeDirectory(label, contents, chosen[position]));
  const slots = unionOfSlots(chosen);
  const common = slots.filter((slot) => chosen.every((values) => values.has(slot)));
  const difference = firstDifference(slots, chosen, described);
  const partial = partialRanges(slots, chosen, described);
  return {
    agree: difference === null,
    dirs: described,
    common: { slots: common.length, ranges: runs(common) },
    difference,
    partial: partial.slice(0, diffPartialRangesMax),
    partialOmitted: Math.max(0, partial.length - diffPartialRangesMax),
    warnings: warningsFor(described),
  };
}

function chosenValues(contents: DataDirContents): ChosenValues {
  const values: ChosenValues = new Map();
  for (const { record } of placedRecords(contents.scan)) {
    if (record.type !== 'chosen') continue;
    const known = values.get(record.slot);
    // A checkpoint re-writes chosen values, so a slot often has the same value twice.
    if (known === undefined) values.set(record.slot, [record.value]);
    else if (!known.some((value) => sameValue(value, record.value))) known.push(record.value);
  }
  return values;
}

function describeDirectory(dataDir: string, contents: DataDirContents, chosen: ChosenValues): DiffDirectory {
  const summary = summariseContents(contents);
  const snapshot = summary.latestSnapshot;
  let firstChosen: Slot | null = null;
  let lastChosen: Slot | null = null;
  // A loop, not Math.min(...slots): a long log has more slots than a call takes arguments.
  for (const slot of chosen.keys()) {
    firstChosen = Math.min(firstChosen ?? slot, slot);
    lastChosen = Math.max(lastChosen ?? slot, slot);
  }
  return {
    dataDir,
    nodeId: summary.identity?.nodeId ?? null,
    clusterId: summary.identity?.clusterId ?? null,
    chosenSlots: chosen.size,
    firstChosen,
    lastChosen,
    snapshotSlot: snapshot !== null && snapshot.checksum === 'ok' ? snapshot.slot : null,
    corrupt: summary.corrupt,
  };
}

/** Every slot some dir holds, ascending. */
function unionOfSlots(chosen: readonly ChosenValues[]): Slot[] {
  const slots = new Set<Slot>();
  for (const values of chosen) for (const slot of values.keys()) slots.add(slot);
  return [...slots].sort((a, b) => a - b);
}

/**
 * The lowest slot where two dirs that hold it disagree, or where one dir's own
 * chosen records do. Every dir holding the slot takes part, not only when all
 * of them hold it: a value that differs is a difference wherever it is.
 */
function firstDifference(slots: readonly Slot[], chosen: readonly ChosenValues[], dirs: readonly DiffDirectory[]): DiffDifference | null {
  for (const slot of slots) {
    const holders = dirs.map((dir, position) => ({ dir, values: chosen[position].get(slot) })).filter((holder) => holder.values !== undefined);
    const first = holders[0].values?.[0] as Value;
    const differs = holders.some(({ values = [] }) => values.length > 1 || !sameValue(values[0], first));
    if (!differs) continue;
    const previews = distinguishingPreviews(holders.flatMap(({ values = [] }) => values));
    let next = 0;
    const values = holders.map(({ dir, values: held = [] }) => {
      const shown = held.map(() => previews[next++]);
      return { dataDir: dir.dataDir, preview: shown.length === 1 ? shown[0] : `its own chosen records differ: ${shown.join(' / ')}` };
    });
    return { slot, values };
  }
  return null;
}

/**
 * Previews of `values`; where two different values would look the same (they
 * differ past what a preview shows), each also shows its commands from the
 * first one that differs.
 */
export function distinguishingPreviews(values: readonly Value[]): string[] {
  const previews = values.map(valuePreview);
  const ambiguous = values.some((value, i) => values.some((other, j) => i !== j && previews[i] === previews[j] && !sameValue(value, other)));
  if (!ambiguous) return previews;
  return values.map((value, i) => {
    const from = Math.min(...values.filter((other) => !sameValue(value, other)).map((other) => firstDifferentCommand(value, other)));
    if (!Number.isFinite(from)) return previews[i];
    // A preview starts with the count of commands, so values that look the same have as many: `from` is inside both.
    return `${previews[i]} (from cmd ${from + 1}: ${valuePreview({ commands: value.commands.slice(from) })})`;
  });
}

function firstDifferentCommand(a: Value, b: Value): number {
  const length = Math.min(a.commands.length, b.commands.length);
  for (let position = 0; position < length; position += 1) {
    if (!sameValue({ commands: [a.commands[position]] }, { commands: [b.commands[position]] })) return position;
  }
  return length;
}

/** Runs of consecutive slots, e.g. [1, 2, 3, 7] gives 1..3 and 7..7. */
export function runs(slots: readonly Slot[]): SlotRange[] {
  const ranges: SlotRange[] = [];
  for (const slot of slots) {
    const last = ranges[ranges.length - 1];
    if (last !== undefined && slot === last.to + 1) last.to = slot;
    else ranges.push({ from: slot, to: slot });
  }
  return ranges;
}

/** Runs of slots that some dirs hold and others lack, split where the holders or the reasons change. */
function partialRanges(slots: readonly Slot[], chosen: readonly ChosenValues[], dirs: readonly DiffDirectory[]): PartialRange[] {
  const ranges: (PartialRange & { key: string })[] = [];
  for (const slot of slots) {
    const status = dirs.map((dir, position) => (chosen[position].has(slot) ? 'held' : dir.snapshotSlot !== null && slot <= dir.snapshotSlot ? 'snapshot' : 'none'));
    if (status.every((each) => each === 'held')) continue;
    const key = status.join(',');
    const last = ranges[ranges.length - 1];
    if (last !== undefined && last.key === key && slot === last.to + 1) {
      last.to = slot;
      continue;
    }
    const heldBy = dirs.filter((_, position) => status[position] === 'held').map((dir) => dir.dataDir);
    const missing = dirs.flatMap((dir, position): MissingSlot[] => {
      if (status[position] === 'held') return [];
      if (status[position] === 'snapshot' && dir.snapshotSlot !== null) return [{ dataDir: dir.dataDir, why: 'snapshot', snapshotSlot: dir.snapshotSlot }];
      return [{ dataDir: dir.dataDir, why: 'no_chosen_record' }];
    });
    ranges.push({ key, from: slot, to: slot, heldBy, missing });
  }
  return ranges.map(({ key: _key, ...range }) => range);
}

function warningsFor(dirs: readonly DiffDirectory[]): string[] {
  const warnings = dirs
    .filter((dir) => dir.corrupt !== null)
    .map((dir) => `${dir.dataDir}: the log is corrupt at ${dir.corrupt?.file}:${dir.corrupt?.offset}; its records after that were not read (run --verify on it)`);
  const clusters = new Set(dirs.map((dir) => dir.clusterId).filter((id) => id !== null));
  if (clusters.size > 1) warnings.push(`the data dirs belong to ${clusters.size} different clusters (${[...clusters].join(', ')}): their slots need not hold the same commands`);
  return warnings;
}
