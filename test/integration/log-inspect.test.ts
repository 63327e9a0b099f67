// `paxos log inspect` as a black box: the built CLI run on data dirs written
// by the real WriteAheadLog (a log of every record type, compacted once, with
// a snapshot), healthy, torn and corrupted.
import fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleLogRecords, segmentNames, treeSnapshot, writeSampleDataDir } from '../unit/inspect/fixtures.js';
import { runCli, tempDir } from './support.js';

let root: string;
let healthy: string;

beforeAll(async () => {
  root = tempDir();
  healthy = join(root, 'healthy');
  await writeSampleDataDir(healthy);
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function copyOfHealthy(name: string): string {
  const dir = join(root, name);
  fs.cpSync(healthy, dir, { recursive: true });
  return dir;
}

interface JsonRecord {
  file: string;
  offset: number;
  type: string;
  ballot?: string;
  slot?: number;
  preview: string;
}

describe('paxos log inspect', () => {
  it('--json gives every record and the summary', async () => {
    const result = await runCli(['log', 'inspect', healthy, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const output = JSON.parse(result.stdout) as { records: JsonRecord[]; summary: Record<string, unknown>; omitted: number };
    expect(output.records).toHaveLength(1 + sampleLogRecords.length);
    expect(output.records.map((record) => record.type)).toEqual(['snapshot', ...sampleLogRecords.map((record) => record.type)]);
    expect(output.records[8]).toMatchObject({ type: 'chosen', slot: 4, preview: '2 cmds: c1#5 incr hits; c3#9 get y' });
    expect(output.summary).toMatchObject({ promised: '3.1', firstSlot: 3, lastSlot: 5, lastChosen: 5, torn: null, corrupt: null });
    expect(output.summary.counts).toEqual({ promise: 2, accept: 4, chosen: 3, rebuild: 2, membership: 0, bootstrap_view: 0, snapshot: 1 });
    expect(output.omitted).toBe(0);
  });

  it('prints an aligned table and the summary, filtered by slot, type and limit', async () => {
    const all = await runCli(['log', 'inspect', healthy]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/^FILE +OFFSET +TYPE +BALLOT +SLOT +VALUE$/m);
    expect(all.stdout).toMatch(/^wal\/\d{16}\.wal +\d+ +accept +3\.1 +5 +1 cmd: c4#1 \{"blob":"<3 bytes>","note":"hello world"\}$/m);
    expect(all.stdout).toMatch(/^promised +3\.1$/m);

    const filtered = await runCli(['log', 'inspect', healthy, '--from', '4', '--type', 'chosen,promise', '--limit', '2', '--json']);
    expect(filtered.code, filtered.stderr).toBe(0);
    const output = JSON.parse(filtered.stdout) as { records: JsonRecord[]; omitted: number };
    expect(output.records.map((record) => `${record.type}@${record.slot ?? '-'}`)).toEqual(['promise@-', 'chosen@4']);
    expect(output.omitted).toBe(2);
  });

  it('--verify passes a healthy log, and warns (exit 0) about a torn tail without touching it', async () => {
    const ok = await runCli(['log', 'inspect', healthy, '--verify']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('verify: ok: 11 records in 2 segments, 1 snapshot');

    const torn = copyOfHealthy('torn');
    const last = join(torn, 'wal', segmentNames(torn).at(-1) ?? '');
    fs.truncateSync(last, fs.statSync(last).size - 5);
    const before = treeSnapshot(torn);
    const result = await runCli(['log', 'inspect', torn, '--verify']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^wal/${segmentNames(torn).at(-1)}:\\d+: warning: torn final record .* would truncate`, 'm'));
    expect(result.stdout).toContain('verify: ok: 10 records in 2 segments, 1 snapshot (1 warning)');
    expect(treeSnapshot(torn)).toEqual(before);
  });

  it('--verify fails (exit 1) on a corrupted copy, naming file and offset, also under --json', async () => {
    const corrupt = copyOfHealthy('corrupt');
    const json = JSON.parse((await runCli(['log', 'inspect', corrupt, '--json'])).stdout) as { records: JsonRecord[] };
    const victim = json.records[4];
    const path = join(corrupt, victim.file);
    const bytes = fs.readFileSync(path);
    bytes[victim.offset + 12] ^= 0x01;
    fs.writeFileSync(path, bytes);

    const text = await runCli(['log', 'inspect', corrupt, '--verify']);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`${victim.file}:${victim.offset}: error: checksum mismatch`);
    expect(text.stdout).toMatch(/^verify: FAILED: 1 problem; read \d+ records in 2 segments, 1 snapshot$/m);

    const asJson = await runCli(['log', 'inspect', corrupt, '--verify', '--json']);
    expect(asJson.code).toBe(1);
    const output = JSON.parse(asJson.stdout) as { ok: boolean; problems: { code: string; file: string; offset: number }[] };
    expect(output.ok).toBe(false);
    expect(output.problems).toEqual([expect.objectContaining({ code: 'corrupt_record', file: victim.file, offset: victim.offset })]);

    const listing = await runCli(['log', 'inspect', corrupt]);
    expect(listing.code).toBe(0);
    expect(listing.stderr).toContain(`the log is corrupt at ${victim.file}:${victim.offset}`);
  });

  it('refuses what is not a data dir with exit 2, and bad flags too', async () => {
    const missing = await runCli(['log', 'inspect', join(root, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such directory');
    const missingJson = await runCli(['log', 'inspect', join(root, 'nope'), '--json']);
    expect(missingJson.code).toBe(2);
    const walDir = await runCli(['log', 'inspect', join(healthy, 'wal')]);
    expect(walDir.code).toBe(2);
    // oclif wraps error messages to the terminal width.
    expect(walDir.stderr.replace(/\s+(›\s+)?/g, ' ')).toContain(`looks like the wal directory itself; give the data dir that holds it (${healthy})`);
    const range = await runCli(['log', 'inspect', healthy, '--from', '5', '--to', '2']);
    expect(range.code).toBe(2);
    const type = await runCli(['log', 'inspect', healthy, '--type', 'vote']);
    expect(type.code).toBe(2);
    const both = await runCli(['log', 'inspect', healthy, '--verify', '--type', 'chosen']);
    expect(both.code).toBe(2);
  });

  it('has help with examples', async () => {
    const help = await runCli(['log', 'inspect', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('paxos log inspect ./data/n1 --verify');
    expect(help.stdout).toContain('--from=SLOT');
  });
});
