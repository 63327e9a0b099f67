// A user state machine that fails outside apply must not take the cluster down:
// every replica snapshots at the same slot, so a snapshot() that throws would
// crash them all at once, and again on replay. Real node processes, a module
// the test writes.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePorts, runCli, tempDir, TestCluster, type StatusRow } from './support.js';

const clusters: TestCluster[] = [];

afterEach(async () => {
  await Promise.all(clusters.splice(0).map((cluster) => cluster.stopAll()));
});

/**
 * A list of words; `snapshot` throws while it holds fewer than `snapshotFrom`
 * words (deterministic, the same on every replica), `restore` throws when
 * `restoreThrows`.
 */
function listMachine(options: { snapshotFrom: number; restoreThrows: boolean }): string {
  return `
export const name = 'fragile-list';
export const version = '1';
export default function createList() {
  let words = [];
  return {
    apply(command) {
      const [verb, word] = command;
      if (verb === 'push') return words.push(word);
      if (verb === 'count') return words.length;
      throw new Error('unknown verb ' + verb);
    },
    snapshot() {
      if (words.length < ${options.snapshotFrom}) throw new RangeError('snapshot broke on purpose at ' + words.length + ' words');
      return new TextEncoder().encode(JSON.stringify(words));
    },
    restore(bytes) {
      if (${options.restoreThrows}) throw 'restore broke on purpose';
      words = JSON.parse(new TextDecoder().decode(bytes));
    },
  };
}
`;
}

async function fragileCluster(source: string, flags: string[]): Promise<TestCluster> {
  const root = tempDir();
  const path = join(root, 'fragile.mjs');
  writeFileSync(path, source);
  const cluster = new TestCluster(await freePorts(3), root, ['--state-machine', path, ...flags]);
  clusters.push(cluster);
  return cluster;
}

async function push(cluster: TestCluster, from: number, count: number): Promise<unknown[]> {
  const input = Array.from({ length: count }, (_, i) => `push w${from + i}`).join('\n');
  const result = await runCli(['submit', '--cluster', cluster.addresses, '--stdin', '--json', '--timeout', '20s'], { input, timeoutMs: 60_000 });
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { result: unknown }).result);
}

const alive = (cluster: TestCluster) => [...cluster.nodes.values()].filter((node) => node.child.exitCode === null && node.child.signalCode === null).map((node) => node.id);

function leaderOf(rows: StatusRow[]): number {
  const leader = rows.find((row) => row.reachable && row.role === 'leader')?.id;
  if (leader === undefined) throw new Error('no leader');
  return leader;
}

describe('a state machine whose snapshot() throws', () => {
  it('does not crash any node: the snapshot is skipped, logged with the machine and slot, and tried again an interval later', async () => {
    const cluster = await fragileCluster(listMachine({ snapshotFrom: 8, restoreThrows: false }), ['--snapshot-every', '5']);
    await cluster.startAll();
    expect(await push(cluster, 0, 6)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const id of [1, 2, 3]) {
      await cluster.waitForLog(id, /state machine fragile-list@1 failed to take a snapshot at slot \d+; skipped it.*"error":"RangeError: snapshot broke on purpose at \d words".*"retryAtSlot"/);
      await cluster.waitForLog(id, /write-ahead log is not compacted until a snapshot succeeds, so it keeps growing/);
    }
    expect(alive(cluster)).toEqual([1, 2, 3]);

    // The next interval: the machine holds 8 words or more by then, and the snapshot is taken.
    expect(await push(cluster, 6, 6)).toEqual([7, 8, 9, 10, 11, 12]);
    for (const id of [1, 2, 3]) await cluster.waitForLog(id, /took a snapshot and compacted the log/);
    const rows = await cluster.waitFor((r) => r.every((row) => row.reachable && (row.lastSnapshot as number) > 0));
    const failedAt = Number(/failed to take a snapshot at slot (\d+)/.exec(cluster.nodes.get(1)!.log.join('\n'))![1]);
    expect(rows[0].lastSnapshot).toBeGreaterThanOrEqual(failedAt + 5);
    expect(alive(cluster)).toEqual([1, 2, 3]);
  }, 90_000);

  it('does not crash a node replaying its log through the failing snapshot either', async () => {
    const cluster = await fragileCluster(listMachine({ snapshotFrom: 1_000, restoreThrows: false }), ['--snapshot-every', '3']);
    await cluster.startAll();
    await push(cluster, 0, 7);
    const leader = leaderOf(await cluster.waitFor((r) => r.some((row) => row.role === 'leader')));
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    await cluster.kill9(follower);
    await cluster.start(follower);
    await cluster.waitForLog(follower, /failed to take a snapshot at slot/);
    expect(await push(cluster, 7, 2)).toEqual([8, 9]);
    await cluster.waitFor((r) => r.every((row) => row.reachable && row.lastApplied === r[0].lastApplied));
    expect(alive(cluster)).toEqual([1, 2, 3]);
  }, 90_000);
});

describe('a state machine whose restore() throws', () => {
  it('refuses a peer\'s snapshot with a log line and goes on serving, without crashing', async () => {
    const cluster = await fragileCluster(listMachine({ snapshotFrom: 0, restoreThrows: true }), ['--snapshot-every', '5']);
    await cluster.startAll();
    const leader = leaderOf(await cluster.waitFor((r) => r.some((row) => row.role === 'leader')));
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    await cluster.kill9(follower);
    // The follower's log is gone; the others compact past everything it could catch up on by log.
    rmSync(cluster.dataDir(follower), { recursive: true, force: true });
    await push(cluster, 0, 12);
    await cluster.waitFor((r) => r.filter((row) => row.reachable && (row.lastSnapshot as number) >= 10).length === 2);
    // The leader's accepts for those slots wait in its queue for the dead follower, and would teach the
    // restarted one every slot by log if it came back within peerQueueAgeMsMax (1 s): outwait them.
    await new Promise((done) => setTimeout(done, 1_500));

    await cluster.start(follower);
    await cluster.waitForLog(follower, /state machine fragile-list@1 could not restore a snapshot from a peer; refused it.*"error":"threw \\"restore broke on purpose\\""/, 20_000);
    expect(await push(cluster, 12, 2)).toEqual([13, 14]);
    expect(alive(cluster)).toEqual([1, 2, 3]);
    const rows = await cluster.status();
    expect(rows.every((row) => row.reachable)).toBe(true);
    // Refused at most once per interval, not in a loop of transfers.
    const refusals = cluster.nodes.get(follower)!.log.filter((line) => line.includes('could not restore a snapshot from a peer')).length;
    expect(refusals).toBeLessThanOrEqual(2);
  }, 90_000);
});
