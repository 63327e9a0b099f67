// Membership changes with real processes (docs/membership.md): a cluster of
// three grows to five with `paxos member add` and `paxos node start --join`,
// then loses two of the old nodes and still serves; a wiped disk comes back
// as a new incarnation, is replaced by the leader, and the cluster then
// survives another failure; a follower whose wal/ alone is deleted (identity.json
// kept) comes back as a new incarnation too, is replaced, and loses no write.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, TestCluster } from './support.js';

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

interface Member {
  id: number;
  role: string;
  incarnation: string | null;
  reachable: boolean;
}

async function members(addresses: string): Promise<Member[]> {
  const listed = await runCli(['member', 'list', '--json', '--cluster', addresses]);
  return listed.code === 0 ? (JSON.parse(listed.stdout) as Member[]) : [];
}

async function waitForMembers(addresses: string, check: (rows: Member[]) => boolean, timeoutMs = 30_000): Promise<Member[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await members(addresses);
    if (check(rows)) return rows;
    if (Date.now() > deadline) throw new Error(`members never as expected: ${JSON.stringify(rows)}`);
    await new Promise((done) => setTimeout(done, 200));
  }
}

describe('membership', () => {
  it('grows from 3 to 5 under paxos bench load with no failed command (only retries), then serves with two of the old nodes killed', async () => {
    const grown = await TestCluster.create(5);
    cluster = grown;
    grown.foundingSize = 3;
    const founders = grown.ports.slice(0, 3).map((port) => `127.0.0.1:${port}`).join(',');
    await Promise.all([1, 2, 3].map((id) => grown.start(id)));
    await waitForMembers(founders, (rows) => rows.length === 3 && rows.every((row) => row.reachable));
    // A long per-command timeout: under the load of a whole test run a slow answer is a retry, not a failure.
    const bench = runCli(['bench', '--cluster', founders, '--clients', '8', '--duration', '20s', '--timeout', '30s', '--json'], { timeoutMs: 120_000 });
    await new Promise((done) => setTimeout(done, 2_000));
    for (const id of [4, 5]) {
      const address = `127.0.0.1:${grown.ports[id - 1]}`;
      const added = await runCli(['member', 'add', '--id', String(id), '--address', address, '--learner', '--cluster', founders, '--wait', '30s']);
      expect(added.code, added.stderr).toBe(0);
      await grown.start(id, { join: founders });
      // Promotion is refused until the learner has caught up with the load: ask again.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const promoted = await runCli(['member', 'promote', String(id), '--cluster', founders, '--wait', '30s']);
        if (promoted.code === 0) break;
        if (Date.now() > deadline) throw new Error(`node ${id} was never promoted: ${promoted.stderr}`);
        await new Promise((done) => setTimeout(done, 300));
      }
    }
    const result = await bench;
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { applied: number; notApplied: number; unknown: number };
    expect(summary.applied).toBeGreaterThan(0);
    expect(summary, result.stdout).toMatchObject({ notApplied: 0, unknown: 0 });
    expect((await members(grown.addresses)).map((row) => [row.id, row.role])).toEqual([1, 2, 3, 4, 5].map((id) => [id, 'voter']));
    await grown.kill9(1);
    await grown.kill9(2);
    const rest = grown.ports.slice(2).map((port) => `127.0.0.1:${port}`).join(',');
    const written = await runCli(['submit', '--cluster', rest, '--timeout', '45s', 'set', 'after', 'growth'], { timeoutMs: 60_000 });
    expect(written.code, written.stderr).toBe(0);
  }, 240_000);

  it('grows from 3 to 5 with member add and node start --join, then serves with two of the old nodes killed', async () => {
    const grown = await TestCluster.create(5);
    cluster = grown;
    grown.foundingSize = 3;
    const founders = grown.ports.slice(0, 3).map((port) => `127.0.0.1:${port}`).join(',');
    await Promise.all([1, 2, 3].map((id) => grown.start(id)));
    await waitForMembers(founders, (rows) => rows.length === 3 && rows.every((row) => row.reachable));
    expect((await runCli(['submit', '--cluster', founders, 'set', 'x', '1'])).stdout.trim()).toBe('OK');

    for (const id of [4, 5]) {
      const address = `127.0.0.1:${grown.ports[id - 1]}`;
      const added = await runCli(['member', 'add', '--id', String(id), '--address', address, '--cluster', founders]);
      expect(added.code, added.stderr).toBe(0);
      expect(added.stdout).toContain(`paxos node start --id ${id} --join `);
      await grown.start(id, { join: founders });
      // The leader binds the new member to the incarnation that joined once it has caught up.
      await waitForMembers(founders, (rows) => rows.some((row) => row.id === id && row.role === 'voter' && row.incarnation !== null && row.reachable));
    }
    const all = grown.addresses;
    expect((await members(all)).map((row) => [row.id, row.role])).toEqual([1, 2, 3, 4, 5].map((id) => [id, 'voter']));
    // A second change while one is in flight is refused; an unknown member cannot be promoted.
    const refused = await runCli(['member', 'promote', '9', '--cluster', all]);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/not a member/);

    await grown.kill9(1);
    await grown.kill9(2);
    const survivors = grown.ports.slice(2).map((port) => `127.0.0.1:${port}`).join(',');
    // Two shared cores under a full CI run: an election after kill -9 and the catch-up can take more than submit's default 10 s.
    const afterFailure = await runCli(['submit', '--cluster', survivors, '--timeout', '45s', 'set', 'y', '2'], { timeoutMs: 60_000 });
    expect(afterFailure.stdout.trim(), afterFailure.stderr).toBe('OK');
    expect((await runCli(['submit', '--cluster', survivors, 'get', 'x'])).stdout.trim()).toBe('1');
  }, 180_000);

  it('replaces a wiped disk by its new incarnation, after which the cluster survives another failure', async () => {
    const three = await TestCluster.create(3);
    cluster = three;
    await three.startAll();
    await waitForMembers(three.addresses, (rows) => rows.length === 3 && rows.every((row) => row.reachable));
    expect((await runCli(['submit', '--cluster', three.addresses, 'set', 'x', '1'])).stdout.trim()).toBe('OK');
    const before = (await members(three.addresses)).find((row) => row.id === 3)!.incarnation;
    await three.kill9(3);
    rmSync(three.dataDir(3), { recursive: true, force: true });
    await three.start(3);
    const rows = await waitForMembers(three.addresses, (r) => r.some((row) => row.id === 3 && row.incarnation !== before && row.reachable));
    expect(rows.find((row) => row.id === 3)?.role).toBe('voter');
    // Node 1 fails too: nodes 2 and 3 (its new incarnation) are a majority of voters.
    await three.kill9(1);
    const others = three.ports.slice(1).map((port) => `127.0.0.1:${port}`).join(',');
    // Two shared cores under a full CI run: an election after kill -9 and the catch-up can take more than submit's default 10 s.
    const afterFailure = await runCli(['submit', '--cluster', others, '--timeout', '45s', 'set', 'y', '2'], { timeoutMs: 60_000 });
    expect(afterFailure.stdout.trim(), afterFailure.stderr).toBe('OK');
    expect((await runCli(['submit', '--cluster', others, 'get', 'x'])).stdout.trim()).toBe('1');
  }, 180_000);

  it('a follower whose wal/ alone is deleted (identity.json kept) comes back as a new incarnation, is replaced, and every acknowledged write is there', async () => {
    const three = await TestCluster.create(3);
    cluster = three;
    await three.startAll();
    await waitForMembers(three.addresses, (rows) => rows.length === 3 && rows.every((row) => row.reachable));
    const written: [string, string][] = [];
    const write = async (key: string, value: string, addresses = three.addresses) => {
      expect((await runCli(['submit', '--cluster', addresses, 'set', key, value], { timeoutMs: 60_000 })).stdout.trim()).toBe('OK');
      written.push([key, value]);
    };
    for (let index = 0; index < 5; index += 1) await write(`k${index}`, `v${index}`);
    const leader = (await three.waitFor((rows) => rows.some((row) => row.role === 'leader'))).find((row) => row.role === 'leader')!.id;
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const before = (await members(three.addresses)).find((row) => row.id === follower)!.incarnation;
    expect(JSON.parse(readFileSync(join(three.dataDir(follower), 'identity.json'), 'utf8'))).toMatchObject({ incarnation: before, hasLog: true });

    await three.kill9(follower);
    rmSync(join(three.dataDir(follower), 'wal'), { recursive: true, force: true });
    const inspected = await runCli(['log', 'inspect', three.dataDir(follower)]);
    expect(inspected.stdout).toMatch(new RegExp(`LOG LOST +identity.json says incarnation ${before} had a write-ahead log`));
    await write('while-down', 'yes');
    await three.start(follower);
    await three.waitForLog(follower, new RegExp(`the write-ahead log of incarnation ${before} is gone`));
    const identity = JSON.parse(readFileSync(join(three.dataDir(follower), 'identity.json'), 'utf8')) as { incarnation: string; replacedAfterLogLoss: { incarnation: string } };
    expect(identity.incarnation).not.toBe(before);
    expect(identity.replacedAfterLogLoss.incarnation).toBe(before);
    // Auto-replace names the new incarnation as a voter once it has caught up.
    const rows = await waitForMembers(three.addresses, (r) => r.some((row) => row.id === follower && row.incarnation === identity.incarnation && row.role === 'voter' && row.reachable), 60_000);
    expect(rows.filter((row) => row.role === 'voter').map((row) => row.id).sort()).toEqual([1, 2, 3]);
    expect((await runCli(['log', 'inspect', three.dataDir(follower)])).stdout).toMatch(new RegExp(`log lost +at .* incarnation ${before} was found without its write-ahead log`));
    await write('after', 'replaced');

    // The leader fails: the other old node and the new incarnation are a majority, and hold every write.
    await three.kill9(leader);
    const others = [1, 2, 3].filter((id) => id !== leader).map((id) => `127.0.0.1:${three.ports[id - 1]}`).join(',');
    await write('without-leader', 'ok', others);
    for (const [key, value] of written) {
      expect((await runCli(['submit', '--cluster', others, 'get', key], { timeoutMs: 60_000 })).stdout.trim()).toBe(value);
    }
  }, 240_000);
});
