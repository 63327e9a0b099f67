// `paxos log inspect --diff` as a library: data dirs written by the real
// WriteAheadLog (the compacted sample, logs that hold more or fewer chosen
// slots, a copy with one chosen value changed), compared slot by slot.
import fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Value, WalRecord } from '../../../src/node/core/messages.js';
import { diffContents, diffDataDirs, distinguishingPreviews, InspectTargetError, readDataDir, renderDiff, renderRanges, runs, valuePreview } from '../../../src/inspect/index.js';
import { clusterIdFor, writeIdentity } from '../../../src/node/storage/identity.js';
import { temporaryDirectory } from '../storage/helpers.js';
import { kv, recordsAfterCheckpoint, recordsBeforeCheckpoint, sampleSnapshotSlot, treeSnapshot, writeLog, writeSampleDataDir } from './fixtures.js';

let scratch: { dir: string; remove: () => void };

beforeEach(() => {
  scratch = temporaryDirectory();
});

afterEach(() => scratch.remove());

function dir(name: string): string {
  return join(scratch.dir, name);
}

/** The chosen records of the sample data dir, by slot (1 and 2 are compacted into its snapshot). */
function sampleChosen(): Map<number, Value> {
  const chosen = new Map<number, Value>();
  for (const record of [...recordsBeforeCheckpoint, ...recordsAfterCheckpoint]) if (record.type === 'chosen') chosen.set(record.slot, record.value);
  return chosen;
}

/** A log of nothing but chosen records, one per slot given, with the sample's values unless `changed` says otherwise. */
async function writeChosen(name: string, slots: number[], changed: Map<number, Value> = new Map()): Promise<string> {
  const values = sampleChosen();
  const records: WalRecord[] = slots.map((slot) => ({ type: 'chosen', slot, value: changed.get(slot) ?? values.get(slot) ?? kv(['filler', slot, ['set', 'k', String(slot)]]) }));
  await writeLog(dir(name), records);
  return dir(name);
}

describe('diffDataDirs: agreement', () => {
  it('two copies of one data dir agree at every slot, and the snapshot is named', async () => {
    await writeSampleDataDir(dir('a'));
    fs.cpSync(dir('a'), dir('b'), { recursive: true });
    const result = await diffDataDirs([dir('a'), dir('b')]);
    expect(result.agree).toBe(true);
    expect(result.difference).toBeNull();
    expect(result.common).toEqual({ slots: 3, ranges: [{ from: 3, to: 5 }] });
    expect(result.partial).toEqual([]);
    expect(result.dirs[0]).toMatchObject({ dataDir: dir('a'), nodeId: 2, chosenSlots: 3, firstChosen: 3, lastChosen: 5, snapshotSlot: sampleSnapshotSlot, corrupt: null });
    expect(result.warnings).toEqual([]);
  });

  it('reports the slots only some dirs hold: below a snapshot, and not (yet) written', async () => {
    await writeSampleDataDir(dir('compacted'));
    const full = await writeChosen('full', [1, 2, 3, 4, 5]);
    const behind = await writeChosen('behind', [1, 2, 3, 4]);
    const result = await diffDataDirs([dir('compacted'), full, behind]);
    expect(result.agree).toBe(true);
    expect(result.common).toEqual({ slots: 2, ranges: [{ from: 3, to: 4 }] });
    expect(result.partial).toEqual([
      { from: 1, to: 2, heldBy: [full, behind], missing: [{ dataDir: dir('compacted'), why: 'snapshot', snapshotSlot: 2 }] },
      { from: 5, to: 5, heldBy: [dir('compacted'), full], missing: [{ dataDir: behind, why: 'no_chosen_record' }] },
    ]);
    expect(renderDiff(result).slice(-3)).toEqual([
      `agree: the chosen values are the same in all 3 data dirs at each of the 2 slots all of them hold: 3..4`,
      `only some hold 1..2: ${full}, ${behind} (${dir('compacted')}: covered by snapshot 2)`,
      `only some hold 5: ${dir('compacted')}, ${full} (${behind}: no chosen record)`,
    ]);
  });

  it('agrees, saying so, when no slot is held by every dir', async () => {
    const low = await writeChosen('low', [1, 2]);
    const high = await writeChosen('high', [3, 4]);
    const result = await diffDataDirs([low, high]);
    expect(result.agree).toBe(true);
    expect(result.common).toEqual({ slots: 0, ranges: [] });
    expect(renderDiff(result)).toContain('agree: no slot is held by both data dirs, so none could differ');
  });

  it('a value a checkpoint wrote twice is one value, not a disagreement', async () => {
    const twice = dir('twice');
    const value = kv(['c1', 1, ['set', 'x', '1']]);
    await writeLog(twice, [{ type: 'chosen', slot: 1, value }, { type: 'chosen', slot: 1, value }]);
    const once = dir('once');
    await writeLog(once, [{ type: 'chosen', slot: 1, value }]);
    expect((await diffDataDirs([twice, once])).agree).toBe(true);
  });
});

describe('diffDataDirs: differences', () => {
  it('names the first slot where the chosen values differ, with each dir value, and changes no byte', async () => {
    const changed = new Map([[4, kv(['c1', 5, ['incr', 'hits']], ['c3', 9, ['get', 'z']])]]);
    const good = await writeChosen('good', [3, 4, 5]);
    const bad = await writeChosen('bad', [3, 4, 5], new Map([...changed, [5, kv(['c9', 9, ['set', 'q', '9']])]]));
    const before = [treeSnapshot(good), treeSnapshot(bad)];
    const result = await diffDataDirs([good, bad]);
    expect(result.agree).toBe(false);
    expect(result.difference).toEqual({
      slot: 4,
      values: [
        { dataDir: good, preview: '2 cmds: c1#5 incr hits; c3#9 get y' },
        { dataDir: bad, preview: '2 cmds: c1#5 incr hits; c3#9 get z' },
      ],
    });
    const width = Math.max(good.length, bad.length);
    expect(renderDiff(result).slice(-4)).toEqual([
      'differ: slot 4 is the first where the chosen values differ',
      `  ${good.padEnd(width)}  2 cmds: c1#5 incr hits; c3#9 get y`,
      `  ${bad.padEnd(width)}  2 cmds: c1#5 incr hits; c3#9 get z`,
      'both data dirs hold 3 slots: 3..5',
    ]);
    expect([treeSnapshot(good), treeSnapshot(bad)]).toEqual(before);
  });

  it('finds a difference at a slot only some dirs hold, and one inside a single dir', async () => {
    const a = await writeChosen('a', [1, 2]);
    const b = await writeChosen('b', [2, 3], new Map([[3, kv(['x', 1, ['set', 'y', 'y']])]]));
    const c = dir('c');
    await writeLog(c, [
      { type: 'chosen', slot: 3, value: kv(['x', 1, ['set', 'y', 'y']]) },
      { type: 'chosen', slot: 3, value: kv(['x', 1, ['set', 'y', 'NOT']]) },
    ]);
    const result = await diffDataDirs([a, b, c]);
    expect(result.agree).toBe(false);
    expect(result.difference?.slot).toBe(3);
    expect(result.difference?.values).toEqual([
      { dataDir: b, preview: '1 cmd: x#1 set y y' },
      { dataDir: c, preview: 'its own chosen records differ: 1 cmd: x#1 set y y / 1 cmd: x#1 set y NOT' },
    ]);
  });

  it('tells apart values whose previews would look the same', () => {
    const many = Array.from({ length: 50 }, (_, i): [string, number, unknown] => ['client', i, ['set', `key${i}`, 'v']]);
    const other = many.map(([client, seq, op], i): [string, number, unknown] => (i === 30 ? [client, seq, ['set', 'key30', 'DIFFERENT']] : [client, seq, op]));
    const previews = distinguishingPreviews([kv(...many), kv(...other)]);
    expect(valuePreview(kv(...many))).toBe(valuePreview(kv(...other)));
    expect(previews[0]).not.toBe(previews[1]);
    expect(previews[0]).toContain('(from cmd 31: 20 cmds: client#30 set key30 v;');
    expect(previews[1]).toContain('(from cmd 31: 20 cmds: client#30 set key30 DIFFERENT;');
    // Different lengths already show in the count.
    expect(distinguishingPreviews([kv(...many), kv(...many.slice(0, 40))])).toEqual([valuePreview(kv(...many)), valuePreview(kv(...many.slice(0, 40)))]);
  });
});

describe('diffDataDirs: what it refuses and warns about', () => {
  it('refuses a missing dir, and fewer than two', async () => {
    const a = await writeChosen('a', [1]);
    await expect(diffDataDirs([a, dir('nope')])).rejects.toBeInstanceOf(InspectTargetError);
    expect(() => diffContents([{ label: a, contents: {} as never }])).toThrow(/at least two/);
  });

  it('warns about a corrupt log and about dirs of different clusters', async () => {
    const a = await writeChosen('a', [1, 2]);
    const b = await writeChosen('b', [1, 2]);
    await writeIdentity(a, { nodeId: 1, clusterId: clusterIdFor('paxos', [1, 2, 3]), createdAt: '2026-01-01T00:00:00.000Z' });
    await writeIdentity(b, { nodeId: 2, clusterId: clusterIdFor('other', [1, 2, 3]), createdAt: '2026-01-01T00:00:00.000Z' });
    const segment = join(b, 'wal', fs.readdirSync(join(b, 'wal'))[0]);
    const bytes = fs.readFileSync(segment);
    bytes[12] ^= 0x01;
    fs.writeFileSync(segment, bytes);
    const result = diffContents([
      { label: 'a', contents: await readDataDir(a) },
      { label: 'b', contents: await readDataDir(b) },
    ]);
    expect(result.dirs[1].corrupt).toMatchObject({ file: expect.stringMatching(/^wal\//), offset: 0 });
    expect(result.warnings).toEqual([
      expect.stringMatching(/^b: the log is corrupt at wal\/\d+\.wal:0; its records after that were not read/),
      expect.stringContaining('belong to 2 different clusters'),
    ]);
  });
});

describe('slot ranges', () => {
  it('groups consecutive slots and cuts long lists', () => {
    expect(runs([1, 2, 3, 7, 9, 10])).toEqual([
      { from: 1, to: 3 },
      { from: 7, to: 7 },
      { from: 9, to: 10 },
    ]);
    expect(renderRanges(runs([1, 2, 3, 7, 9, 10]))).toBe('1..3, 7, 9..10');
    const sparse = runs(Array.from({ length: 12 }, (_, i) => i * 2));
    expect(renderRanges(sparse)).toBe('0, 2, 4, 6, 8, 10, 12, 14 and 4 more ranges');
  });
});
