import { describe, expect, it } from 'vitest';
import type { NodeStatusReport } from '../../../src/client/client.js';
import { digestWarning, formatBytes, formatUptime, renderStatusTable, statusRows } from '../../../src/client/status-report.js';
import { statusOf } from './fake-node.js';

const reports: NodeStatusReport[] = [
  { address: '127.0.0.1:7401', reachable: true, status: statusOf(1, { role: 'leader', commitIndex: 42, lastApplied: 42, walBytes: 3 * 1024 * 1024, lastSnapshot: 40 }) },
  { address: '127.0.0.1:7402', reachable: true, status: statusOf(2, { commitIndex: 40, lastApplied: 37 }) },
  { address: '127.0.0.1:7403', reachable: false, code: 'connect_failed', error: '127.0.0.1:7403: connection refused (ECONNREFUSED)' },
];

describe('statusRows', () => {
  it('computes lag against the highest commit index in the cluster', () => {
    const rows = statusRows(reports);
    expect(rows.map((row) => (row.reachable ? row.lag : null))).toEqual([0, 5, null]);
    expect(rows[2]).toEqual({ address: '127.0.0.1:7403', reachable: false, code: 'connect_failed', error: '127.0.0.1:7403: connection refused (ECONNREFUSED)' });
  });
});

describe('applied digests at the same slot', () => {
  const at = (id: number, lastApplied: number, appliedDigest: string): NodeStatusReport => ({
    address: `127.0.0.1:740${id}`,
    reachable: true,
    status: statusOf(id, { commitIndex: 50, lastApplied, appliedDigest }),
  });

  it('marks the node outside the most common digest among nodes at one slot, and warns under the table', () => {
    const rows = statusRows([at(1, 50, 'aaaa'), at(2, 50, 'bbbb'), at(3, 50, 'aaaa')]);
    expect(rows.map((row) => row.reachable && row.digestDiffers)).toEqual([false, true, false]);
    const lines = renderStatusTable(rows);
    expect(lines[2].split(/\s{2,}/)[9]).toBe('50!');
    expect(lines.at(-1)).toMatch(/^warning: node 2 applied the same slot \(50\) as other nodes but report a different applied digest .*paxos sim --state-machine FILE/);
  });

  it('marks every node on a tie, and compares only nodes at the same slot', () => {
    expect(statusRows([at(1, 50, 'aaaa'), at(2, 50, 'bbbb')]).map((row) => row.reachable && row.digestDiffers)).toEqual([true, true]);
    const apart = statusRows([at(1, 50, 'aaaa'), at(2, 49, 'bbbb'), at(3, 48, 'cccc')]);
    expect(apart.map((row) => row.reachable && row.digestDiffers)).toEqual([false, false, false]);
    expect(digestWarning(apart)).toBeNull();
    expect(renderStatusTable(apart).some((line) => line.startsWith('warning'))).toBe(false);
  });
});

describe('renderStatusTable', () => {
  it('shows one aligned row per node, then why unreachable nodes are', () => {
    const lines = renderStatusTable(statusRows(reports));
    expect(lines[0].split(/\s+/)).toEqual(['ID', 'ADDRESS', 'REACHABLE', 'ROLE', 'MEMBER', 'CONFIG', 'LEADER', 'BALLOT', 'CHOSEN', 'APPLIED', 'LAG', 'WAL', 'SNAPSHOT', 'UPTIME']);
    expect(lines[1].split(/\s{2,}/)).toEqual(['1', '127.0.0.1:7401', 'yes', 'leader', '-', '-', '1', '3.1', '42', '42', '0', '3.0 MiB', '40', '1m05s']);
    expect(lines[3].split(/\s{2,}/).slice(0, 3)).toEqual(['-', '127.0.0.1:7403', 'no']);
    expect(lines.at(-1)).toBe('127.0.0.1:7403: unreachable: 127.0.0.1:7403: connection refused (ECONNREFUSED)');
    for (const line of lines.slice(1, 4)) expect(line.indexOf('127.0.0.1')).toBe(lines[0].indexOf('ADDRESS'));
  });
});

describe('a node that does not vote yet', () => {
  it('shows as rebuilding in the ROLE column, and keeps its role and rebuilding in --json', () => {
    const rebuilding: NodeStatusReport = { address: '127.0.0.1:7403', reachable: true, status: { ...statusOf(3, { leader: null }), rebuilding: true } };
    const rows = statusRows([reports[0], rebuilding]);
    expect(renderStatusTable(rows)[2].split(/\s{2,}/).slice(0, 4)).toEqual(['3', '127.0.0.1:7403', 'yes', 'rebuilding']);
    expect(renderStatusTable(rows)[1].split(/\s{2,}/)[3]).toBe('leader');
    expect(rows[1]).toMatchObject({ role: 'follower', rebuilding: true });
  });
});

describe('human units', () => {
  it.each([[0, '0 B'], [1023, '1023 B'], [1536, '1.5 KiB'], [5 * 1024 ** 3, '5.0 GiB']])('%i bytes is %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it.each([[999, '0s'], [45_000, '45s'], [185_000, '3m05s'], [7_620_000, '2h07m'], [273_600_000, '3d04h']])('%i ms is %s', (ms, text) => {
    expect(formatUptime(ms)).toBe(text);
  });
});
