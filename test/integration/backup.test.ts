// Backups of a running cluster (paxos snapshot save / inspect, docs/operations.md):
// a save under load holds every write acknowledged before it began, the file
// checks whole, and a flipped byte or a truncated file is named as damage.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readBackupSnapshot } from '../../src/ops/backup-file.js';
import { decodeSnapshot } from '../../src/node/storage/snapshot-codec.js';
import { createKeyValueStore, ReplicatedService } from '../../src/node/statemachine/index.js';
import { binary, runCli, tempDir, TestCluster, type StatusRow } from './support.js';

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

interface Summary {
  clusterId: string;
  slot: number;
  stateMachine: string;
  voters: number[];
  learners: number[];
  snapshotBytes: number;
  fileBytes: number;
  sha256: string;
}

describe('paxos snapshot save / inspect', () => {
  it('saves under load a backup that holds every write acknowledged before it, and inspect refuses a damaged copy', async () => {
    // Small chunks, so the save takes many round trips; a shared secret, so it authenticates as every client does.
    const dir = tempDir();
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, '0123456789abcdef0123456789abcdef\n', { mode: 0o600 });
    const c = await TestCluster.create(3, ['--snapshot-chunk-bytes', '4096', '--secret-file', secretFile]);
    cluster = c;
    await c.startAll();
    const env = { PAXOS_SECRET_FILE: secretFile };
    const count = 300;
    const input = Array.from({ length: count }, (_, i) => `set k${i} v${i}`).join('\n');
    const written = await runCli(['submit', '--cluster', c.addresses, '--stdin', '--json'], { input, env, timeoutMs: 60_000 });
    const acknowledged = written.stdout.trim().split('\n').map((line) => JSON.parse(line) as { ok: boolean; slot: number });
    expect(acknowledged.filter((line) => line.ok)).toHaveLength(count);
    const lastAcknowledgedSlot = Math.max(...acknowledged.map((line) => line.slot));

    // Load while saving: another client keeps writing.
    const loadInput = Array.from({ length: 3000 }, (_, i) => `set load${i} ${'x'.repeat(200)}`).join('\n');
    const load = spawn(process.execPath, [binary, 'submit', '--cluster', c.addresses, '--stdin'], { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, NODE_ENV: 'production', NO_COLOR: '1', ...env } });
    let loadErrors = '';
    load.stderr.on('data', (chunk: Buffer) => (loadErrors += chunk.toString()));
    load.stdin.on('error', () => undefined); // killed before it read all its input
    load.stdin.end(loadInput);
    const file = join(dir, 'backup.snap');
    try {
      // The save starts once the load is committing.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const rows = JSON.parse((await runCli(['status', '--cluster', c.addresses, '--json'], { env })).stdout) as StatusRow[];
        if (rows.some((row) => (row.commitIndex ?? 0) > lastAcknowledgedSlot + 2)) break;
        if (Date.now() > deadline) throw new Error(`the load never committed: ${loadErrors} ${JSON.stringify(rows)}`);
        await new Promise((done) => setTimeout(done, 100));
      }
      const unauthenticated = await runCli(['snapshot', 'save', file, '--cluster', c.addresses, '--timeout', '1s']);
      expect(unauthenticated.code).toBe(4);
      const saved = await runCli(['snapshot', 'save', file, '--cluster', c.addresses, '--json'], { env, timeoutMs: 60_000 });
      expect(saved.code, saved.stderr).toBe(0);
      const summary = JSON.parse(saved.stdout) as Summary;
      expect(summary.slot).toBeGreaterThan(lastAcknowledgedSlot + 2);
      expect(summary.stateMachine).toBe('builtin:kv@1');
      expect(summary.voters).toEqual([1, 2, 3]);
      expect(summary.snapshotBytes).toBeGreaterThan(4 * 4096);
      const status = await runCli(['status', '--cluster', c.addresses, '--json'], { env });
      expect(summary.clusterId).toBe((JSON.parse(status.stdout) as { clusterId?: string }[]).find((row) => row.clusterId !== undefined)?.clusterId);
    } finally {
      load.kill();
    }

    const inspected = await runCli(['snapshot', 'inspect', file, '--json']);
    expect(inspected.code, inspected.stderr).toBe(0);
    const summary = JSON.parse(inspected.stdout) as Summary;
    expect(summary.fileBytes).toBe(readFileSync(file).length);
    const human = await runCli(['snapshot', 'inspect', file]);
    expect(human.stdout).toContain(`slot           ${summary.slot}`);
    expect(human.stdout).toContain(summary.sha256);

    // Every acknowledged write is in the snapshot's state.
    const { snapshot } = await readBackupSnapshot(file);
    const decoded = decodeSnapshot(snapshot, file);
    expect(decoded.slot).toBe(summary.slot);
    const service = ReplicatedService.fromSnapshot(() => createKeyValueStore(), decoded.state);
    for (let i = 0; i < count; i += 1) expect(service.query(['get', `k${i}`])).toEqual({ ok: true, result: `v${i}` });

    // A flipped byte anywhere, or a truncated file, is damage, named so, and the file is left as it was.
    const bytes = readFileSync(file);
    for (const position of [3, 20, Math.floor(bytes.length / 2), bytes.length - 1]) {
      const flipped = Buffer.from(bytes);
      flipped[position] ^= 0x40;
      const damaged = join(dir, `flipped-${position}.snap`);
      writeFileSync(damaged, flipped);
      const refused = await runCli(['snapshot', 'inspect', damaged, '--json']);
      expect(refused.code).toBe(3);
      expect(refused.stderr).toMatch(position < 8 ? /bad magic/ : /sha256 mismatch|header length/);
      expect(readFileSync(damaged).equals(flipped)).toBe(true);
    }
    const truncated = join(dir, 'truncated.snap');
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
    expect((await runCli(['snapshot', 'inspect', truncated])).stderr).toMatch(/sha256 mismatch/);
  }, 120_000);

  it('leaves FILE untouched when no leader answers', async () => {
    const dir = tempDir();
    const file = join(dir, 'backup.snap');
    writeFileSync(file, 'old');
    const failed = await runCli(['snapshot', 'save', file, '--cluster', '127.0.0.1:1', '--timeout', '500ms']);
    expect(failed.code).toBe(4);
    expect(failed.stderr).toMatch(/not saved \(.* is untouched\): no leader answered/);
    expect(readFileSync(file, 'utf8')).toBe('old');
  }, 30_000);
});
