// Restoring a backup into a new cluster (paxos snapshot restore, docs/operations.md):
// save under load, lose every data dir, restore the file on each member of a new
// cluster, start them: every write acknowledged before the save is there, every
// replica's state digest agrees, the cluster takes writes and a new member; and
// restore refuses a non-empty dir, another state machine and a flipped byte.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { binary, runCli, tempDir, TestCluster, type StatusRow } from './support.js';

const clusters: TestCluster[] = [];

afterEach(async () => {
  await Promise.all(clusters.splice(0).map((c) => c.stopAll()));
});

interface Restored {
  clusterId: string;
  fromClusterId: string;
  slot: number;
  sha256: string;
  peers: number[];
}

function converged(rows: StatusRow[], count: number, minApplied: number): boolean {
  const reachable = rows.filter((row) => row.reachable);
  return reachable.length === count && new Set(reachable.map((row) => row.lastApplied)).size === 1 && new Set(reachable.map((row) => row.appliedDigest)).size === 1 && (reachable[0].lastApplied ?? 0) >= minApplied;
}

describe('paxos snapshot restore', () => {
  it('saves under load, loses every data dir, restores the file on three new members: every acknowledged write is there and the replicas agree', async () => {
    const old = await TestCluster.create(3);
    clusters.push(old);
    await old.startAll();
    const count = 200;
    const input = Array.from({ length: count }, (_, i) => `set k${i} v${i}`).join('\n');
    const written = await runCli(['submit', '--cluster', old.addresses, '--stdin', '--json'], { input, timeoutMs: 60_000 });
    expect(written.stdout.trim().split('\n').filter((line) => (JSON.parse(line) as { ok: boolean }).ok)).toHaveLength(count);

    // A second client keeps writing while the save runs.
    const load = spawn(process.execPath, [binary, 'submit', '--cluster', old.addresses, '--stdin'], { stdio: ['pipe', 'ignore', 'ignore'], env: { ...process.env, NO_COLOR: '1' } });
    load.stdin.on('error', () => undefined);
    load.stdin.end(Array.from({ length: 3000 }, (_, i) => `set load${i} ${'x'.repeat(100)}`).join('\n'));
    const dir = tempDir();
    const file = join(dir, 'backup.snap');
    try {
      await new Promise((done) => setTimeout(done, 300));
      const saved = await runCli(['snapshot', 'save', file, '--cluster', old.addresses, '--json'], { timeoutMs: 60_000 });
      expect(saved.code, saved.stderr).toBe(0);
    } finally {
      load.kill();
    }
    const oldClusterId = (JSON.parse((await runCli(['snapshot', 'inspect', file, '--json'])).stdout) as { clusterId: string }).clusterId;
    // Every data dir is lost.
    await old.stopAll();

    const fresh = await TestCluster.create(4);
    clusters.push(fresh);
    fresh.foundingSize = 3;
    const restored: Restored[] = [];
    for (const id of [1, 2, 3]) {
      const result = await runCli(['snapshot', 'restore', file, '--data-dir', fresh.dataDir(id), '--id', String(id), '--peers', fresh.peers, '--json']);
      expect(result.code, result.stderr).toBe(0);
      restored.push(JSON.parse(result.stdout) as Restored);
    }
    // The same new cluster id on every member, never the old cluster's.
    expect(new Set(restored.map((r) => r.clusterId)).size).toBe(1);
    expect(restored[0].clusterId).not.toBe(oldClusterId);
    expect(restored[0].fromClusterId).toBe(oldClusterId);
    const slot = restored[0].slot;
    const human = await runCli(['snapshot', 'restore', file, '--data-dir', join(dir, 'human'), '--id', '1', '--peers', fresh.peers]);
    expect(human.stdout).toContain(`node start --id 1 --peers ${fresh.peers} --data-dir ${join(dir, 'human')}`);
    expect(human.stdout).toContain(`its first slot is ${slot + 1}`);

    const founders = fresh.ports.slice(0, 3).map((port) => `127.0.0.1:${port}`).join(',');
    await Promise.all([1, 2, 3].map((id) => fresh.start(id)));
    const gets = Array.from({ length: count }, (_, i) => `get k${i}`).join('\n');
    const read = await runCli(['submit', '--cluster', founders, '--stdin', '--json'], { input: gets, timeoutMs: 60_000 });
    const answers = read.stdout.trim().split('\n').map((line) => JSON.parse(line) as { ok: boolean; result: unknown });
    expect(answers, read.stderr).toHaveLength(count);
    answers.forEach((answer, i) => expect(answer, `k${i}`).toMatchObject({ ok: true, result: `v${i}` }));
    const next = await runCli(['submit', '--cluster', founders, '--json', 'set', 'after', 'restore']);
    expect(next.code, next.stderr).toBe(0);
    expect((JSON.parse(next.stdout) as { slot: number }).slot).toBeGreaterThan(slot);
    const rows = await fresh.waitFor((r) => converged(r.slice(0, 3), 3, slot + 1), 30_000);
    expect(rows[0].clusterId).toBe(restored[0].clusterId);

    // A new member joins with an empty dir: it needs the restored snapshot (the log starts after it), written again with the new membership.
    const added = await runCli(['member', 'add', '--id', '4', '--address', `127.0.0.1:${fresh.ports[3]}`, '--cluster', founders]);
    expect(added.code, added.stderr).toBe(0);
    await fresh.start(4, { join: founders });
    await fresh.waitFor((r) => converged(r, 4, slot + 1), 30_000);
    expect(fresh.nodes.get(4)!.log.join('\n')).toMatch(/installed a snapshot from a peer/);

    // A restored node's data dir now belongs to the new cluster: restore refuses it, and the file it would read is left alone.
    const again = await runCli(['snapshot', 'restore', file, '--data-dir', fresh.dataDir(1), '--id', '1', '--peers', fresh.peers]);
    expect(again.code).toBe(4);
    expect(again.stderr).toMatch(/is not empty .*Move it aside/);
  }, 180_000);

  it('refuses another state machine, a flipped byte and --peers without --id, writing nothing; a restored dir started with other --peers refuses to start', async () => {
    const source = await TestCluster.create(3);
    clusters.push(source);
    await source.startAll();
    expect((await source.submit(['set', 'a', '1'])).code).toBe(0);
    const dir = tempDir();
    const file = join(dir, 'backup.snap');
    expect((await runCli(['snapshot', 'save', file, '--cluster', source.addresses])).code).toBe(0);
    const peers = '1=127.0.0.1:7991,2=127.0.0.1:7992,3=127.0.0.1:7993';

    const ledger = resolve(__dirname, '../../examples/bank-ledger.mjs');
    const otherMachine = await runCli(['snapshot', 'restore', file, '--data-dir', join(dir, 'a'), '--id', '1', '--peers', peers, '--state-machine', ledger]);
    expect(otherMachine.code).toBe(4);
    expect(otherMachine.stderr).toMatch(/holds the state of state machine builtin:kv@1, but the restore was given /);
    expect(existsSync(join(dir, 'a'))).toBe(false);

    const bytes = readFileSync(file);
    const flipped = Buffer.from(bytes);
    flipped[Math.floor(bytes.length / 2)] ^= 0x01;
    const damaged = join(dir, 'damaged.snap');
    writeFileSync(damaged, flipped);
    const refused = await runCli(['snapshot', 'restore', damaged, '--data-dir', join(dir, 'b'), '--id', '1', '--peers', peers, '--json']);
    expect(refused.code).toBe(3);
    expect(JSON.parse(refused.stdout)).toMatchObject({ code: 'damaged' });
    expect(refused.stderr).toMatch(/sha256 mismatch/);
    expect(existsSync(join(dir, 'b'))).toBe(false);
    expect(readFileSync(damaged).equals(flipped)).toBe(true);

    const notMine = await runCli(['snapshot', 'restore', file, '--data-dir', join(dir, 'c'), '--id', '4', '--peers', peers]);
    expect(notMine.code).toBe(2);
    expect(notMine.stderr).toMatch(/--id 4 is not one of the nodes in --peers/);

    const occupied = join(dir, 'occupied');
    mkdirSync(occupied);
    writeFileSync(join(occupied, 'keep.txt'), 'mine');
    const nonEmpty = await runCli(['snapshot', 'restore', file, '--data-dir', occupied, '--id', '1', '--peers', peers]);
    expect(nonEmpty.code).toBe(4);
    expect(readdirSync(occupied)).toEqual(['keep.txt']);

    // Restored for nodes 1-3, started as one of 1-2: it would found another cluster than its fellows.
    const target = await TestCluster.create(3);
    clusters.push(target);
    const restoredDir = target.dataDir(1);
    expect((await runCli(['snapshot', 'restore', file, '--data-dir', restoredDir, '--id', '1', '--peers', target.peers])).code).toBe(0);
    const wrongPeers = await runCli(['node', 'start', '--id', '1', '--peers', target.peers.split(',').slice(0, 2).join(','), '--data-dir', restoredDir]);
    expect(wrongPeers.code).toBe(1);
    expect(wrongPeers.stderr).toMatch(/was restored for a cluster of nodes 1,2,3, but this node was started with --peers naming 1,2/);
    // A restore cut short before its last write (identity.json) leaves snapshots alone: refused, not taken for a fresh dir.
    rmSync(join(restoredDir, 'identity.json'));
    const cutShort = await runCli(['node', 'start', '--id', '1', '--peers', target.peers, '--data-dir', restoredDir]);
    expect(cutShort.code).toBe(1);
    expect(cutShort.stderr).toMatch(/holds snapshots .* but no identity.json: a paxos snapshot restore that was interrupted/);
    expect(existsSync(join(restoredDir, 'identity.json'))).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});
