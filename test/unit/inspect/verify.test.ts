import fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WalRecord } from '../../../src/node/core/messages.js';
import type { LogProblem } from '../../../src/inspect/index.js';
import { hasErrors, inspectLog, renderProblems, verifyLog } from '../../../src/inspect/index.js';
import { encodeSnapshot, writeSnapshot } from '../../../src/node/storage/snapshot.js';
import { temporaryDirectory } from '../storage/helpers.js';
import { ballot, kv, segmentNames, treeSnapshot, writeLog, writeSampleDataDir } from './fixtures.js';

let scratch: { dir: string; remove: () => void };
let dataDir: string;

beforeEach(() => {
  scratch = temporaryDirectory();
  dataDir = join(scratch.dir, 'n1');
});

afterEach(() => scratch.remove());

const setX = (value: string, seq = 1) => kv(['c1', seq, ['set', 'x', value]]);

/** The file and offset inspect reports for the record numbered `index`. */
async function placeOf(index: number): Promise<{ file: string; offset: number }> {
  const record = (await inspectLog(dataDir)).records.find((entry) => entry.index === index);
  if (record === undefined) throw new Error(`no record ${index}`);
  return { file: record.file, offset: record.offset };
}

/** Writes `records` (one append each), verifies, and checks verify changed nothing. */
async function verifyRecords(records: WalRecord[], segmentBytesMax?: number): Promise<LogProblem[]> {
  await writeLog(dataDir, records, segmentBytesMax);
  const before = treeSnapshot(dataDir);
  const problems = await verifyLog(dataDir);
  expect(treeSnapshot(dataDir)).toEqual(before);
  return problems;
}

describe('verifyLog: invariants', () => {
  it('passes a healthy log, including a compacted one whose checkpoint re-writes an accept below the promise', async () => {
    expect(
      await verifyRecords([
        { type: 'promise', ballot: ballot(1, 1) },
        { type: 'accept', slot: 1, ballot: ballot(1, 1), value: setX('1') },
        { type: 'chosen', slot: 1, value: setX('1') },
        { type: 'promise', ballot: ballot(2, 3) },
        { type: 'chosen', slot: 1, value: setX('1') },
        { type: 'accept', slot: 2, ballot: ballot(4, 2), value: kv() },
        // A promise equal to the one in effect (as a checkpoint writes it) is no decrease.
        { type: 'promise', ballot: ballot(4, 2) },
      ]),
    ).toEqual([]);
    const sample = join(scratch.dir, 'sample');
    await writeSampleDataDir(sample);
    expect(await verifyLog(sample)).toEqual([]);
  });

  it('names the promise that decreases, across segments', async () => {
    const records: WalRecord[] = [
      { type: 'promise', ballot: ballot(3, 1) },
      { type: 'accept', slot: 1, ballot: ballot(3, 1), value: setX('1') },
      { type: 'chosen', slot: 1, value: setX('1') },
      { type: 'promise', ballot: ballot(2, 5) },
    ];
    const problems = await verifyRecords(records, 40);
    expect(segmentNames(dataDir).length).toBeGreaterThan(1);
    const place = await placeOf(4);
    expect(place.file).not.toBe('wal/0000000000000001.wal');
    expect(problems).toEqual([{ severity: 'error', code: 'promise_decreased', ...place, why: expect.stringContaining('promise 2.5 is lower than the promise 3.1 already in effect (from wal/0000000000000001.wal:0)') }]);
  });

  it('counts an accepted ballot as promised: a later, lower promise is a decrease', async () => {
    const problems = await verifyRecords([
      { type: 'promise', ballot: ballot(1, 1) },
      { type: 'accept', slot: 1, ballot: ballot(5, 2), value: setX('1') },
      { type: 'promise', ballot: ballot(4, 1) },
    ]);
    expect(problems).toEqual([{ severity: 'error', code: 'promise_decreased', ...(await placeOf(3)), why: expect.stringContaining('lower than the promise 5.2') }]);
  });

  it('names a chosen slot whose value changes, and accepts the same value chosen twice', async () => {
    const problems = await verifyRecords([
      { type: 'chosen', slot: 7, value: setX('1') },
      { type: 'chosen', slot: 8, value: setX('2', 2) },
      { type: 'chosen', slot: 7, value: setX('1') },
      { type: 'chosen', slot: 7, value: setX('9') },
      { type: 'chosen', slot: 8, value: kv() },
    ]);
    expect(problems).toEqual([
      { severity: 'error', code: 'chosen_changed', ...(await placeOf(4)), why: expect.stringContaining('slot 7 chosen again with a different value (1 cmd: c1#1 set x 9) than at wal/0000000000000001.wal:0') },
      { severity: 'error', code: 'chosen_changed', ...(await placeOf(5)), why: expect.stringContaining('slot 8 chosen again') },
    ]);
  });

  it('compares chosen values by client, sequence number and op, binary ops included', async () => {
    const blob = (bytes: number[]) => kv(['c1', 1, { blob: new Uint8Array(bytes) }]);
    const problems = await verifyRecords([
      { type: 'chosen', slot: 1, value: blob([1, 2]) },
      { type: 'chosen', slot: 1, value: blob([1, 2]) },
      { type: 'chosen', slot: 1, value: blob([1, 3]) },
      { type: 'chosen', slot: 2, value: kv(['c1', 1, ['get', 'x']]) },
      { type: 'chosen', slot: 2, value: kv(['c2', 1, ['get', 'x']]) },
    ]);
    expect(problems.map((problem) => [problem.code, problem.offset])).toEqual([
      ['chosen_changed', (await placeOf(3)).offset],
      ['chosen_changed', (await placeOf(5)).offset],
    ]);
  });

  it('names an accept below the promise in effect', async () => {
    const problems = await verifyRecords([
      { type: 'promise', ballot: ballot(3, 1) },
      { type: 'accept', slot: 1, ballot: ballot(2, 2), value: setX('1') },
      // A higher accept raises the promise; a later accept below it is wrong too.
      { type: 'accept', slot: 2, ballot: ballot(6, 1), value: setX('2', 2) },
      { type: 'accept', slot: 3, ballot: ballot(5, 1), value: setX('3', 3) },
    ]);
    expect(problems).toEqual([
      { severity: 'error', code: 'accept_below_promise', ...(await placeOf(2)), why: expect.stringContaining('accept of slot 1 at ballot 2.2 is below the promise 3.1 in effect (from wal/0000000000000001.wal:0)') },
      { severity: 'error', code: 'accept_below_promise', ...(await placeOf(4)), why: expect.stringContaining('below the promise 6.1') },
    ]);
  });

  it('names a second, different value accepted at the same slot and ballot', async () => {
    const problems = await verifyRecords([
      { type: 'accept', slot: 4, ballot: ballot(2, 1), value: setX('1') },
      { type: 'accept', slot: 4, ballot: ballot(2, 1), value: setX('1') },
      { type: 'accept', slot: 4, ballot: ballot(3, 1), value: setX('2', 2) },
      { type: 'accept', slot: 4, ballot: ballot(2, 1), value: setX('3', 3) },
    ]);
    // The last is also below the promise 3.1 made by the accept before it.
    expect(problems.map((problem) => problem.code)).toEqual(['accept_below_promise', 'accept_conflict']);
    expect(problems[1]).toMatchObject({ ...(await placeOf(4)), why: expect.stringContaining('slot 4 accepted a different value at the same ballot 2.1 as at wal/0000000000000001.wal:0') });
  });
});

describe('verifyLog: damage', () => {
  it('reports a torn tail as a warning only, saying the node would cut it', async () => {
    await writeSampleDataDir(dataDir);
    const last = join(dataDir, 'wal', segmentNames(dataDir).at(-1) ?? '');
    fs.truncateSync(last, fs.statSync(last).size - 1);
    const problems = await verifyLog(dataDir);
    expect(problems).toEqual([{ severity: 'warning', code: 'torn_tail', file: `wal/${segmentNames(dataDir).at(-1)}`, offset: expect.any(Number), why: expect.stringContaining('would truncate') }]);
    expect(hasErrors(problems)).toBe(false);
  });

  it('names a missing segment', async () => {
    await writeLog(dataDir, Array.from({ length: 9 }, (_unused, slot): WalRecord => ({ type: 'chosen', slot: slot + 1, value: setX(String(slot)) })), 60);
    const names = segmentNames(dataDir);
    expect(names.length).toBeGreaterThan(2);
    fs.rmSync(join(dataDir, 'wal', names[1]));
    const problems = await verifyLog(dataDir);
    expect(problems).toEqual([{ severity: 'error', code: 'corrupt_record', file: `wal/${names[2]}`, offset: 0, why: expect.stringContaining('a segment is missing') }]);
  });

  it('names a snapshot that fails its checksum, or holds another slot than its name', async () => {
    await writeSampleDataDir(dataDir);
    const path = join(dataDir, 'snapshots', '0000000000000002.snap');
    const bytes = fs.readFileSync(path);
    bytes[bytes.length - 1] ^= 0x10;
    fs.writeFileSync(path, bytes);
    await writeSnapshot(dataDir, 3, encodeSnapshot({ slot: 4, appliedDigest: 'd', state: new Uint8Array() }));
    expect(await verifyLog(dataDir)).toEqual([
      { severity: 'error', code: 'snapshot_corrupt', file: 'snapshots/0000000000000002.snap', offset: 0, why: 'snapshot fails its checks: checksum mismatch' },
      { severity: 'error', code: 'snapshot_corrupt', file: 'snapshots/0000000000000003.snap', offset: 0, why: 'snapshot fails its checks: holds slot 4, not the slot 3 in its name' },
    ]);
    const { summary, records } = await inspectLog(dataDir);
    expect(summary.latestSnapshot).toEqual({ file: 'snapshots/0000000000000003.snap', slot: 3, checksum: 'bad' });
    expect(records.filter((record) => record.type === 'snapshot').map((record) => record.checksum)).toEqual(['bad', 'bad']);
  });

  it('names a compacted log that has no snapshot left', async () => {
    await writeSampleDataDir(dataDir);
    fs.rmSync(join(dataDir, 'snapshots'), { recursive: true });
    expect(await verifyLog(dataDir)).toEqual([
      { severity: 'error', code: 'snapshot_missing', file: `wal/${segmentNames(dataDir)[0]}`, offset: 0, why: expect.stringContaining('the log starts at record 8 (it was compacted), but there is no snapshot') },
    ]);
  });

  it('warns about a stray file in wal/ and fails on a damaged identity.json', async () => {
    await writeSampleDataDir(dataDir);
    fs.writeFileSync(join(dataDir, 'wal', 'notes.txt'), 'hello');
    fs.writeFileSync(join(dataDir, 'identity.json'), '{"format":1,');
    const problems = await verifyLog(dataDir);
    expect(problems.map((problem) => [problem.severity, problem.code, problem.file])).toEqual([
      ['error', 'identity_invalid', 'identity.json'],
      ['warning', 'unexpected_file', 'wal/notes.txt'],
    ]);
    expect(renderProblems(problems)[1]).toBe('wal/notes.txt:0: warning: not a segment or a .broken copy; the node ignores it');
    expect((await inspectLog(dataDir)).summary).toMatchObject({ identity: null, identityProblem: expect.stringContaining('identity.json'), unexpectedFiles: ['wal/notes.txt'] });
  });

  it('warns about a temporary left by a crash mid-snapshot and a stray file in snapshots/', async () => {
    await writeSampleDataDir(dataDir);
    const leftover = '.0000000000000040.snap.4242.0a1b2c3d.tmp';
    fs.writeFileSync(join(dataDir, 'snapshots', leftover), 'half a snapshot');
    fs.writeFileSync(join(dataDir, 'snapshots', 'notes.txt'), 'hello');
    const problems = await verifyLog(dataDir);
    expect(hasErrors(problems)).toBe(false);
    expect(renderProblems(problems)).toEqual([
      `snapshots/${leftover}:0: warning: a temporary file left by a crash mid-snapshot; the node removes it at next start`,
      'snapshots/notes.txt:0: warning: not a snapshot; the node ignores it',
    ]);
    const { summary } = await inspectLog(dataDir);
    expect(summary.unexpectedFiles).toEqual([`snapshots/${leftover}`, 'snapshots/notes.txt']);
    expect(summary.counts.snapshot).toBe(1);
  });
});
