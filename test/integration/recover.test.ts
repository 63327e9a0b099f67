// A lost majority (paxos recover, docs/operations.md): of three nodes, two data
// dirs are deleted for good. recover reports what may be lost and changes
// nothing without --accept-data-loss; with it, the survivor serves alone, two
// new members join, and the cluster survives losing the survivor after that.
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, TestCluster, type StatusRow } from './support.js';

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

interface Plan {
  recovered: boolean;
  pick: { nodeId: number; chosenThrough: number };
  decisions: { slot: number; source: { kind: string } }[];
  mayBeLost: { slot: number }[];
  fromSlot: number;
  retired: { id: number; incarnation: string }[];
}

/** Every file of a dir with its size and bytes: to show that a report-only run changed nothing. */
function fingerprint(dir: string): string {
  const walk = (path: string): string[] =>
    statSync(path).isDirectory() ? readdirSync(path).sort().flatMap((name) => walk(join(path, name))) : [`${path}:${readFileSync(path).toString('base64')}`];
  return walk(dir).filter((line) => !line.includes('.lock')).join('\n');
}

describe('paxos recover', () => {
  it('recovers one survivor of three: it reports what may be lost, serves alone, two new members join, and the cluster survives a further failure', async () => {
    const c = await TestCluster.create(3);
    cluster = c;
    await c.startAll();
    const count = 100;
    const input = Array.from({ length: count }, (_, i) => `set k${i} v${i}`).join('\n');
    const written = await runCli(['submit', '--cluster', c.addresses, '--stdin', '--json'], { input, timeoutMs: 60_000 });
    expect(written.stdout.trim().split('\n').filter((line) => (JSON.parse(line) as { ok: boolean }).ok)).toHaveLength(count);
    // Node 1 has every acknowledged write once it has applied the last one.
    await c.waitFor((rows) => rows.every((row) => row.reachable && row.lastApplied === rows[0].lastApplied));
    for (const id of [1, 2, 3]) await c.kill9(id);
    rmSync(c.dataDir(2), { recursive: true, force: true });
    rmSync(c.dataDir(3), { recursive: true, force: true });

    const before = fingerprint(c.dataDir(1));
    const report = await runCli(['recover', '--data-dir', c.dataDir(1)]);
    expect(report.code, report.stderr).toBe(4);
    expect(report.stdout).toMatch(/picked node 1 .*the longest chosen prefix/);
    expect(report.stdout).toMatch(/may be lost: /);
    expect(report.stdout).toMatch(/nothing written: stop every node, then run again with --accept-data-loss/);
    expect(fingerprint(c.dataDir(1))).toBe(before);
    const reported = await runCli(['recover', '--data-dir', c.dataDir(1), '--json']);
    const json = JSON.parse(reported.stdout) as Plan;
    expect(json, reported.stdout.slice(-600)).toHaveProperty('recovered');
    expect(json.recovered).toBe(false);
    expect(json.retired.map((m) => m.id).sort()).toEqual([2, 3]);
    expect(json.mayBeLost.map((d) => d.slot)).toEqual(json.decisions.filter((d) => d.source.kind !== 'chosen').map((d) => d.slot));

    const missing = await runCli(['recover', '--data-dir', c.dataDir(2), '--accept-data-loss']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/no such directory/);

    const done = await runCli(['recover', '--data-dir', c.dataDir(1), '--accept-data-loss', '--json']);
    expect(done.code, done.stderr).toBe(0);
    const plan = JSON.parse(done.stdout) as Plan;
    expect(plan.recovered).toBe(true);
    expect(plan.fromSlot).toBe(json.fromSlot);

    // The survivor serves alone, with every acknowledged write.
    await c.start(1);
    const node1 = `127.0.0.1:${c.ports[0]}`;
    const gets = Array.from({ length: count }, (_, i) => `get k${i}`).join('\n');
    const check = async (addresses: string) => {
      const read = await runCli(['submit', '--cluster', addresses, '--stdin', '--json', '--timeout', '30s'], { input: gets, timeoutMs: 90_000 });
      const answers = read.stdout.trim().split('\n').map((line) => JSON.parse(line) as { ok: boolean; result: unknown });
      expect(answers, read.stderr).toHaveLength(count);
      answers.forEach((answer, i) => expect(answer, `k${i}`).toMatchObject({ ok: true, result: `v${i}` }));
    };
    await check(node1);
    const after = await runCli(['submit', '--cluster', node1, '--json', 'set', 'after', 'recover']);
    expect(after.code, after.stderr).toBe(0);
    expect((JSON.parse(after.stdout) as { slot: number }).slot).toBeGreaterThanOrEqual(plan.fromSlot);

    // Two new members on empty data dirs.
    for (const id of [2, 3]) {
      const address = `127.0.0.1:${c.ports[id - 1]}`;
      if (id === 2) {
        // A second voter would count for nothing until bound, and one bound voter is no majority of two: refused, saying what to do.
        const refused = await runCli(['member', 'add', '--id', '2', '--address', address, '--cluster', node1]);
        expect(refused.code).toBe(4);
        expect(refused.stderr).toMatch(/add it with --learner/);
      }
      const added = await runCli(['member', 'add', '--id', String(id), '--address', address, '--learner', '--cluster', node1, '--wait', '30s']);
      expect(added.code, added.stderr).toBe(0);
      await c.start(id, { join: node1 });
      await promoted(node1, id);
      await waitForVoter(node1, id).catch((error: Error) => {
        throw new Error(`${error.message}\nnode ${id}:\n${c.nodes.get(id)?.log.slice(-15).join('\n')}\nnode 1:\n${c.nodes.get(1)?.log.slice(-15).join('\n')}`);
      });
    }
    await c.waitFor((rows) => rows.every((row) => row.reachable) && new Set(rows.map((row) => row.appliedDigest)).size === 1 && new Set(rows.map((row) => row.lastApplied)).size === 1, 60_000);

    // A further failure: the survivor itself. The two new members are a majority of three.
    await c.kill9(1);
    const others = c.ports.slice(1).map((port) => `127.0.0.1:${port}`).join(',');
    const written2 = await runCli(['submit', '--cluster', others, '--timeout', '45s', 'set', 'later', 'yes'], { timeoutMs: 60_000 });
    expect(written2.code, written2.stderr).toBe(0);
    await check(others);
  }, 240_000);
});

/** Promotes the learner once it has caught up (refused meanwhile, exit 4). */
async function promoted(addresses: string, id: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const result = await runCli(['member', 'promote', String(id), '--cluster', addresses, '--wait', '30s']);
    if (result.code === 0) return;
    if (Date.now() > deadline) throw new Error(`node ${id} was never promoted: ${result.stderr}`);
    await new Promise((done) => setTimeout(done, 300));
  }
}

async function waitForVoter(addresses: string, id: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last = '';
  while (Date.now() < deadline) {
    const listed = await runCli(['member', 'list', '--cluster', addresses, '--json']);
    last = listed.stdout;
    try {
      const rows = JSON.parse(listed.stdout) as (StatusRow & { role?: string; incarnation?: string | null })[];
      if (rows.some((row) => row.id === id && row.role === 'voter' && row.incarnation !== null && row.reachable)) return;
    } catch {
      // not JSON yet: the leader is still being found
    }
    await new Promise((done) => setTimeout(done, 300));
  }
  throw new Error(`node ${id} never became a bound voter: ${last}`);
}
