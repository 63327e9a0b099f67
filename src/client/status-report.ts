// How `paxos status` (and anything else showing the cluster) presents the
// nodes' status reports: flat rows with the lag computed, a text table, and
// human units. Pure functions.
import type { NodeStatus } from '../wire/protocol.js';
import type { NodeStatusReport } from './client.js';

/**
 * One node in `paxos status --json`. `address` is the address the client
 * dialed; `nodeAddress` is the node's own idea of it (they differ behind a
 * proxy). `lag` is the highest commit index any reachable node reported minus
 * this node's last applied slot.
 */
export type StatusRow =
  | ({ address: string; reachable: true; nodeAddress: string; lag: number } & Omit<NodeStatus, 'address'>)
  | { address: string; reachable: false; code: string; error: string };

export function statusRows(reports: readonly NodeStatusReport[]): StatusRow[] {
  const commitIndexMax = Math.max(0, ...reports.map((report) => (report.reachable ? report.status.commitIndex : 0)));
  return reports.map((report): StatusRow => {
    if (!report.reachable) return { address: report.address, reachable: false, code: report.code, error: report.error };
    // Every field of the node's reply is passed on, so new status fields reach --json without a change here.
    const { address: nodeAddress, ...fields } = report.status;
    return { address: report.address, reachable: true, ...fields, nodeAddress, lag: Math.max(0, commitIndexMax - fields.lastApplied) };
  });
}

const tableHeader = ['ID', 'ADDRESS', 'REACHABLE', 'ROLE', 'LEADER', 'BALLOT', 'CHOSEN', 'APPLIED', 'LAG', 'WAL', 'SNAPSHOT', 'UPTIME'];

/**
 * The status table as lines: one row per node, then one line per unreachable
 * node with its error (errors are too long for a column).
 */
export function renderStatusTable(rows: readonly StatusRow[]): string[] {
  const cells = [tableHeader, ...rows.map(tableCells)];
  const widths = tableHeader.map((_, column) => Math.max(...cells.map((row) => row[column].length)));
  const lines = cells.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd());
  const errors = rows.flatMap((row) => (row.reachable ? [] : [`${row.address}: unreachable: ${row.error}`]));
  return errors.length === 0 ? lines : [...lines, '', ...errors];
}

function tableCells(row: StatusRow): string[] {
  if (!row.reachable) return ['-', row.address, 'no', '-', '-', '-', '-', '-', '-', '-', '-', '-'];
  return [
    String(row.id),
    row.address,
    'yes',
    // A rebuilding node does not vote, whatever its role: that is what an operator needs to see.
    row.rebuilding === true ? 'rebuilding' : row.role,
    row.leader === null ? '-' : String(row.leader),
    row.ballot,
    String(row.commitIndex),
    String(row.lastApplied),
    String(row.lag),
    formatBytes(row.walBytes),
    row.lastSnapshot === 0 ? '-' : String(row.lastSnapshot),
    formatUptime(row.uptimeMs),
  ];
}

const byteUnits = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → `1.5 KiB`; whole bytes below 1 KiB. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < byteUnits.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${byteUnits[unit]}`;
}

/** The two largest units, as operators read uptimes: `45s`, `3m05s`, `2h07m`, `3d04h`. */
export function formatUptime(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const [days, hours, minutes] = [Math.floor(seconds / 86_400), Math.floor(seconds / 3600) % 24, Math.floor(seconds / 60) % 60];
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (days > 0) return `${days}d${pad(hours)}h`;
  if (hours > 0) return `${hours}h${pad(minutes)}m`;
  if (minutes > 0) return `${minutes}m${pad(seconds % 60)}s`;
  return `${seconds}s`;
}
