import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Value, WalRecord } from '../../../src/node/core/messages.js';
import { CorruptLogError, WalClosedError, WalFailedError } from '../../../src/node/storage/errors.js';
import { encodeRecord, scanSegment } from '../../../src/node/storage/record.js';
import { recordsOf, scanLog } from '../../../src/node/storage/segments.js';
import type { FsyncPolicy, StorageLogLevel } from '../../../src/node/storage/wal.js';
import { WriteAheadLog } from '../../../src/node/storage/wal.js';
import { acceptRecord, normalise, sampleRecords, segmentFiles, temporaryDirectory } from './helpers.js';

let scratch: { dir: string; remove: () => void };
let openLogs: WriteAheadLog[] = [];

beforeEach(() => {
  scratch = temporaryDirectory();
});

afterEach(async () => {
  await Promise.all(openLogs.map((wal) => wal.close().catch(() => undefined)));
  openLogs = [];
  scratch.remove();
});

async function openLog(dir: string, fsync: FsyncPolicy = 'always', segmentBytesMax?: number) {
  const result = await WriteAheadLog.open(dir, { fsync, segmentBytesMax });
  openLogs.push(result.wal);
  return result;
}

/** Writes `records` through a real log, closes it, and returns the segment's bytes and record offsets. */
async function writeSegment(dir: string, records: WalRecord[]): Promise<{ path: string; bytes: Buffer; offsets: number[] }> {
  const { wal } = await openLog(dir);
  await wal.append(records);
  await wal.close();
  const path = join(dir, 'wal', '0000000000000001.wal');
  const offsets: number[] = [];
  let offset = 0;
  for (const record of records) {
    offsets.push(offset);
    offset += encodeRecord(record).length;
  }
  return { path, bytes: fs.readFileSync(path), offsets };
}

describe('WriteAheadLog: recovery', () => {
  it('creates dir/wal/ with a first segment on first open', async () => {
    const dir = join(scratch.dir, 'new', 'n1');
    const { records, warnings, wal } = await openLog(dir);
    expect(records).toEqual([]);
    expect(warnings).toEqual([]);
    expect(segmentFiles(dir)).toEqual(['0000000000000001.wal']);
    expect(wal.segmentCount()).toBe(1);
    expect(wal.sizeBytes()).toBe(0);
  });

  it.each<FsyncPolicy>(['always', 'batch', 'never'])('round-trips every record type across a restart (fsync=%s)', async (policy) => {
    const first = await openLog(scratch.dir, policy);
    const records = sampleRecords();
    await first.wal.append(records.slice(0, 2));
    await first.wal.append(records.slice(2));
    await first.wal.close();
    const second = await openLog(scratch.dir, policy);
    expect(normalise(second.records)).toEqual(normalise(records));
    expect(second.wal.sizeBytes()).toBe(fs.statSync(join(scratch.dir, 'wal', '0000000000000001.wal')).size);
    // Appending after recovery continues the same log.
    await second.wal.append([acceptRecord(99)]);
    await second.wal.close();
    const third = await openLog(scratch.dir, policy);
    expect(third.records).toHaveLength(records.length + 1);
    expect(third.records[records.length]).toEqual(acceptRecord(99));
  });

  it('rolls to a new segment named by its first record index once a segment passes segmentBytesMax', async () => {
    const segmentBytesMax = 300;
    const { wal } = await openLog(scratch.dir, 'always', segmentBytesMax);
    const records = Array.from({ length: 40 }, (_unused, index) => acceptRecord(index + 1));
    for (const record of records) await wal.append([record]);
    const files = segmentFiles(scratch.dir);
    expect(files.length).toBeGreaterThan(3);
    expect(wal.segmentCount()).toBe(files.length);
    const total = files.reduce((sum, file) => sum + fs.statSync(join(scratch.dir, 'wal', file)).size, 0);
    expect(wal.sizeBytes()).toBe(total);
    await wal.close();

    const scan = await scanLog(scratch.dir);
    let index = 1;
    for (const segment of scan.segments) {
      expect(segment.file).toBe(`${String(index).padStart(16, '0')}.wal`);
      // A segment is closed at the first append after it reached the limit: one record of overshoot at most.
      expect(segment.bytes).toBeLessThan(segmentBytesMax + encodeRecord(records[0]).length + 10);
      index += segment.records.length;
    }
    const reopened = await openLog(scratch.dir, 'always', segmentBytesMax);
    expect(reopened.records).toEqual(records);
    expect(reopened.wal.segmentCount()).toBe(files.length);
  });

  it('refuses a log with a missing segment, naming the file', async () => {
    const { wal } = await openLog(scratch.dir, 'always', 200);
    for (let slot = 1; slot <= 30; slot += 1) await wal.append([acceptRecord(slot)]);
    await wal.close();
    const files = segmentFiles(scratch.dir);
    fs.rmSync(join(scratch.dir, 'wal', files[1]));
    const error = await WriteAheadLog.open(scratch.dir, { fsync: 'always' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CorruptLogError);
    expect((error as CorruptLogError).file).toBe(join(scratch.dir, 'wal', files[2]));
    expect((error as CorruptLogError).message).toMatch(/segment is missing/);
  });
});

describe('WriteAheadLog: torn tails', () => {
  it('cuts a final record torn at every byte offset, keeps a .broken copy, and keeps the earlier records', async () => {
    const records = [acceptRecord(1), { type: 'promise', ballot: { round: 2, node: 1 } } as WalRecord, acceptRecord(2)];
    const { bytes, offsets } = await writeSegment(join(scratch.dir, 'source'), records);
    const lastStart = offsets[offsets.length - 1];
    for (let cut = lastStart + 1; cut < bytes.length; cut += 1) {
      const dir = join(scratch.dir, `cut-${cut}`);
      fs.mkdirSync(join(dir, 'wal'), { recursive: true });
      const path = join(dir, 'wal', '0000000000000001.wal');
      fs.writeFileSync(path, bytes.subarray(0, cut));

      const { wal, records: recovered, warnings } = await openLog(dir);
      expect(recovered).toEqual(records.slice(0, -1));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`cut ${cut - lastStart} bytes`);
      expect(warnings[0]).toContain('0000000000000001.wal.broken');
      expect(fs.statSync(path).size).toBe(lastStart);
      expect(fs.readFileSync(`${path}.broken`)).toEqual(bytes.subarray(lastStart, cut));

      // The log goes on from the cut, and the next restart is clean.
      await wal.append([acceptRecord(3)]);
      await wal.close();
      const again = await openLog(dir);
      expect(again.warnings).toEqual([]);
      expect(again.records).toEqual([...records.slice(0, -1), acceptRecord(3)]);
    }
  });

  it('cuts a zero-filled tail and numbers a second .broken copy', async () => {
    const { path } = await writeSegment(scratch.dir, [acceptRecord(1)]);
    fs.appendFileSync(path, Buffer.alloc(512));
    const first = await openLog(scratch.dir);
    expect(first.warnings[0]).toMatch(/zero-filled/);
    await first.wal.close();
    fs.appendFileSync(path, Buffer.alloc(8));
    const second = await openLog(scratch.dir);
    expect(second.warnings[0]).toContain('.broken.2');
    expect(second.records).toEqual([acceptRecord(1)]);
  });

  it('logs what it repaired through the log option', async () => {
    const { path } = await writeSegment(scratch.dir, [acceptRecord(1)]);
    fs.appendFileSync(path, Buffer.from([0, 0, 0]));
    const lines: { level: StorageLogLevel; msg: string }[] = [];
    const { wal } = await WriteAheadLog.open(scratch.dir, { fsync: 'never', log: (level, msg) => lines.push({ level, msg }) });
    openLogs.push(wal);
    expect(lines.filter((line) => line.level === 'warn').map((line) => line.msg)).toEqual([
      expect.stringMatching(/truncated a torn final record/),
      expect.stringMatching(/fsync=never/),
    ]);
  });
});

describe('WriteAheadLog: corruption', () => {
  it('refuses to start on a flipped bit in any earlier record, naming file and offset, changing nothing', async () => {
    const records = [acceptRecord(1), { type: 'promise', ballot: { round: 5, node: 2 } } as WalRecord, acceptRecord(2), acceptRecord(3)];
    const { bytes, offsets } = await writeSegment(join(scratch.dir, 'source'), records);
    for (let recordIndex = 0; recordIndex < records.length - 1; recordIndex += 1) {
      const start = offsets[recordIndex];
      const end = offsets[recordIndex + 1];
      for (let position = start; position < end; position += 1) {
        const dir = join(scratch.dir, `flip-${position}`);
        fs.mkdirSync(join(dir, 'wal'), { recursive: true });
        const path = join(dir, 'wal', '0000000000000001.wal');
        const damaged = Buffer.from(bytes);
        damaged[position] ^= 1 << position % 8;
        fs.writeFileSync(path, damaged);

        const error = await WriteAheadLog.open(dir, { fsync: 'always' }).catch((caught: unknown) => caught);
        expect(error, `flip at byte ${position}`).toBeInstanceOf(CorruptLogError);
        const corrupt = error as CorruptLogError;
        expect(corrupt.code).toBe('WAL_CORRUPT');
        expect(corrupt.file).toBe(path);
        expect(corrupt.offset, `flip at byte ${position}`).toBe(start);
        expect(corrupt.message).toContain(`${path} at byte offset ${start}`);
        expect(corrupt.message).toMatch(/restore this node from its peers/);
        expect(fs.readFileSync(path)).toEqual(damaged);
        expect(fs.readdirSync(join(dir, 'wal'))).toEqual(['0000000000000001.wal']);
      }
    }
  });

  it('refuses a damaged end of a segment that is not the last', async () => {
    const { wal } = await openLog(scratch.dir, 'always', 100);
    for (let slot = 1; slot <= 10; slot += 1) await wal.append([acceptRecord(slot)]);
    await wal.close();
    const files = segmentFiles(scratch.dir);
    const path = join(scratch.dir, 'wal', files[0]);
    const size = fs.statSync(path).size;
    fs.truncateSync(path, size - 3);
    const error = await WriteAheadLog.open(scratch.dir, { fsync: 'always' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CorruptLogError);
    expect((error as CorruptLogError).file).toBe(path);
    expect((error as CorruptLogError).why).toMatch(/not the last/);
  });
});

describe('WriteAheadLog: appends and fsync policies', () => {
  it('batch: group-commits appends made while an fsync is in flight, resolving them in order', async () => {
    const { wal } = await openLog(scratch.dir, 'batch');
    const resolved: number[] = [];
    const appends = Array.from({ length: 200 }, (_unused, index) => wal.append([acceptRecord(index + 1)]).then(() => resolved.push(index + 1)));
    await Promise.all(appends);
    expect(resolved).toEqual(Array.from({ length: 200 }, (_unused, index) => index + 1));
    const stats = wal.stats();
    expect(stats.fsyncs).toBeGreaterThan(0);
    expect(stats.fsyncs).toBeLessThan(200);
    expect(stats.recordsWritten).toBe(200);
    expect(stats.bytesWritten).toBe(wal.sizeBytes());
    expect(stats.fsyncMicrosTotal).toBeGreaterThanOrEqual(stats.lastFsyncMicros);
    await wal.close();
    const reopened = await openLog(scratch.dir, 'batch');
    expect(reopened.records).toEqual(Array.from({ length: 200 }, (_unused, index) => acceptRecord(index + 1)));
  });

  it('always: fsyncs every append on its own', async () => {
    const { wal } = await openLog(scratch.dir, 'always');
    await Promise.all(Array.from({ length: 20 }, (_unused, index) => wal.append([acceptRecord(index + 1)])));
    expect(wal.stats().fsyncs).toBe(20);
  });

  it('tells onFsync the time of every fsync, as its counters count them', async () => {
    const times: number[] = [];
    const { wal } = await WriteAheadLog.open(scratch.dir, { fsync: 'always', onFsync: (micros) => times.push(micros) });
    await Promise.all(Array.from({ length: 5 }, (_unused, index) => wal.append([acceptRecord(index + 1)])));
    const stats = wal.stats();
    expect(times).toHaveLength(stats.fsyncs);
    expect(times.reduce((sum, micros) => sum + micros, 0)).toBe(stats.fsyncMicrosTotal);
    expect(times.at(-1)).toBe(stats.lastFsyncMicros);
    await wal.close();
  });

  it('never: writes without fsync, and fsyncs once at close', async () => {
    const { wal } = await openLog(scratch.dir, 'never');
    await Promise.all(Array.from({ length: 20 }, (_unused, index) => wal.append([acceptRecord(index + 1)])));
    expect(wal.stats().fsyncs).toBe(0);
    await wal.close();
    expect(wal.stats().fsyncs).toBe(1);
    expect((await openLog(scratch.dir)).records).toHaveLength(20);
  });

  it('resolves an empty append after the appends before it', async () => {
    const { wal } = await openLog(scratch.dir, 'batch');
    const order: string[] = [];
    const first = wal.append([acceptRecord(1)]).then(() => order.push('first'));
    const empty = wal.append([]).then(() => order.push('empty'));
    await Promise.all([first, empty]);
    expect(order).toEqual(['first', 'empty']);
  });

  it('rejects an invalid record without writing any of its call, and goes on', async () => {
    const { wal } = await openLog(scratch.dir);
    const bad = { type: 'chosen', slot: 0, value: { commands: [] } } as WalRecord;
    await expect(wal.append([acceptRecord(1), bad])).rejects.toThrow(/refusing to write/);
    await wal.append([acceptRecord(2)]);
    await wal.close();
    expect((await openLog(scratch.dir)).records).toEqual([acceptRecord(2)]);
  });

  it('flushes pending appends on close and refuses appends after it', async () => {
    const { wal } = await openLog(scratch.dir, 'batch');
    const pending = Array.from({ length: 10 }, (_unused, index) => wal.append([acceptRecord(index + 1)]));
    const closed = wal.close();
    await expect(wal.append([acceptRecord(11)])).rejects.toBeInstanceOf(WalClosedError);
    await Promise.all(pending);
    await closed;
    await wal.close();
    expect((await openLog(scratch.dir)).records).toHaveLength(10);
  });

  it('refuses every append after a failed write (fsyncgate)', async () => {
    const { wal } = await openLog(scratch.dir, 'batch');
    await wal.append([acceptRecord(1)]);
    // Pull the file out from under the log so the next write fails with EBADF.
    const internals = wal as unknown as { segment: { handle: FileHandle } };
    await internals.segment.handle.close();
    const failed = wal.append([acceptRecord(2)]);
    const queued = wal.append([acceptRecord(3)]);
    await expect(failed).rejects.toBeInstanceOf(WalFailedError);
    await expect(queued).rejects.toMatchObject({ code: 'WAL_FAILED' });
    await expect(wal.append([acceptRecord(4)])).rejects.toMatchObject({ code: 'WAL_FAILED' });
    await expect(wal.close()).rejects.toMatchObject({ code: 'WAL_FAILED' });
  });
});

describe('WriteAheadLog: --fsync batch lingers', () => {
  const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
  const lingering = async (options: { batchLingerMs: number; batchBytesMax?: number }, events: string[] = []) => {
    const result = await WriteAheadLog.open(scratch.dir, { fsync: 'batch', ...options, onFsync: () => events.push('fsync') });
    openLogs.push(result.wal);
    return result.wal;
  };

  it('appends made within the linger share one fsync, where without it each has its own', async () => {
    for (const batchLingerMs of [0, 200]) {
      scratch.remove();
      scratch = temporaryDirectory();
      const wal = await lingering({ batchLingerMs });
      const appends: Promise<void>[] = [];
      for (let index = 1; index <= 5; index += 1) {
        appends.push(wal.append([acceptRecord(index)]));
        await sleep(10);
      }
      await Promise.all(appends);
      // Ten milliseconds apart, each append finds the previous fsync done unless the linger holds the batch open.
      if (batchLingerMs === 0) expect(wal.stats().fsyncs).toBeGreaterThan(1);
      else expect(wal.stats().fsyncs).toBe(1);
      expect(wal.stats().recordsWritten).toBe(5);
    }
  });

  it('resolves none of them before their fsync, nor before the linger is up', async () => {
    const events: string[] = [];
    const wal = await lingering({ batchLingerMs: 150 }, events);
    const started = performance.now();
    const appends = Array.from({ length: 4 }, (_unused, index) => wal.append([acceptRecord(index + 1)]).then(() => events.push(`resolved ${index + 1}`)));
    await sleep(40);
    expect(events).toEqual([]);
    expect(wal.stats().recordsWritten).toBe(0);
    await Promise.all(appends);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(events).toEqual(['fsync', 'resolved 1', 'resolved 2', 'resolved 3', 'resolved 4']);
  });

  it('does not linger after a batch of one append: appends come one at a time, and nobody would join', async () => {
    const wal = await lingering({ batchLingerMs: 400 });
    let started = performance.now();
    await wal.append([acceptRecord(1)]);
    // The first lingers (as if others were writing) and finds itself alone.
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
    started = performance.now();
    await wal.append([acceptRecord(2)]);
    expect(performance.now() - started).toBeLessThan(200);
    // Two together make the next one linger again.
    await Promise.all([wal.append([acceptRecord(3)]), wal.append([acceptRecord(4)])]);
    started = performance.now();
    await wal.append([acceptRecord(5)]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
    expect(wal.stats().recordsWritten).toBe(5);
  });

  it('stops lingering once batchBytesMax are queued', async () => {
    const wal = await lingering({ batchLingerMs: 5_000, batchBytesMax: 1 });
    const started = performance.now();
    await wal.append([acceptRecord(1)]);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(wal.stats().fsyncs).toBe(1);
  });

  it('writes what is queued at once on close rather than wait out the linger', async () => {
    const wal = await lingering({ batchLingerMs: 5_000 });
    const started = performance.now();
    const appended = wal.append([acceptRecord(1)]);
    await wal.close();
    await appended;
    expect(performance.now() - started).toBeLessThan(2_000);
    expect((await openLog(scratch.dir)).records).toEqual([acceptRecord(1)]);
  });

  it('rejects every append of the batch when its fsync fails, and every later one', async () => {
    const events: string[] = [];
    const wal = await lingering({ batchLingerMs: 50 }, events);
    const internals = wal as unknown as { segment: { handle: FileHandle } };
    internals.segment.handle.datasync = () => Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, (_unused, index) => wal.append([acceptRecord(index + 1)])));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(6).fill('rejected'));
    for (const outcome of outcomes) expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(WalFailedError);
    expect(events).toEqual([]);
    await expect(wal.append([acceptRecord(7)])).rejects.toMatchObject({ code: 'WAL_FAILED' });
  });
});

type AcceptRecord = Extract<WalRecord, { type: 'accept' }>;

describe('WriteAheadLog: a chosen record names the accept it repeats (chosen_accepted)', () => {
  const value = (slot: number) => ({ commands: Array.from({ length: 20 }, (_, i) => ({ client: `c${i}`, seq: slot, op: ['set', `key-${i}`, 'v'.repeat(64)] })) });
  const accept = (slot: number, v = value(slot), round = 1): WalRecord => ({ type: 'accept', slot, ballot: { round, node: 1 }, value: v });
  const chosen = (slot: number, v: Value): WalRecord => ({ type: 'chosen', slot, value: v });

  /** The type byte of every record in the segments of `dir`, in log order. */
  function typeCodes(dir: string): number[] {
    const codes: number[] = [];
    for (const file of segmentFiles(dir)) {
      const bytes = fs.readFileSync(join(dir, 'wal', file));
      for (let offset = 0; offset < bytes.length; offset += 9 + bytes.readUInt32BE(offset)) codes.push(bytes[offset + 8]);
    }
    return codes;
  }

  it('writes the chosen record of a value the log just accepted as a reference of a few bytes, which reads back with the value', async () => {
    const a = accept(5);
    const { wal } = await openLog(scratch.dir);
    await wal.append([a]);
    const before = wal.sizeBytes();
    await wal.appendLazily([chosen(5, (a as AcceptRecord).value)]);
    expect(wal.sizeBytes() - before).toBeLessThan(24);
    await wal.close();
    expect(typeCodes(scratch.dir)).toEqual([2, 8]);
    const { records } = await openLog(scratch.dir);
    expect(records).toEqual([a, { type: 'chosen', slot: 5, value: value(5) }]);
  });

  it('writes the value whole when it is another object (however equal), another slot\'s, or the slot\'s accept is older than the open', async () => {
    const a = accept(1) as AcceptRecord;
    const first = await openLog(scratch.dir);
    await first.wal.append([a, accept(2), chosen(1, structuredClone(a.value)), chosen(2, a.value)]);
    await first.wal.close();
    const second = await openLog(scratch.dir);
    await second.wal.append([chosen(1, (second.records[0] as AcceptRecord).value)]);
    await second.wal.close();
    expect(typeCodes(scratch.dir)).toEqual([2, 2, 3, 3, 3]);
    expect((await openLog(scratch.dir)).records.slice(2).map((r) => (r as { slot: number }).slot)).toEqual([1, 2, 1]);
  });

  it('names only the slot\'s last accept, and never one in another segment, so any suffix of segments reads alone', async () => {
    const { wal } = await openLog(scratch.dir, 'always', 2048);
    const one = accept(1) as AcceptRecord;
    const old = accept(4, value(4), 1) as AcceptRecord;
    const newer = accept(4, value(400), 2) as AcceptRecord;
    await wal.append([one, accept(2), accept(3)]);
    // This append starts the second segment: slot 1's accept is in the first.
    await wal.append([old, newer, chosen(1, one.value), chosen(4, old.value)]);
    const five = accept(5) as AcceptRecord;
    await wal.appendLazily([five]); // starts the third segment
    await wal.append([chosen(5, five.value)]);
    await wal.close();
    expect(segmentFiles(scratch.dir)).toHaveLength(3);
    expect(typeCodes(scratch.dir)).toEqual([2, 2, 2, 2, 2, 3, 3, 2, 8]);
    const { records } = await openLog(scratch.dir, 'always', 2048);
    expect(records.slice(5)).toEqual([chosen(1, value(1)), chosen(4, value(4)), five, chosen(5, value(5))]);
    // A crash in the middle of a compaction deletes the oldest segments first: what is left still reads.
    fs.unlinkSync(join(scratch.dir, 'wal', segmentFiles(scratch.dir)[0]));
    const scan = await scanLog(scratch.dir);
    expect(scan.corrupt).toBeNull();
    expect(recordsOf(scan)).toHaveLength(6);
  });

  it('starts each segment with nothing to name under every policy, whatever the batching', async () => {
    for (const policy of ['always', 'batch', 'never'] as const) {
      const dir = join(scratch.dir, policy);
      const { wal } = await openLog(dir, policy, 4096);
      const appends: Promise<void>[] = [];
      for (let slot = 1; slot <= 60; slot += 1) {
        const a = accept(slot) as AcceptRecord;
        appends.push(slot % 3 === 0 ? wal.appendLazily([a]) : wal.append([a]));
        appends.push(wal.appendLazily([chosen(slot, a.value)]));
      }
      await Promise.all(appends);
      await wal.close();
      const files = segmentFiles(dir);
      expect(files.length).toBeGreaterThan(10);
      for (const file of files) expect(scanSegment(fs.readFileSync(join(dir, 'wal', file)), file).corrupt).toBeNull();
      const codes = typeCodes(dir);
      expect(codes.filter((code) => code === 8).length).toBeGreaterThan(30);
      expect((await openLog(dir, policy, 4096)).records).toHaveLength(120);
    }
  });

  it('after a checkpoint names only what the checkpoint and later appends wrote: the older segments are deleted', async () => {
    const { wal } = await openLog(scratch.dir);
    const before = accept(1) as AcceptRecord;
    const kept = accept(2) as AcceptRecord;
    await wal.append([before]);
    await wal.checkpoint([kept, chosen(2, kept.value)]);
    await wal.append([chosen(1, before.value)]);
    await wal.close();
    expect(typeCodes(scratch.dir)).toEqual([2, 8, 3]);
    const { records } = await openLog(scratch.dir);
    expect(records).toEqual([kept, { type: 'chosen', slot: 2, value: value(2) }, { type: 'chosen', slot: 1, value: value(1) }]);
  });

  it('forgets what a refused append noted, so nothing later names an accept that was never written', async () => {
    const { wal } = await openLog(scratch.dir);
    const a = accept(1) as AcceptRecord;
    await expect(wal.append([a, { type: 'accept', slot: 0, ballot: { round: 1, node: 1 }, value: { commands: [] } }])).rejects.toThrow(/invalid WAL record/);
    await wal.append([chosen(1, a.value)]);
    await wal.close();
    expect(typeCodes(scratch.dir)).toEqual([3]);
    expect((await openLog(scratch.dir)).records).toEqual([{ type: 'chosen', slot: 1, value: value(1) }]);
  });
});
