// Replica recovery: a node that missed slots its peers have compacted away
// catches up by snapshot, whether it kept its data dir or lost it.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, TestCluster, type StatusRow } from './support.js';

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

async function write(c: TestCluster, from: number, count: number): Promise<void> {
  const input = Array.from({ length: count }, (_, i) => `set k${from + i} v${from + i}`).join('\n');
  const result = await runCli(['submit', '--cluster', c.addresses, '--stdin', '--json'], { input, timeoutMs: 60_000 });
  const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { ok: boolean });
  expect(lines.filter((line) => line.ok)).toHaveLength(count);
}

function converged(rows: StatusRow[], minApplied: number): boolean {
  const digests = new Set(rows.map((row) => row.appliedDigest));
  const applied = new Set(rows.map((row) => row.lastApplied));
  return rows.every((row) => row.reachable) && applied.size === 1 && digests.size === 1 && rows[0].lastApplied! >= minApplied;
}

async function catchesUpBySnapshot(options: { wipe: boolean }): Promise<void> {
  cluster = await TestCluster.create(3, ['--snapshot-every', '40']);
  await cluster.startAll();
  await write(cluster, 0, 20);
  await cluster.kill9(3);
  // Past two snapshot intervals: nodes 1 and 2 compact away what node 3 lacks.
  await write(cluster, 20, 120);
  const during = await cluster.waitFor((rows) => rows.filter((row) => row.reachable && (row.lastSnapshot as number) >= 80).length === 2);
  expect(during.filter((row) => row.reachable)).toHaveLength(2);
  const walSegments = readdirSync(join(cluster.dataDir(1), 'wal')).filter((name) => name.endsWith('.wal'));
  expect(walSegments).toHaveLength(1);

  if (options.wipe) rmSync(cluster.dataDir(3), { recursive: true, force: true });
  await cluster.start(3, { waitMs: 30_000 });
  const rows = await cluster.waitFor((r) => converged(r, 140), 30_000);
  expect(rows[2].lastSnapshot).toBeGreaterThanOrEqual(80);
  await cluster.waitForLog(3, /installed a snapshot from a peer/);
  if (options.wipe) await cluster.waitForLog(3, /rebuilt: voting again/);

  // Node 3 votes again: with the leader gone, it and the other node carry on.
  const withLeader = await cluster.waitFor((r) => r.some((row) => row.role === 'leader'));
  const leader = withLeader.find((row) => row.role === 'leader')!.id!;
  if (leader !== 3) await cluster.kill9(leader);
  else await cluster.kill9(1);
  await write(cluster, 140, 10);
  const reads = await runCli(['submit', '--cluster', cluster.addresses, 'get', 'k5']);
  expect(reads.stdout.trim()).toBe('v5');
}

describe('replica recovery', () => {
  it('catches up by snapshot after missing compacted slots', async () => {
    await catchesUpBySnapshot({ wipe: false });
  }, 120_000);

  it('rebuilds a node whose data dir was wiped, under its old id', async () => {
    await catchesUpBySnapshot({ wipe: true });
  }, 120_000);
});
