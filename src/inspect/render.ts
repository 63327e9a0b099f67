// The text of `paxos log inspect`: the record table, the summary block, the
// problems --verify found and its verdict. Pure: plain data in, lines out.
import type { LogProblem } from '../node/storage/log-check.js';
import type { LogSummary } from '../node/storage/log-summary.js';
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
  if (summary.rebuilding) lines.push(['rebuilding', 'yes: the node does not vote until it has caught up']);
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
  const total = counts.promise + counts.accept + counts.chosen + counts.rebuild;
  const range = summary.firstIndex === null ? '' : ` (#${summary.firstIndex}..#${summary.lastIndex ?? summary.firstIndex})`;
  const byType = `${counts.promise} promise, ${counts.accept} accept, ${counts.chosen} chosen, ${counts.rebuild} rebuild`;
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
  const records = summary.counts.promise + summary.counts.accept + summary.counts.chosen + summary.counts.rebuild;
  const checked = `${plural(records, 'record')} in ${plural(summary.segments.count, 'segment')}, ${plural(summary.counts.snapshot, 'snapshot')}`;
  if (errors === 0) return `verify: ok: ${checked}${warnings === 0 ? '' : ` (${plural(warnings, 'warning')})`}`;
  return `verify: FAILED: ${plural(errors, 'problem')}${warnings === 0 ? '' : `, ${plural(warnings, 'warning')}`}; read ${checked}`;
}
