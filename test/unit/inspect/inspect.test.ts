import fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WalRecord } from '../../../src/node/core/messages.js';
import type { InspectedRecord, InspectRecordType } from '../../../src/inspect/index.js';
import {
  inspectLog,
  InspectTargetError,
  previewCharsMax,
  renderRecordTable,
  renderSummary,
  valuePreview,
  verifyLog,
} from '../../../src/inspect/index.js';
import { AcceptsInLog, encodeRecord } from '../../../src/node/storage/record.js';
import { temporaryDirectory } from '../storage/helpers.js';
import {
  ballot,
  checkpointRecords,
  kv,
  recordsAfterCheckpoint,
  sampleClusterId,
  sampleFirstIndex,
  sampleLogRecords,
  sampleSegmentBytesMax,
  sampleSnapshotSlot,
  segmentNames,
  treeSnapshot,
  writeLog,
  writeSampleDataDir,
} from './fixtures.js';

let scratch: { dir: string; remove: () => void };
let dataDir: string;

beforeEach(() => {
  scratch = temporaryDirectory();
  dataDir = join(scratch.dir, 'n2');
});

afterEach(() => scratch.remove());

/**
 * Where the WAL puts each sample record: the checkpoint starts a segment named
 * by its first record; later appends (one record each) go to a new segment
 * once the current one holds segmentBytesMax bytes.
 */
function expectedPlaces(): { file: string; offset: number; index: number }[] {
  const places: { file: string; offset: number; index: number }[] = [];
  let segment = sampleFirstIndex;
  let bytes = 0;
  // A chosen record names its accept (chosen_accepted) when both are in one segment.
  const accepts = new AcceptsInLog();
  sampleLogRecords.forEach((record, position) => {
    const index = sampleFirstIndex + position;
    const isAppend = position >= checkpointRecords.length;
    if (isAppend && bytes >= sampleSegmentBytesMax) {
      [segment, bytes] = [index, 0];
      accepts.clear();
    }
    places.push({ file: `wal/${String(segment).padStart(16, '0')}.wal`, offset: bytes, index });
    bytes += encodeRecord(record, { acceptedAt: accepts.referenceFor(record) }).length;
    accepts.noteWritten(record);
  });
  return places;
}

function ballotOf(record: WalRecord): string | undefined {
  return 'ballot' in record ? `${record.ballot.round}.${record.ballot.node}` : undefined;
}

describe('inspectLog: records', () => {
  it('lists every record with file, offset, record number, type, ballot and slot, after the snapshot', async () => {
    await writeSampleDataDir(dataDir);
    const { records } = await inspectLog(dataDir);
    const [snapshot, ...logRecords] = records;
    expect(snapshot).toMatchObject({ file: 'snapshots/0000000000000002.snap', offset: 0, type: 'snapshot', slot: sampleSnapshotSlot, checksum: 'ok' });
    expect(snapshot.bytes).toBe(fs.statSync(join(dataDir, 'snapshots', '0000000000000002.snap')).size);
    const expected = expectedPlaces().map((place, position) => {
      const record = sampleLogRecords[position];
      return { ...place, type: record.type, ballot: ballotOf(record), slot: 'slot' in record ? record.slot : undefined };
    });
    const actual = logRecords.map(({ file, offset, index, type, ballot: b, slot }) => ({ file, offset, index, type, ballot: b, slot }));
    expect(actual).toEqual(expected);
    // The log spans more than one segment after the checkpoint.
    expect(new Set(actual.map((record) => record.file)).size).toBeGreaterThan(1);
  });

  it('renders values as short previews', async () => {
    await writeSampleDataDir(dataDir);
    const previews = (await inspectLog(dataDir)).records.map((record) => `${record.type} ${record.preview}`);
    expect(previews).toEqual([
      'snapshot state up to slot 2, 35 bytes',
      'rebuild old rebuild record (begun), ignored',
      'promise ',
      'accept 1 cmd: c2#1 set y 2',
      'accept 1 cmd: c2#1 set y 2',
      'chosen 1 cmd: c2#1 set y 2',
      'rebuild old rebuild record (done), ignored',
      'accept 2 cmds: c1#5 incr hits; c3#9 get y',
      'chosen 2 cmds: c1#5 incr hits; c3#9 get y',
      'promise ',
      'accept 1 cmd: c4#1 {"blob":"<3 bytes>","note":"hello world"}',
      'chosen 1 cmd: c4#1 {"blob":"<3 bytes>","note":"hello world"}',
    ]);
  });
});

describe('inspectLog: summary', () => {
  it('summarises segments, counts, promise, slots, snapshot and identity', async () => {
    await writeSampleDataDir(dataDir);
    const { summary } = await inspectLog(dataDir);
    const names = segmentNames(dataDir);
    expect(summary).toEqual({
      dataDir,
      identity: { nodeId: 2, clusterId: sampleClusterId },
      identityProblem: null,
      incarnation: null,
      logLost: false,
      replacedAfterLogLoss: null,
      segments: { count: names.length, names: names.map((name) => `wal/${name}`), bytes: names.reduce((total, name) => total + fs.statSync(join(dataDir, 'wal', name)).size, 0) },
      firstIndex: sampleFirstIndex,
      lastIndex: sampleFirstIndex + sampleLogRecords.length - 1,
      counts: { promise: 2, accept: 4, chosen: 3, rebuild: 2, membership: 0, bootstrap_view: 0, snapshot: 1 },
      promised: '3.1',
      firstSlot: 3,
      lastSlot: 5,
      lastChosen: 5,
      latestSnapshot: { file: 'snapshots/0000000000000002.snap', slot: 2, checksum: 'ok' },
      rebuilding: false,
      torn: null,
      corrupt: null,
      unexpectedFiles: [],
    });
  });

  it('takes the promise from accepts too, and the last chosen slot from the snapshot when the log has none above it', async () => {
    await writeSampleDataDir(dataDir);
    // Only the head of the checkpoint: rebuilding, promise 2.3, an accept at 1.2.
    const first = segmentNames(dataDir)[0];
    for (const name of segmentNames(dataDir).slice(1)) fs.rmSync(join(dataDir, 'wal', name));
    const head = Buffer.concat(checkpointRecords.map((record) => encodeRecord(record)));
    fs.writeFileSync(join(dataDir, 'wal', first), head);
    const { summary } = await inspectLog(dataDir);
    expect(summary).toMatchObject({ promised: '2.3', lastChosen: sampleSnapshotSlot, firstSlot: 3, lastSlot: 3, rebuilding: true });

    const other = join(scratch.dir, 'accepts');
    await writeLog(other, [{ type: 'promise', ballot: ballot(2, 1) }, { type: 'accept', slot: 1, ballot: ballot(4, 3), value: kv() }]);
    expect((await inspectLog(other)).summary).toMatchObject({ promised: '4.3', lastChosen: null, latestSnapshot: null, identity: null, identityProblem: null });
  });

  it('reports a torn tail without changing any file', async () => {
    await writeSampleDataDir(dataDir);
    const last = join(dataDir, 'wal', segmentNames(dataDir).at(-1) ?? '');
    const size = fs.statSync(last).size;
    fs.truncateSync(last, size - 3);
    const before = treeSnapshot(dataDir);
    const { summary, records } = await inspectLog(dataDir);
    expect(summary.torn).toMatchObject({ file: `wal/${segmentNames(dataDir).at(-1)}`, bytes: encodeRecord(recordsAfterCheckpoint.at(-1) as WalRecord).length - 3 });
    expect(summary.corrupt).toBeNull();
    expect(records.at(-1)?.type).toBe('accept');
    await verifyLog(dataDir);
    expect(treeSnapshot(dataDir)).toEqual(before);
  });
});

describe('inspectLog: filters', () => {
  const summaryOf = (records: InspectedRecord[]) => records.map((record) => `${record.type}@${record.slot ?? '-'}`);

  it('keeps records in a slot range, hiding records without a slot', async () => {
    await writeSampleDataDir(dataDir);
    expect(summaryOf((await inspectLog(dataDir, { fromSlot: 4 })).records)).toEqual(['accept@4', 'chosen@4', 'accept@5', 'chosen@5']);
    expect(summaryOf((await inspectLog(dataDir, { toSlot: 3 })).records)).toEqual(['snapshot@2', 'accept@3', 'accept@3', 'chosen@3']);
    expect(summaryOf((await inspectLog(dataDir, { fromSlot: 4, toSlot: 4 })).records)).toEqual(['accept@4', 'chosen@4']);
  });

  it('keeps records of the given types, with a range too', async () => {
    await writeSampleDataDir(dataDir);
    const types = (list: InspectRecordType[]) => new Set(list);
    expect(summaryOf((await inspectLog(dataDir, { types: types(['promise', 'snapshot']) })).records)).toEqual(['snapshot@2', 'promise@-', 'promise@-']);
    expect(summaryOf((await inspectLog(dataDir, { types: types(['chosen']), fromSlot: 4 })).records)).toEqual(['chosen@4', 'chosen@5']);
    // Naming a slot-less type asks for it even with a range.
    expect(summaryOf((await inspectLog(dataDir, { types: types(['rebuild', 'accept']), fromSlot: 5 })).records)).toEqual(['rebuild@-', 'rebuild@-', 'accept@5']);
  });

  it('leaves the summary about the whole log', async () => {
    await writeSampleDataDir(dataDir);
    const whole = (await inspectLog(dataDir)).summary;
    expect((await inspectLog(dataDir, { fromSlot: 5, types: new Set<InspectRecordType>(['chosen']) })).summary).toEqual(whole);
  });
});

describe('valuePreview', () => {
  it('says no-op for the empty batch and counts commands', () => {
    expect(valuePreview(kv())).toBe('no-op');
    expect(valuePreview(kv(['c1', 4, ['set', 'x', '1']]))).toBe('1 cmd: c1#4 set x 1');
    expect(valuePreview(kv(['c1', 4, ['set', 'x', '1']], ['c2', 9, ['get', 'y']]))).toBe('2 cmds: c1#4 set x 1; c2#9 get y');
  });

  it('quotes words that would break the line and renders other ops as bounded JSON', () => {
    expect(valuePreview(kv(['c1', 1, ['set', 'greeting', 'hello world']]))).toBe('1 cmd: c1#1 set greeting "hello world"');
    expect(valuePreview(kv(['c1', 1, ['set', 'k', 'a\nb']]))).toBe('1 cmd: c1#1 set k "a\\nb"');
    expect(valuePreview(kv(['c1', 1, ['set', 'k', '']]))).toBe('1 cmd: c1#1 set k ""');
    expect(valuePreview(kv(['c1', 1, null]))).toBe('1 cmd: c1#1 null');
    expect(valuePreview(kv(['c1', 1, { a: { b: { c: { d: { e: 1 } } } } }]))).toBe('1 cmd: c1#1 {"a":{"b":{"c":{"d":"…"}}}}');
    expect(valuePreview(kv(['c1', 1, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]))).toBe('1 cmd: c1#1 1 2 3 4 5 6 7 8 …');
    expect(valuePreview(kv(['c1', 1, [[1, 2, 3, 4, 5, 6, 7, 8, 9]]]))).toBe('1 cmd: c1#1 [[1,2,3,4,5,6,7,8,"…"]]');
  });

  it(`cuts long values to ${previewCharsMax} characters, even huge batches`, () => {
    const commands = Array.from({ length: 10_000 }, (_unused, seq): [string, number, unknown] => ['client', seq, ['set', `key${seq}`, 'x'.repeat(1000)]]);
    const preview = valuePreview(kv(...commands));
    expect(preview).toHaveLength(previewCharsMax);
    expect(preview.startsWith('10000 cmds: client#0 set key0 xxx')).toBe(true);
    expect(preview.endsWith('…')).toBe(true);
  });
});

describe('rendering', () => {
  it('aligns the record table and prints ballots as round.node', async () => {
    await writeSampleDataDir(dataDir);
    const lines = renderRecordTable((await inspectLog(dataDir)).records);
    expect(lines[0]).toMatch(/^FILE +OFFSET +TYPE +BALLOT +SLOT +VALUE$/);
    const valueColumn = lines[0].indexOf('VALUE');
    const acceptLine = lines.find((line) => line.includes(' accept ') && line.includes('3.1')) ?? '';
    expect(acceptLine.slice(valueColumn)).toBe('1 cmd: c4#1 {"blob":"<3 bytes>","note":"hello world"}');
    expect(lines).toHaveLength(1 + 1 + sampleLogRecords.length);
  });

  it('prints the summary as labelled lines', async () => {
    await writeSampleDataDir(dataDir);
    const text = renderSummary((await inspectLog(dataDir)).summary).join('\n');
    expect(text).toContain(`(node 2, cluster ${sampleClusterId})`);
    expect(text).toMatch(/^records +11 \(#8\.\.#18\): 2 promise, 4 accept, 3 chosen, 2 rebuild; 1 snapshot$/m);
    expect(text).toMatch(/^promised +3\.1$/m);
    expect(text).toMatch(/^slots +3\.\.5, last chosen 5$/m);
    expect(text).toMatch(/^snapshot +slot 2 \(snapshots\/0000000000000002\.snap, checksum ok\)$/m);
    expect(text).toMatch(/^torn tail +none$/m);
  });
});

describe('inspectLog: what it is given', () => {
  it('refuses a missing dir, a file, a dir that is not a data dir, and the wal dir itself, clearly', async () => {
    await expect(inspectLog(join(scratch.dir, 'missing'))).rejects.toMatchObject({ code: 'DATA_DIR_MISSING', message: expect.stringContaining('no such directory') });
    const file = join(scratch.dir, 'file');
    fs.writeFileSync(file, 'x');
    await expect(inspectLog(file)).rejects.toMatchObject({ code: 'NOT_A_DATA_DIR' });
    const empty = join(scratch.dir, 'empty');
    fs.mkdirSync(empty);
    await expect(verifyLog(empty)).rejects.toBeInstanceOf(InspectTargetError);
    await expect(inspectLog(empty)).rejects.toThrow(/not a paxos data dir: it has no wal\/, snapshots\/ or identity\.json/);
    await writeSampleDataDir(dataDir);
    await expect(inspectLog(join(dataDir, 'wal'))).rejects.toThrow(`looks like the wal directory itself; give the data dir that holds it (${dataDir})`);
  });

  it('reads a data dir whose log was never written (identity only)', async () => {
    await writeSampleDataDir(dataDir);
    fs.rmSync(join(dataDir, 'wal'), { recursive: true });
    fs.rmSync(join(dataDir, 'snapshots'), { recursive: true });
    const { records, summary } = await inspectLog(dataDir);
    expect(records).toEqual([]);
    expect(summary).toMatchObject({ segments: { count: 0, names: [], bytes: 0 }, firstIndex: null, promised: null, firstSlot: null, lastChosen: null });
    expect(await verifyLog(dataDir)).toEqual([]);
  });

  it('works while the data dir is locked by a running node, and takes no lock of its own', async () => {
    const { lockDataDir } = await import('../../../src/node/storage/lock.js');
    await writeSampleDataDir(dataDir);
    const release = await lockDataDir(dataDir, { log: () => undefined });
    try {
      const before = treeSnapshot(dataDir);
      expect((await inspectLog(dataDir)).records).toHaveLength(1 + sampleLogRecords.length);
      expect(await verifyLog(dataDir)).toEqual([]);
      expect([...treeSnapshot(dataDir).keys()]).toEqual([...before.keys()]);
    } finally {
      await release();
    }
  });
});
