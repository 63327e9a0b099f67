// How `paxos status` (and anything else showing the cluster) presents the
// nodes' status reports: flat rows with the lag computed, a text table, and
// human units. Pure functions.
import type { NodeStatus, StatusConfiguration } from '../wire/protocol.js';
import type { NodeStatusReport } from './client.js';
import { referenceStatus } from './discovery.js';

/**
 * One node in `paxos status --json`. `address` is the address the client
 * dialed; `nodeAddress` is the node's own idea of it (they differ behind a
 * proxy). `lag` is the highest commit index any reachable node reported minus
 * this node's last applied slot.
 */
export type StatusRow =
  | ({ address: string; reachable: true; nodeAddress: string; lag: number; digestDiffers: boolean; disagreement: string | null } & Omit<NodeStatus, 'address'>)
  | { address: string; reachable: false; code: string; error: string };

/**
 * `digestDiffers` marks a node whose appliedDigest differs from another node's
 * that reports the same lastApplied: they applied the same slots but not to
 * the same effect (the digest covers every command's result), so the state
 * machine is not deterministic. Only nodes at the same slot can be compared:
 * under load that is a matter of chance; on an idle cluster it is all of them.
 * In a group at one slot, the nodes outside the most common digest are
 * marked (all of them on a tie).
 */
export function statusRows(reports: readonly NodeStatusReport[]): StatusRow[] {
  const commitIndexMax = Math.max(0, ...reports.map((report) => (report.reachable ? report.status.commitIndex : 0)));
  const odd = digestsOutOfLine(reports);
  const reference = referenceStatus(reports);
  return reports.map((report, index): StatusRow => {
    if (!report.reachable) return { address: report.address, reachable: false, code: report.code, error: report.error };
    // Every field of the node's reply is passed on, so new status fields reach --json without a change here.
    const { address: nodeAddress, ...fields } = report.status;
    const disagreement = reference === null ? null : membershipDisagreement(report.status, reference);
    return { address: report.address, reachable: true, ...fields, nodeAddress, lag: Math.max(0, commitIndexMax - fields.lastApplied), digestDiffers: odd.has(index), disagreement };
  });
}

/**
 * Why `node`'s view of the members disagrees with `reference`'s (the
 * leader's, else the newest configuration's), or null when it agrees. Each
 * reason says what to do: such a node answers clients with "no leader" while
 * the cluster serves.
 */
export function membershipDisagreement(node: NodeStatus, reference: NodeStatus): string | null {
  if (node.id === reference.id && node.address === reference.address) return null;
  if (node.clusterId !== reference.clusterId) return `belongs to another cluster (${node.clusterId}, not ${reference.clusterId}): its address is in the wrong list, or its data dir is another cluster's`;
  const config = reference.configuration as StatusConfiguration;
  const named = [...config.voters, ...config.learners].find((member) => member.id === node.id);
  const who = reference.role === 'leader' ? `the leader's (node ${reference.id})` : `node ${reference.id}'s`;
  if (named === undefined) return `is not a member of ${who} configuration (removed, or never added): stop it, or add it with \`paxos member add --id ${node.id}\``;
  if (named.incarnation !== null && node.incarnation !== undefined && named.incarnation !== node.incarnation) {
    return `runs another data dir (incarnation ${node.incarnation}) than the one ${who} configuration names (${named.incarnation}): a wiped or replaced disk, not yet replaced; wait for auto-replace or run \`paxos member replace ${node.id}\``;
  }
  if (node.configuration === undefined) return `has no configuration yet, while ${who} is from slot ${config.fromSlot}: it has not joined (is it started with --join or the cluster's --peers?)`;
  if (configurationKey(node.configuration) === configurationKey(config)) return null;
  if (node.configuration.fromSlot < config.fromSlot) return null; // behind: it learns the newer configuration as it catches up (LAG says how far)
  return `has a configuration from slot ${node.configuration.fromSlot} that differs from ${who} from slot ${config.fromSlot}: check its log`;
}

/** Voters and learners as text, ids and incarnations, to compare two configurations. */
function configurationKey(config: StatusConfiguration): string {
  const members = (list: StatusConfiguration['voters']) => list.map((m) => `${m.id}/${m.incarnation ?? '?'}`).sort().join(',');
  return `${members(config.voters)};${members(config.learners)}`;
}

/** Indexes of the reports whose digest is not the most common one among the nodes at their slot. */
function digestsOutOfLine(reports: readonly NodeStatusReport[]): Set<number> {
  const bySlot = new Map<number, Map<string, number[]>>();
  reports.forEach((report, index) => {
    if (!report.reachable || report.status.lastApplied === 0) return;
    const digests = bySlot.get(report.status.lastApplied) ?? new Map<string, number[]>();
    bySlot.set(report.status.lastApplied, digests);
    digests.set(report.status.appliedDigest, [...(digests.get(report.status.appliedDigest) ?? []), index]);
  });
  const odd = new Set<number>();
  for (const digests of bySlot.values()) {
    if (digests.size < 2) continue;
    const groups = [...digests.values()].sort((a, b) => b.length - a.length);
    const tie = groups[0].length === groups[1].length;
    for (const [rank, group] of groups.entries()) if (tie || rank > 0) for (const index of group) odd.add(index);
  }
  return odd;
}

/**
 * The warning under the table when nodes at the same slot report different
 * digests, or null. Names the nodes and the slot, and what to do.
 */
export function digestWarning(rows: readonly StatusRow[]): string | null {
  const odd = rows.filter((row): row is Extract<StatusRow, { reachable: true }> => row.reachable && row.digestDiffers);
  if (odd.length === 0) return null;
  const slots = [...new Set(odd.map((row) => row.lastApplied))].sort((a, b) => a - b);
  const nodes = odd.map((row) => row.id).join(', ');
  return (
    `warning: node${odd.length > 1 ? 's' : ''} ${nodes} applied the same slot${slots.length > 1 ? 's' : ''} (${slots.join(', ')}) as other nodes but ` +
    'report a different applied digest (it covers every command and its result): the state machine is not deterministic, ' +
    'and the replicas have diverged. Find the cause with `paxos sim --state-machine FILE`.'
  );
}

const tableHeader = ['ID', 'ADDRESS', 'REACHABLE', 'ROLE', 'MEMBER', 'CONFIG', 'LEADER', 'BALLOT', 'CHOSEN', 'APPLIED', 'LAG', 'WAL', 'SNAPSHOT', 'UPTIME'];

/** The lines under the table for nodes whose view of the members disagrees with the leader's. */
export function disagreementNotes(rows: readonly StatusRow[]): string[] {
  return rows.flatMap((row) => (row.reachable && row.disagreement !== null ? [`warning: node ${row.id} at ${row.address} ${row.disagreement}.`] : []));
}

/**
 * The status table as lines: one row per node, then one line per unreachable
 * node with its error (errors are too long for a column).
 */
export function renderStatusTable(rows: readonly StatusRow[]): string[] {
  const cells = [tableHeader, ...rows.map(tableCells)];
  const widths = tableHeader.map((_, column) => Math.max(...cells.map((row) => row[column].length)));
  const lines = cells.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd());
  const errors = rows.flatMap((row) => (row.reachable ? [] : [`${row.address}: unreachable: ${row.error}`]));
  const warning = digestWarning(rows);
  const notes = [...errors, ...disagreementNotes(rows), ...(warning === null ? [] : [warning])];
  return notes.length === 0 ? lines : [...lines, '', ...notes];
}

function tableCells(row: StatusRow): string[] {
  if (!row.reachable) return ['-', row.address, 'no', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-'];
  return [
    String(row.id),
    row.address,
    'yes',
    // A rebuilding node does not vote, whatever its role: that is what an operator needs to see.
    row.rebuilding === true ? 'rebuilding' : row.role,
    // This node in its own configuration; `!` marks a view that disagrees with the leader's (the warning below says why).
    `${row.member === undefined || row.member === 'pristine' ? '-' : row.member}${row.disagreement === null ? '' : '!'}`,
    row.configuration === undefined ? '-' : String(row.configuration.fromSlot),
    row.leader === null ? '-' : String(row.leader),
    row.ballot,
    String(row.commitIndex),
    // `!` marks a digest that differs from other nodes' at the same slot (the warning below says more).
    row.digestDiffers ? `${row.lastApplied}!` : String(row.lastApplied),
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
