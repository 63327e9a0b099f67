// `paxos log inspect --diff` as a black box: the built CLI on the data dirs of
// a real three-node cluster while it runs, and on two copies of one node's
// data dir, one with a chosen value changed behind the node's back.
import fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WalRecord } from '../../src/node/core/messages.js';
import { encodeRecord, scanSegment } from '../../src/node/storage/record.js';
import { treeSnapshot } from '../unit/inspect/fixtures.js';
import { runCli, TestCluster, tempDir } from './support.js';

let cluster: TestCluster;
let copies: string;

beforeAll(async () => {
  cluster = await TestCluster.create(3);
  await cluster.startAll();
  for (const words of [['set', 'x', '1'], ['set', 'y', '2'], ['incr', 'hits'], ['set', 'x', '3']]) {
    const result = await cluster.submit(words);
    expect(result.code, result.stderr).toBe(0);
  }
  copies = tempDir();
}, 60_000);

afterAll(async () => {
  await cluster.stopAll();
  fs.rmSync(copies, { recursive: true, force: true });
});

interface JsonRecord {
  file: string;
  offset: number;
  type: string;
  slot?: number;
  preview: string;
}

/** Re-writes the segment holding the chosen record of `slot` with that record's value replaced. */
function changeChosenValue(dataDir: string, record: JsonRecord, op: unknown): void {
  const path = join(dataDir, record.file);
  const scan = scanSegment(fs.readFileSync(path), record.file);
  expect(scan.corrupt).toBeNull();
  const rewritten = scan.records.map(({ offset, record: stored }): WalRecord => {
    if (offset !== record.offset || stored.type !== 'chosen') return stored;
    return { ...stored, value: { commands: stored.value.commands.map((command) => ({ ...command, op })) } };
  });
  fs.writeFileSync(path, Buffer.concat(rewritten.map((each) => encodeRecord(each))));
}

describe('paxos log inspect --diff', () => {
  it('finds the live nodes in agreement, and the one slot where an altered copy differs', async () => {
    const live = await runCli(['log', 'inspect', '--diff', cluster.dataDir(1), cluster.dataDir(2), cluster.dataDir(3)]);
    expect(live.code, live.stderr).toBe(0);
    expect(live.stdout).toMatch(/^agree: the chosen values are the same in all 3 data dirs at each of the \d+ slots? all of them hold: /m);

    const original = join(copies, 'original');
    const altered = join(copies, 'altered');
    fs.cpSync(cluster.dataDir(1), original, { recursive: true });
    fs.cpSync(original, altered, { recursive: true });
    const listing = JSON.parse((await runCli(['log', 'inspect', altered, '--type', 'chosen', '--json'])).stdout) as { records: JsonRecord[] };
    const victim = listing.records.find((record) => record.preview.endsWith('set y 2'));
    expect(victim, JSON.stringify(listing.records)).toBeDefined();
    if (victim === undefined) return;
    changeChosenValue(altered, victim, ['set', 'y', '666']);

    const before = [treeSnapshot(original), treeSnapshot(altered)];
    const text = await runCli(['log', 'inspect', '--diff', original, altered]);
    expect(text.code, text.stderr).toBe(1);
    expect(text.stdout).toContain(`differ: slot ${victim.slot} is the first where the chosen values differ`);
    expect(text.stdout).toMatch(new RegExp(`^  ${original} +1 cmd: \\S+ set y 2$`, 'm'));
    expect(text.stdout).toMatch(new RegExp(`^  ${altered} +1 cmd: \\S+ set y 666$`, 'm'));

    const json = await runCli(['log', 'inspect', '--diff', original, altered, '--json']);
    expect(json.code).toBe(1);
    const output = JSON.parse(json.stdout) as { agree: boolean; difference: { slot: number; values: { dataDir: string; preview: string }[] } };
    expect(output.agree).toBe(false);
    expect(output.difference.slot).toBe(victim.slot);
    expect(output.difference.values.map((value) => value.dataDir)).toEqual([original, altered]);
    expect([treeSnapshot(original), treeSnapshot(altered)]).toEqual(before);

    const same = await runCli(['log', 'inspect', '--diff', original, join(copies, 'original'), '--json']);
    expect(same.code).toBe(0);
    expect((JSON.parse(same.stdout) as { agree: boolean }).agree).toBe(true);
  }, 60_000);

  it('refuses usage errors with exit 2', async () => {
    const one = await runCli(['log', 'inspect', '--diff', cluster.dataDir(1)]);
    expect(one.code).toBe(2);
    expect(one.stderr).toContain('--diff compares two or more data dirs');
    const two = await runCli(['log', 'inspect', cluster.dataDir(1), cluster.dataDir(2)]);
    expect(two.code).toBe(2);
    expect(two.stderr).toContain('add --diff');
    const verify = await runCli(['log', 'inspect', '--diff', '--verify', cluster.dataDir(1), cluster.dataDir(2)]);
    expect(verify.code).toBe(2);
    const missing = await runCli(['log', 'inspect', '--diff', cluster.dataDir(1), join(copies, 'nope'), '--json']);
    expect(missing.code).toBe(2);
  });
});
