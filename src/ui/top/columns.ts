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
  /** Lower stays longer as the terminal narrows. */
  keep: number;
  alignRight: boolean;
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

/** In display order. `keep`: the first to go as the terminal narrows are uptime, ballot, applied, address. */
const columnSpecs: readonly ColumnSpec[] = [
  { id: 'node', title: 'NODE', width: 4, keep: 0, alignRight: false, cell: (row) => `${row.condition === 'leader' ? '*' : ' '}${row.id ?? '?'}` },
  { id: 'address', title: 'ADDRESS', width: addressCharsMax, keep: 6, alignRight: false, cell: (row) => row.address },
  { id: 'role', title: 'ROLE', width: 9, keep: 0, alignRight: false, cell: (row) => (row.condition === 'lagging' ? 'lagging' : row.role) },
  { id: 'links', title: 'LINKS', width: 10, keep: 3, alignRight: false, cell: linksCell },
  { id: 'ballot', title: 'BALLOT', width: 7, keep: 8, alignRight: true, cell: (row) => row.ballot ?? dash },
  { id: 'chosen', title: 'CHOSEN', width: 8, keep: 1, alignRight: true, cell: (row) => orDash(row.chosen, String) },
  { id: 'applied', title: 'APPLIED', width: 8, keep: 7, alignRight: true, cell: (row) => orDash(row.applied, String) },
  { id: 'lag', title: 'LAG', width: 6, keep: 1, alignRight: true, cell: (row) => orDash(row.lag, String) },
  { id: 'ops', title: 'OPS/S', width: 6, keep: 2, alignRight: true, cell: (row) => orDash(row.opsPerSecond, formatRate) },
  { id: 'trend', title: 'TREND', width: trendCharsMin, keep: 4, alignRight: false, cell: (row, width) => sparkline(row.opsHistory, width) },
  { id: 'p50', title: 'P50', width: 6, keep: 5, alignRight: true, cell: (row) => orDash(row.p50Micros, formatMicros) },
  { id: 'p99', title: 'P99', width: 6, keep: 2, alignRight: true, cell: (row) => orDash(row.p99Micros, formatMicros) },
  { id: 'wal', title: 'WAL', width: 10, keep: 5, alignRight: true, cell: (row) => orDash(row.walBytes, formatBytes) },
  { id: 'uptime', title: 'UPTIME', width: 7, keep: 9, alignRight: true, cell: (row) => orDash(row.uptimeMs, formatUptime) },
];

function linksCell(row: NodeRowView): string {
  if (row.condition === 'down') return row.downForMs === null ? 'down' : `down ${formatUptime(row.downForMs)}`;
  return row.peersTotal === null ? dash : `${row.peersConnected}/${row.peersTotal} up`;
}

export interface LaidColumn {
  id: ColumnId;
  title: string;
  width: number;
  alignRight: boolean;
  cell: (row: NodeRowView) => string;
}

/**
 * The columns that fit in `width` characters: the most important first
 * (`keep`), shown in display order, with the trend widened into what is left.
 * The node, role, chosen and lag columns are always shown, and the address
 * too when `addressRequired`. `addressChars` is the longest address to show.
 */
export function layoutColumns(width: number, options: { addressChars?: number; addressRequired?: boolean } = {}): LaidColumn[] {
  const addressChars = Math.min(addressCharsMax, Math.max(addressCharsMin, options.addressChars ?? addressCharsMax));
  const widthOf = (spec: ColumnSpec): number => (spec.id === 'address' ? addressChars : spec.width);
  // A node never reached has no id: only its address tells its row apart.
  const keepOf = (spec: ColumnSpec): number => (spec.id === 'address' && options.addressRequired === true ? 0 : spec.keep);
  const chosen = new Set<ColumnId>();
  let used = -columnGapChars;
  for (const spec of [...columnSpecs].sort((a, b) => keepOf(a) - keepOf(b))) {
    const needed = widthOf(spec) + columnGapChars;
    if (keepOf(spec) > 1 && used + needed > width) continue;
    chosen.add(spec.id);
    used += needed;
  }
  const spare = Math.max(0, width - used);
  return columnSpecs
    .filter((spec) => chosen.has(spec.id))
    .map((spec) => {
      const columnWidth = spec.id === 'trend' ? Math.min(trendCharsMax, spec.width + spare) : widthOf(spec);
      return { id: spec.id, title: spec.title, width: columnWidth, alignRight: spec.alignRight, cell: (row: NodeRowView) => spec.cell(row, columnWidth) };
    });
}

/** One cell's text, padded or cut to its column. */
export function fitCell(text: string, column: LaidColumn): string {
  const cut = [...text].length > column.width ? `${[...text].slice(0, column.width - 1).join('')}…` : text;
  const padding = ' '.repeat(Math.max(0, column.width - [...cut].length));
  return column.alignRight ? padding + cut : cut + padding;
}
