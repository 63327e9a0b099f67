// Catching a non-deterministic state machine in production, on real nodes:
// the applied digest covers every command's result, so `paxos status` flags
// nodes whose digests differ at the same slot; and a node checks its module
// whenever it takes a snapshot (restore it into a fresh machine, compare the
// snapshot bytes) and warns when restore() loses state.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePorts, runCli, tempDir, TestCluster } from './support.js';

const clusters: TestCluster[] = [];
afterEach(async () => {
  await Promise.all(clusters.splice(0).map((cluster) => cluster.stopAll()));
});

describe('a non-deterministic state machine on real nodes', () => {
  it('shows as applied digests that differ at the same slot, which paxos status flags', async () => {
    const root = tempDir();
    const path = join(root, 'pid.mjs');
    // Every result names the process that computed it; the state (a count) stays equal everywhere.
    writeFileSync(path, `export default function () { let n = 0; return { apply: () => ({ n: ++n, pid: process.pid }), snapshot: () => new TextEncoder().encode(String(n)), restore: (b) => { n = Number(new TextDecoder().decode(b)); } }; }\n`);
    const cluster = new TestCluster(await freePorts(3), root, ['--state-machine', path]);
    clusters.push(cluster);
    await cluster.startAll();
    const submitted = await cluster.submit(['who']);
    expect(submitted.code, submitted.stderr).toBe(0);
    const rows = await cluster.waitFor((all) => all.every((row) => row.reachable && row.lastApplied === all[0].lastApplied && (row.lastApplied ?? 0) > 0));
    expect(new Set(rows.map((row) => row.appliedDigest)).size).toBe(3);
    expect(rows.every((row) => (row as unknown as { digestDiffers: boolean }).digestDiffers)).toBe(true);
    const table = await runCli(['status', '--cluster', cluster.addresses]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^warning: nodes 1, 2, 3 applied the same slot \(\d+\) as other nodes but report a different applied digest/m);
    expect(table.stdout).toMatch(/\d+!/);
  }, 60_000);

  it('warns when the node takes a snapshot that does not restore to the same bytes (examples/broken-restore.mjs)', async () => {
    const module = resolve(import.meta.dirname, '../../examples/broken-restore.mjs');
    const cluster = await TestCluster.create(3, ['--state-machine', module, '--snapshot-every', '2']);
    clusters.push(cluster);
    await cluster.startAll();
    const input = ['freeze alice', 'deposit bob 5', 'deposit carol 7'].join('\n');
    const submitted = await runCli(['submit', '--cluster', cluster.addresses, '--stdin'], { input, timeoutMs: 30_000 });
    expect(submitted.code, submitted.stderr).toBe(0);
    for (const id of [1, 2, 3]) await cluster.waitForLog(id, /restore\(snapshot\(\)\) gives a machine whose snapshot\(\) differs at slot \d+: restore\(\) loses or changes state/);
    const line = cluster.nodes.get(1)!.log.find((text) => text.includes('restore(snapshot())'))!;
    expect(JSON.parse(line)).toMatchObject({ level: 'warn', stateMachine: 'broken-restore@1' });
  }, 60_000);

  it('stays quiet for a module that restores faithfully (examples/bank-ledger.mjs)', async () => {
    const module = resolve(import.meta.dirname, '../../examples/bank-ledger.mjs');
    const cluster = await TestCluster.create(3, ['--state-machine', module, '--snapshot-every', '2']);
    clusters.push(cluster);
    await cluster.startAll();
    const input = ['deposit alice 10', 'transfer alice bob 3', 'deposit carol 7', 'balance bob'].join('\n');
    const submitted = await runCli(['submit', '--cluster', cluster.addresses, '--stdin'], { input, timeoutMs: 30_000 });
    expect(submitted.code, submitted.stderr).toBe(0);
    await cluster.waitForLog(1, /took a snapshot/);
    const rows = await cluster.waitFor((all) => all.every((row) => row.reachable && row.lastApplied === all[0].lastApplied && (row.lastSnapshot ?? 0) > 0));
    expect(new Set(rows.map((row) => row.appliedDigest)).size).toBe(1);
    for (const node of cluster.nodes.values()) expect(node.log.join('\n')).not.toContain('restore(snapshot())');
  }, 60_000);
});
