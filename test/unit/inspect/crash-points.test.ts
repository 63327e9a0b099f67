// The crash-point test of issue 3: for a log holding records of every type
// (compacted once, over several segments), cut the last segment at every byte
// of its final record, and flip a bit in every byte of every earlier record.
// A cut is a torn tail: start-up recovers every earlier record, unchanged, and
// verify warns only. A flipped bit is corruption: start-up refuses, verify
// names the record's file and offset, and neither changes a byte.
import fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorruptLogError } from '../../../src/node/storage/errors.js';
import type { InspectedRecord } from '../../../src/inspect/index.js';
import { inspectLog, verifyLog } from '../../../src/inspect/index.js';
import { WriteAheadLog } from '../../../src/node/storage/wal.js';
import { normalise, temporaryDirectory } from '../storage/helpers.js';
import { sampleLogRecords, treeSnapshot, writeSampleDataDir } from './fixtures.js';

let scratch: { dir: string; remove: () => void };
let pristineDir: string;
let pristine: Map<string, Buffer>;
let logRecords: InspectedRecord[];

beforeAll(async () => {
  scratch = temporaryDirectory();
  pristineDir = join(scratch.dir, 'pristine');
  await writeSampleDataDir(pristineDir);
  pristine = treeSnapshot(pristineDir);
  logRecords = (await inspectLog(pristineDir)).records.filter((record) => record.type !== 'snapshot');
  // The premise: every type, several segments, a compacted start.
  expect(new Set(logRecords.map((record) => record.type))).toEqual(new Set(['promise', 'accept', 'chosen', 'rebuild']));
  expect(new Set(logRecords.map((record) => record.file)).size).toBeGreaterThan(1);
  expect(logRecords[0].index).toBeGreaterThan(1);
});

afterAll(() => scratch.remove());

/** A fresh copy of the sample data dir. */
function copyOfSample(name: string): string {
  const dir = join(scratch.dir, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(pristineDir, dir, { recursive: true });
  return dir;
}

/** Opens the log as a restarting node would, and closes it again. */
async function recover(dir: string): Promise<{ records: unknown; warnings: string[] }> {
  const { wal, records, warnings } = await WriteAheadLog.open(dir, { fsync: 'always' });
  await wal.close();
  return { records: normalise(records), warnings };
}

/** Byte ranges [start, end) of each record in its file. */
function extentOf(record: InspectedRecord): { start: number; end: number } {
  const next = logRecords[logRecords.indexOf(record) + 1];
  const end = next !== undefined && next.file === record.file ? next.offset : (pristine.get(record.file)?.length ?? 0);
  return { start: record.offset, end };
}

describe('crash points: a torn final record', () => {
  const earlier = normalise(sampleLogRecords.slice(0, -1));

  it.each(['cut', 'cut and zero-filled'])('recovers to the previous record at every byte of the final record (%s)', async (how) => {
    const final = logRecords[logRecords.length - 1];
    const { start, end } = extentOf(final);
    const original = pristine.get(final.file) ?? Buffer.alloc(0);
    expect(end).toBe(original.length);
    for (let cut = start; cut < end; cut += 1) {
      const dir = copyOfSample('torn');
      const path = join(dir, final.file);
      // A crash mid-write leaves the file short, or (on some file systems) its right length with zeros at the end.
      const damaged = how === 'cut' ? original.subarray(0, cut) : Buffer.concat([original.subarray(0, cut), Buffer.alloc(end - cut)]);
      fs.writeFileSync(path, damaged);
      const before = treeSnapshot(dir);

      const problems = await verifyLog(dir);
      const torn = how === 'cut' && cut === start ? [] : [{ severity: 'warning', code: 'torn_tail', file: final.file, offset: start, why: expect.any(String) }];
      expect(problems, `cut at ${cut}`).toEqual(torn);
      expect(treeSnapshot(dir), 'verify changes nothing').toEqual(before);

      const recovered = await recover(dir);
      expect(recovered.records, `cut at ${cut}`).toEqual(earlier);
      expect(recovered.warnings).toHaveLength(torn.length);
      expectOnlyTailCut(dir, final.file, start, damaged.subarray(start));
      expect(await verifyLog(dir), 'clean after recovery').toEqual([]);
    }
  });
});

/** Every file but `file` is as it was; `file` ends at `start`; the cut bytes, if any, are in a .broken copy. */
function expectOnlyTailCut(dir: string, file: string, start: number, cutBytes: Buffer): void {
  const after = treeSnapshot(dir);
  const expected = new Map(pristine);
  expected.set(file, (pristine.get(file) ?? Buffer.alloc(0)).subarray(0, start));
  if (cutBytes.length > 0) expected.set(`${file}.broken`, cutBytes);
  expect(new Map([...after].sort()), `after cutting ${file} at ${start}`).toEqual(new Map([...expected].sort()));
}

describe('crash points: a flipped bit in an earlier record', () => {
  it('refuses to start and names the record, changing nothing, for every byte of every earlier record', async () => {
    const dir = copyOfSample('flipped');
    let flips = 0;
    for (const record of logRecords.slice(0, -1)) {
      const original = pristine.get(record.file) ?? Buffer.alloc(0);
      const { start, end } = extentOf(record);
      for (let position = start; position < end; position += 1) {
        const damaged = Buffer.from(original);
        // Each byte gets a different bit, so every bit position is exercised across a record.
        damaged[position] ^= 1 << (position % 8);
        fs.writeFileSync(join(dir, record.file), damaged);
        await expectRefusedAndNamed(dir, record, position);
        flips += 1;
      }
      fs.writeFileSync(join(dir, record.file), original);
    }
    const logBytes = [...pristine].filter(([name]) => name.startsWith('wal/')).reduce((total, [, bytes]) => total + bytes.length, 0);
    const finalBytes = extentOf(logRecords[logRecords.length - 1]);
    expect(flips).toBe(logBytes - (finalBytes.end - finalBytes.start));
  });
});

async function expectRefusedAndNamed(dir: string, record: InspectedRecord, position: number): Promise<void> {
  const where = `bit flipped at ${record.file}:${position} (record at ${record.offset})`;
  const before = treeSnapshot(dir);
  const refusal = await WriteAheadLog.open(dir, { fsync: 'always' }).then(
    async ({ wal }) => {
      await wal.close();
      return null;
    },
    (error: unknown) => error,
  );
  expect(refusal, where).toBeInstanceOf(CorruptLogError);
  expect(refusal, where).toMatchObject({ file: join(dir, record.file), offset: record.offset });
  const problems = await verifyLog(dir);
  expect(problems, where).toEqual([{ severity: 'error', code: 'corrupt_record', file: record.file, offset: record.offset, why: expect.any(String) }]);
  expect(treeSnapshot(dir), `${where}: nothing changed`).toEqual(before);
}
