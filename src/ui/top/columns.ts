// Which columns of the node table fit the terminal, and the text of each cell.
// Pure: the components only colour what this lays out.
import { formatBytes, formatMicros, formatRate, formatUptime } from '../format.js';
import { sparkline } from '../sparkline.js';
import type { NodeRowView } from './model.js';

export type ColumnId =
  | 'node'
  | 'address'
  | 'role'
  | 'links'
  | 'ballot'
  | 'chosen'
  | 'applied'
  | 'lag'
  | 'ops'
  | 'trend'
  | 'p50'
  | 'p99'
  | 'wal'
  | 'uptime';

interface ColumnSpec {
  id: ColumnId;
  title: string;
  /** Characters, title included; the trend column grows into what is left. */
  width: number;
  alignRight: boolean;
  /** A cell too long for its column loses its start rather than its end (an address keeps its port). */
  cutStart?: boolean;
  cell: (row: NodeRowView, width: number) => string;
}

/** The gap between two columns, in characters. */
export const columnGapChars = 2;
/** The sparkline takes what is left of the line, between these. */
export const trendCharsMin = 8;
export const trendCharsMax = 30;

const dash = '-';
const orDash = <T>(value: T | null, show: (value: T) => string): string => (value === null ? dash : show(value));

/** Addresses are as wide as the widest one, between these. */
const addressCharsMin = 7;
const addressCharsMax = 21;
/**
 * When the address must stay (a node never reached has no id) and the line is
 * tight, it shrinks to this rather than push LAG off the line: `…7401`. Then
 * the columns always shown fit 40 characters.
 */
const addressCharsTight = 5;

/** In display order. */
const columnSpecs: readonly ColumnSpec[] = [
  { id: 'node', title: 'NODE', width: 4, alignRight: false, cell: (row) => `${row.condition === 'leader' ? '*' : ' '}${row.id ?? '?'}` },
  { id: 'address', title: 'ADDRESS', width: addressCharsMax, alignRight: false, cutStart: true, cell: (row) => row.address },
  { id: 'role', title: 'ROLE', width: 9, alignRight: false, cell: (row) => (row.condition === 'lagging' ? 'lagging' : row.role) },
  { id: 'links', title: 'LINKS', width: 10, alignRight: false, cell: linksCell },
  { id: 'ballot', title: 'BALLOT', width: 7, alignRight: true, cell: (row) => row.ballot ?? dash },
  { id: 'chosen', title: 'CHOSEN', width: 8, alignRight: true, cell: (row) => orDash(row.chosen, String) },
  { id: 'applied', title: 'APPLIED', width: 8, alignRight: true, cell: (row) => orDash(row.applied, String) },
  { id: 'lag', title: 'LAG', width: 6, alignRight: true, cell: (row) => orDash(row.lag, String) },
  { id: 'ops', title: 'OPS/S', width: 6, alignRight: true, cell: (row) => orDash(row.opsPerSecond, formatRate) },
  { id: 'trend', title: 'TREND', width: trendCharsMin, alignRight: false, cell: (row, width) => sparkline(row.opsHistory, width) },
  { id: 'p50', title: 'P50', width: 6, alignRight: true, cell: (row) => orDash(row.p50Micros, formatMicros) },
  { id: 'p99', title: 'P99', width: 6, alignRight: true, cell: (row) => orDash(row.p99Micros, formatMicros) },
  { id: 'wal', title: 'WAL', width: 10, alignRight: true, cell: (row) => orDash(row.walBytes, formatBytes) },
  { id: 'uptime', title: 'UPTIME', width: 7, alignRight: true, cell: (row) => orDash(row.uptimeMs, formatUptime) },
];

/** Shown at any width (and the address too when a row has no id). */
export const columnsAlwaysShown: readonly ColumnId[] = ['node', 'role', 'chosen', 'lag'];

/**
 * The other columns in the order they get room as the terminal widens; as it
 * narrows they go from the end: uptime, ballot, applied, address, WAL, p50,
 * trend, links, p99, ops/s (docs/cli.md). Taking them strictly in this order,
 * and stopping at the first that does not fit, makes the layout monotonic: a
 * column shown at some width is shown at every greater width.
 */
export const columnsByPriority: readonly ColumnId[] = ['ops', 'p99', 'links', 'trend', 'p50', 'wal', 'address', 'applied', 'ballot', 'uptime'];

function linksCell(row: NodeRowView): string {
  if (row.condition === 'down') return row.downForMs === null ? 'down' : `down ${formatUptime(row.downForMs)}`;
  return row.peersTotal === null ? dash : `${row.peersConnected}/${row.peersTotal} up`;
}

export interface LaidColumn {
  id: ColumnId;
  title: string;
  width: number;
  alignRight: boolean;
  /** Cut a long cell at its start (`…0.1:7401`), not its end. */
  cutStart: boolean;
  cell: (row: NodeRowView) => string;
}

/**
 * The columns that fit in `width` characters, in display order: those always
 * shown, then the others in `columnsByPriority` order while they fit, with the
 * trend widened into what is left. With `addressRequired` the address is
 * always shown too, shrunk to fit if need be. `addressChars` is the longest
 * address to show. Below the width of the columns always shown, the line is
 * wider than `width` and the terminal cuts it.
 */
export function layoutColumns(width: number, options: { addressChars?: number; addressRequired?: boolean } = {}): LaidColumn[] {
  const addressRequired = options.addressRequired === true;
  const addressChars = Math.min(addressCharsMax, Math.max(addressCharsMin, options.addressChars ?? addressCharsMax));
  const widths = new Map<ColumnId, number>(columnSpecs.map((spec) => [spec.id, spec.id === 'address' ? addressChars : spec.width]));
  const always = addressRequired ? [...columnsAlwaysShown, 'address' as const] : columnsAlwaysShown;
  let used = -columnGapChars;
  for (const id of always) used += widths.get(id)! + columnGapChars;
  if (addressRequired && used > width) {
    // A never-reached node is told apart by its address alone; cut it, not the columns after it.
    const cut = Math.min(used - width, addressChars - addressCharsTight);
    widths.set('address', addressChars - cut);
    used -= cut;
  }
  const shown = new Set<ColumnId>(always);
  for (const id of columnsByPriority) {
    if (shown.has(id)) continue;
    const needed = widths.get(id)! + columnGapChars;
    if (used + needed > width) break;
    shown.add(id);
    used += needed;
  }
  const spare = Math.max(0, width - used);
  return columnSpecs
    .filter((spec) => shown.has(spec.id))
    .map((spec) => {
      const columnWidth = spec.id === 'trend' ? Math.min(trendCharsMax, trendCharsMin + spare) : widths.get(spec.id)!;
      return {
        id: spec.id,
        title: spec.title,
        width: columnWidth,
        alignRight: spec.alignRight,
        cutStart: spec.cutStart === true,
        cell: (row: NodeRowView) => spec.cell(row, columnWidth),
      };
    });
}

/** One cell's text, padded or cut to its column (titles are cut at their end: pass `cutStart` false). */
export function fitCell(text: string, column: LaidColumn, cutStart: boolean = column.cutStart): string {
  const chars = [...text];
  const tooLong = chars.length > column.width;
  const kept = cutStart ? `…${chars.slice(chars.length - column.width + 1).join('')}` : `${chars.slice(0, column.width - 1).join('')}…`;
  const cut = tooLong ? kept : text;
  const padding = ' '.repeat(Math.max(0, column.width - [...cut].length));
  return column.alignRight ? padding + cut : cut + padding;
}
