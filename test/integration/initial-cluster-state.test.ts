// The first start of a brand-new cluster with one node down: with
// --initial-cluster-state new a majority elects a leader at once; without it
// every node takes its empty data dir for a replaced disk, and status says so.
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, TestCluster } from './support.js';

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

describe('--initial-cluster-state', () => {
  it('new: two of three fresh nodes elect a leader and serve writes; the flag is ignored on a restart with state', async () => {
    cluster = await TestCluster.create(3, ['--initial-cluster-state', 'new', '--log-level', 'debug']);
    await cluster.start(1);
    await cluster.start(2);
    await cluster.waitForLog(1, /empty data dir of a new cluster \(--initial-cluster-state new\): voting at once/);
    const rows = await cluster.waitFor((r) => r.some((row) => row.role === 'leader'), 15_000);
    expect(rows.filter((row) => row.reachable).map((row) => row.rebuilding)).toEqual([false, false]);
    expect((await cluster.submit(['set', 'x', '1'])).stdout.trim()).toBe('OK');

    await cluster.kill9(1);
    await cluster.start(1, { waitMs: 30_000 });
    await cluster.waitForLog(1, /--initial-cluster-state new ignored: the data dir holds state/);
    expect((await cluster.submit(['get', 'x'])).stdout.trim()).toBe('1');
  }, 90_000);

  it('existing (the default): fresh nodes do not vote until they hear from a majority of the others, and status shows them rebuilding', async () => {
    cluster = await TestCluster.create(3);
    await cluster.start(1);
    await cluster.start(2);
    await cluster.waitForLog(1, /not voting until a majority of the other nodes answer.*--initial-cluster-state new/);
    const rows = await cluster.waitFor((r) => r.filter((row) => row.rebuilding === true).length === 2);
    expect(rows.some((row) => row.role === 'leader')).toBe(false);
    const table = await runCli(['status', '--cluster', cluster.addresses]);
    expect(table.stdout.split('\n').filter((line) => /^\d\s.*\brebuilding\b/.test(line))).toHaveLength(2);

    // With the third node up, each has heard from both others; nothing was ever promised, so they vote.
    await cluster.start(3);
    await cluster.waitFor((r) => r.some((row) => row.role === 'leader') && r.every((row) => row.rebuilding === false), 15_000);
  }, 90_000);
});
