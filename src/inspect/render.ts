// The text of `paxos log inspect`: the record table, the summary block, the
// problems --verify found and its verdict, and --diff's comparison. Pure:
// plain data in, lines out.
import type { LogProblem } from '../node/storage/log-check.js';
import type { LogSummary } from '../node/storage/log-summary.js';
import type { DiffResult, MissingSlot, SlotRange } from './diff.js';
import type { InspectedRecord } from './records.js';


const tableHeader = ['FILE', 'OFFSET', 'TYPE', 'BALLOT', 'SLOT', 'VALUE'];

/** The records as an aligned table, header first. */
export function renderRecordTable(records: readonly InspectedRecord[]): string[] {
  const rows = records.map((entry) => [entry.file, String(entry.offset), entry.type, entry.ballot ?? '-', entry.slot === undefined ? '-' : String(entry.slot), entry.preview]);
  const cells = [tableHeader, ...rows];
  const widths = tableHeader.map((_, column) => Math.max(...cells.map((row) => row[column].length)));
  return cells.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd());
}

/** The summary block: one `label  value` line per fact. */
export function renderSummary(summary: LogSummary): string[] {
  const lines: [string, string][] = [
    ['data dir', summary.dataDir + identityText(summary)],
    ['segments', segmentsText(summary)],
    ['records', recordsText(summary)],
    ['promised', summary.promised ?? '-'],
    ['slots', slotsText(summary)],
    ['snapshot', snapshotText(summary)],
    ['torn tail', summary.torn === null ? 'none' : `${summary.torn.file}:${summary.torn.offset}: ${summary.torn.bytes} bytes (${summary.torn.why}); cut at next start`],
    ['corruption', summary.corrupt === null ? 'none' : `${summary.corrupt.file}:${summary.corrupt.offset}: ${summary.corrupt.why}`],
  ];
  if (summary.incarnation !== null) lines.splice(1, 0, ['incarnation', summary.incarnation]);
  if (summary.logLost) lines.push(['LOG LOST', `identity.json says incarnation ${summary.incarnation ?? '?'} had a write-ahead log, but wal/ holds no segment: its promises and accepted values are gone; the next start takes a new incarnation and joins as a new member (docs/membership.md)`]);
  if (summary.replacedAfterLogLoss !== null) {
    const { incarnation, at } = summary.replacedAfterLogLoss;
    lines.push(['log lost', `at ${at} incarnation ${incarnation} was found without its write-ahead log; this dir runs since as incarnation ${summary.incarnation ?? '?'}, a new member`]);
  }
  if (summary.rebuilding) lines.push(['rebuilding', 'an unfinished rebuild of an older version (ignored: this version refuses such a log)']);
  if (summary.unexpectedFiles.length > 0) lines.push(['ignored', summary.unexpectedFiles.join(', ')]);
  const width = Math.max(...lines.map(([label]) => label.length));
  return lines.map(([label, value]) => `${label.padEnd(width)}  ${value}`);
}

function identityText(summary: LogSummary): string {
  if (summary.identity !== null) return ` (node ${summary.identity.nodeId}, cluster ${summary.identity.clusterId})`;
  return summary.identityProblem === null ? ' (no identity.json)' : ' (identity.json is damaged)';
}

function segmentsText(summary: LogSummary): string {
  const { count, names, bytes } = summary.segments;
  if (count === 0) return 'none';
  const files = count <= 3 ? names.join(', ') : `${names[0]} .. ${names[count - 1]}`;
  return `${count} (${files}), ${bytes} bytes`;
}

function recordsText(summary: LogSummary): string {
  const { counts } = summary;
  const total = counts.promise + counts.accept + counts.chosen + counts.rebuild + counts.membership + counts.bootstrap_view;
  const range = summary.firstIndex === null ? '' : ` (#${summary.firstIndex}..#${summary.lastIndex ?? summary.firstIndex})`;
  const membership = counts.membership + counts.bootstrap_view === 0 ? '' : `, ${counts.membership} membership, ${counts.bootstrap_view} bootstrap_view`;
  const byType = `${counts.promise} promise, ${counts.accept} accept, ${counts.chosen} chosen, ${counts.rebuild} rebuild${membership}`;
  return `${total}${range}: ${byType}; ${plural(counts.snapshot, 'snapshot')}`;
}

function slotsText(summary: LogSummary): string {
  const range = summary.firstSlot === null ? 'none in the log' : `${summary.firstSlot}..${summary.lastSlot ?? summary.firstSlot}`;
  return `${range}, last chosen ${summary.lastChosen ?? '-'}`;
}

function snapshotText(summary: LogSummary): string {
  const latest = summary.latestSnapshot;
  if (latest === null) return 'none';
  return `slot ${latest.slot} (${latest.file}, checksum ${latest.checksum})`;
}

/** `1 snapshot`, `2 snapshots`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** `file:offset: error: why`, one line per problem. */
export function renderProblems(problems: readonly LogProblem[]): string[] {
  return problems.map((problem) => `${problem.file}:${problem.offset}: ${problem.severity}: ${problem.why}`);
}

/** The last line of --verify: ok, or FAILED with how many problems, and what was read. */
export function renderVerdict(problems: readonly LogProblem[], summary: LogSummary): string {
  const errors = problems.filter((problem) => problem.severity === 'error').length;
  const warnings = problems.length - errors;
  const records = summary.counts.promise + summary.counts.accept + summary.counts.chosen + summary.counts.rebuild + summary.counts.membership + summary.counts.bootstrap_view;
  const checked = `${plural(records, 'record')} in ${plural(summary.segments.count, 'segment')}, ${plural(summary.counts.snapshot, 'snapshot')}`;
  if (errors === 0) return `verify: ok: ${checked}${warnings === 0 ? '' : ` (${plural(warnings, 'warning')})`}`;
  return `verify: FAILED: ${plural(errors, 'problem')}${warnings === 0 ? '' : `, ${plural(warnings, 'warning')}`}; read ${checked}`;
}

/** Ranges a --diff line lists before it says how many more there are: one line stays readable. */
const diffRangesShownMax = 8;
/** Partial ranges the --diff text lists, one line each; --json has them all (up to diffPartialRangesMax). */
const diffPartialLinesMax = 20;

/** `3..40, 42, 50..61`, cut after diffRangesShownMax ranges. */
export function renderRanges(ranges: readonly SlotRange[]): string {
  const shown = ranges.slice(0, diffRangesShownMax).map((range) => (range.from === range.to ? String(range.from) : `${range.from}..${range.to}`));
  const more = ranges.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${plural(more, 'more range')}` : shown.join(', ');
}

/** --diff's text: one row per data dir, then the verdict, then the slots only some dirs hold. */
export function renderDiff(result: DiffResult): string[] {
  const header = ['DATA DIR', 'NODE', 'CHOSEN SLOTS', 'SNAPSHOT'];
  const rows = result.dirs.map((dir) => [
    dir.dataDir,
    dir.nodeId === null ? '-' : String(dir.nodeId),
    dir.firstChosen === null ? 'none' : `${dir.firstChosen}..${dir.lastChosen ?? dir.firstChosen} (${dir.chosenSlots})`,
    dir.snapshotSlot === null ? '-' : `slot ${dir.snapshotSlot} (covers 1..${dir.snapshotSlot})`,
  ]);
  const lines = alignColumns([header, ...rows]);
  lines.push('');
  const all = result.dirs.length === 2 ? 'both data dirs' : `all ${plural(result.dirs.length, 'data dir')}`;
  const theyAll = result.dirs.length === 2 ? 'both' : 'all of them';
  const slots = plural(result.common.slots, 'slot');
  const ranges = renderRanges(result.common.ranges);
  if (result.difference !== null) {
    lines.push(`differ: slot ${result.difference.slot} is the first where the chosen values differ`);
    const width = Math.max(...result.difference.values.map((value) => value.dataDir.length));
    for (const value of result.difference.values) lines.push(`  ${value.dataDir.padEnd(width)}  ${value.preview}`);
    lines.push(result.common.slots === 0 ? `no slot is held by ${all}` : `${all} hold ${slots}: ${ranges}`);
    return lines;
  }
  lines.push(
    result.common.slots === 0
      ? `agree: no slot is held by ${all}, so none could differ`
      : `agree: the chosen values are the same in ${all} at each of the ${slots} ${theyAll} hold: ${ranges}`,
  );
  const partial = result.partial.slice(0, diffPartialLinesMax);
  for (const range of partial) lines.push(`only some hold ${renderRanges([range])}: ${range.heldBy.join(', ')} (${missingText(range.missing)})`);
  const more = result.partial.length - partial.length + result.partialOmitted;
  if (more > 0) lines.push(`only some hold: ${plural(more, 'more range')} (see --json)`);
  return lines;
}

function missingText(missing: readonly MissingSlot[]): string {
  const bySnapshot = new Map<number, string[]>();
  const unrecorded: string[] = [];
  for (const each of missing) {
    if (each.why === 'snapshot') bySnapshot.set(each.snapshotSlot, [...(bySnapshot.get(each.snapshotSlot) ?? []), each.dataDir]);
    else unrecorded.push(each.dataDir);
  }
  const parts = [...bySnapshot].map(([slot, dirs]) => `${dirs.join(', ')}: covered by snapshot ${slot}`);
  if (unrecorded.length > 0) parts.push(`${unrecorded.join(', ')}: no chosen record`);
  return parts.join('; ');
}

function alignColumns(cells: string[][]): string[] {
  const widths = cells[0].map((_, column) => Math.max(...cells.map((row) => row[column].length)));
  return cells.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd());
}
