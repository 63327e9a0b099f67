// Fault injection against real nodes: `paxos fault` partitions, delays and
// drops traffic inside a node's transport, and Paxos carries on around it.
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, TestCluster, type CliResult, type StatusRow } from './support.js';

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

function fault(c: TestCluster, args: string[]): Promise<CliResult> {
  return runCli(['fault', ...args, '--cluster', c.addresses]);
}

function leaders(rows: StatusRow[]): number[] {
  return rows.filter((row) => row.reachable && row.role === 'leader').map((row) => row.id!);
}

/** Every node answers and follows the same single leader. */
function oneLeader(rows: StatusRow[]): boolean {
  const [leader, ...others] = leaders(rows);
  return others.length === 0 && leader !== undefined && rows.every((row) => row.reachable && row.leader === leader);
}

function converged(rows: StatusRow[]): boolean {
  return rows.every((row) => row.reachable) && new Set(rows.map((row) => `${row.lastApplied}/${row.appliedDigest}`)).size === 1;
}

async function startWithFaults(): Promise<TestCluster> {
  const c = await TestCluster.create(3, ['--enable-faults']);
  await c.startAll();
  return c;
}

describe('paxos fault', () => {
  it('partitions the leader from both followers: the majority elects a new one; heal leaves one leader', async () => {
    cluster = await startWithFaults();
    const before = await cluster.waitFor(oneLeader);
    const oldLeader = leaders(before)[0];
    const followers = [1, 2, 3].filter((id) => id !== oldLeader);

    const cut = await fault(cluster, ['partition', '--node', String(oldLeader), '--from', followers.join(',')]);
    expect(cut.code, cut.stderr).toBe(0);
    expect(cut.stdout).toContain(`node ${oldLeader}: partitioned from ${followers.join(', ')}`);

    // The majority side hears no heartbeat, elects one of its own, and takes writes.
    await cluster.waitFor((rows) => followers.every((id) => followers.includes(rows[id - 1].leader as number)));
    const write = await cluster.submit(['set', 'during', 'partition']);
    expect(write.code, write.stderr).toBe(0);

    const healed = await fault(cluster, ['heal', '--json']);
    expect(healed.code, healed.stderr).toBe(0);
    expect(JSON.parse(healed.stdout)).toHaveLength(3);
    const after = await cluster.waitFor((rows) => oneLeader(rows) && converged(rows));
    expect(followers).toContain(leaders(after)[0]);
    const read = await cluster.submit(['get', 'during']);
    expect(read.stdout.trim()).toBe('partition');
  }, 60_000);

  it('delays and drops traffic without losing writes, and a healed node catches up', async () => {
    cluster = await startWithFaults();
    const leader = leaders(await cluster.waitFor(oneLeader))[0];
    const follower = leader === 1 ? 2 : 1;

    const slowed = await fault(cluster, ['delay', '--node', String(leader), '150ms']);
    expect(slowed.code, slowed.stderr).toBe(0);
    const started = Date.now();
    expect((await cluster.submit(['set', 'slow', '1'])).code).toBe(0);
    // The accepts leave the leader 150 ms late, so nothing can be chosen sooner.
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);

    const lossy = await fault(cluster, ['drop', '--node', String(follower), '100%']);
    expect(lossy.stdout).toContain('dropping 100% of messages');
    const writes = Array.from({ length: 20 }, (_, i) => `set k${i} v${i}`).join('\n');
    const result = await runCli(['submit', '--cluster', cluster.addresses, '--stdin', '--json'], { input: writes, timeoutMs: 60_000 });
    expect(result.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { ok: boolean }).ok)).toEqual(Array(20).fill(true));
    const cutOff = await cluster.status();
    expect(cutOff[follower - 1].lastApplied).toBeLessThan(cutOff[leader - 1].lastApplied!);

    expect((await fault(cluster, ['heal'])).code).toBe(0);
    await cluster.waitFor(converged);
  }, 60_000);

  it('refuses bad requests: a node that is not a peer, a missing node, and bad values', async () => {
    cluster = await startWithFaults();
    const self = await fault(cluster, ['partition', '--node', '1', '--from', '1']);
    expect(self.code).toBe(1);
    expect(self.stdout).toContain('refused: node 1 is this node');
    const stranger = await fault(cluster, ['partition', '--node', '9', '--from', '1']);
    expect(stranger.code).toBe(4);
    expect(stranger.stdout).toContain('node 9 is not at any of the cluster addresses');
    expect((await fault(cluster, ['drop', '--node', '1', '1.5'])).code).toBe(2);
    expect((await fault(cluster, ['delay', '--node', '1', '5'])).code).toBe(2);
  }, 60_000);
});

describe('a node without --enable-faults', () => {
  it('refuses every fault request, and says how to allow them', async () => {
    cluster = await TestCluster.create(3);
    await cluster.start(1);
    const refused = await fault(cluster, ['partition', '--node', '1', '--from', '2', '--json']);
    expect(refused.code).toBe(1);
    const [answer] = JSON.parse(refused.stdout) as { ok: boolean; message: string }[];
    expect(answer.ok).toBe(false);
    expect(answer.message).toContain('--enable-faults');
    expect((await fault(cluster, ['heal', '--node', '1'])).code).toBe(1);
  }, 60_000);
});
