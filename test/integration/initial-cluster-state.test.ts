// The first start of a brand-new cluster with one node down: with
// --initial-cluster-state new a majority founds it; without it the fresh nodes
// wait for every node in --peers (unanimity), say why, and status shows them
// not voting (docs/membership.md).
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
    await cluster.waitForLog(1, /founded a new cluster/);
    const rows = await cluster.waitFor((r) => r.some((row) => row.role === 'leader'), 15_000);
    expect(rows.filter((row) => row.reachable).map((row) => row.rebuilding)).toEqual([false, false]);
    expect((await cluster.submit(['set', 'x', '1'])).stdout.trim()).toBe('OK');

    await cluster.kill9(1);
    await cluster.start(1, { waitMs: 30_000 });
    await cluster.waitForLog(1, /--initial-cluster-state ignored: the data dir belongs to a cluster/);
    expect((await cluster.submit(['get', 'x'])).stdout.trim()).toBe('1');
  }, 90_000);

  it('the default: fresh nodes found a cluster only once every node in --peers answers, say why they wait, and status shows them not voting', async () => {
    cluster = await TestCluster.create(3);
    await cluster.start(1);
    await cluster.start(2);
    await cluster.waitForLog(1, /waiting for node\(s\) 3 to answer before founding a cluster.*--initial-cluster-state new/);
    const rows = await cluster.waitFor((r) => r.filter((row) => row.rebuilding === true).length === 2);
    expect(rows.some((row) => row.role === 'leader')).toBe(false);
    const table = await runCli(['status', '--cluster', cluster.addresses]);
    expect(table.stdout.split('\n').filter((line) => /^\d\s.*\brebuilding\b/.test(line))).toHaveLength(2);

    // A founder that has heard from a peer (its bootstrap view is on disk) restarts and waits on: no vote is in that log.
    await cluster.kill9(1);
    await cluster.start(1);
    await cluster.waitForLog(1, /waiting for node\(s\) 3 to answer before founding a cluster/);

    // With the third node up, every node has heard from both others, fresh: they found the cluster.
    await cluster.start(3);
    await cluster.waitFor((r) => r.some((row) => row.role === 'leader') && r.every((row) => row.rebuilding === false), 15_000);
  }, 90_000);
});
