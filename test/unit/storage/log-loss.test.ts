// A data dir that kept identity.json but lost wal/ must not vote on under its
// old incarnation (issue 12, scenario A, with a kept identity): the start-up
// decision, its crash windows, and what `paxos log inspect` shows.
import fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasErrors, inspectLog, renderSummary, verifyLog } from '../../../src/inspect/index.js';
import { clusterIdFor, ensureIdentity, markLogPresent, readIdentity, walSegmentsPresent } from '../../../src/node/storage/identity.js';
import { incarnationAtStart } from '../../../src/node/storage/log-mark.js';
import { WriteAheadLog } from '../../../src/node/storage/wal.js';
import { acceptRecord, temporaryDirectory } from './helpers.js';

let scratch: { dir: string; remove: () => void };
beforeEach(() => {
  scratch = temporaryDirectory();
});
afterEach(() => {
  scratch.remove();
});

const clusterId = clusterIdFor('paxos', [1, 2, 3]);
const expected = { nodeId: 1, clusterId, stateMachine: 'builtin:kv@1' };

/** What start-up does: identity, then the log (its first segment), then the mark; returns the incarnation it votes with. */
async function start(dir: string, records: Parameters<WriteAheadLog['append']>[0] = []): Promise<{ incarnation: string; logLost: string | null }> {
  const ensured = await ensureIdentity(dir, expected);
  const { wal } = await WriteAheadLog.open(dir, { fsync: 'always' });
  await markLogPresent(dir, ensured.identity);
  if (records.length > 0) await wal.append(records);
  await wal.close();
  return { incarnation: ensured.identity.incarnation as string, logLost: ensured.logLost };
}

describe('incarnationAtStart (the rule start-up and the simulation share)', () => {
  it('keeps the incarnation unless identity.json says it had a log and wal/ holds no segment', () => {
    expect(incarnationAtStart(null, false)).toEqual({ kind: 'create' });
    expect(incarnationAtStart({}, true)).toEqual({ kind: 'add-incarnation' });
    // Unmarked: the first start, or a crash before the mark; with or without the segment it never voted.
    expect(incarnationAtStart({ incarnation: 'a1' }, false)).toEqual({ kind: 'keep', markLog: true });
    expect(incarnationAtStart({ incarnation: 'a1' }, true)).toEqual({ kind: 'keep', markLog: true });
    expect(incarnationAtStart({ incarnation: 'a1', hasLog: true }, true)).toEqual({ kind: 'keep', markLog: false });
    expect(incarnationAtStart({ incarnation: 'a1', hasLog: true }, false)).toEqual({ kind: 'log-lost' });
  });
});

describe('a lost write-ahead log under a kept identity.json', () => {
  it('a restart with wal/ intact keeps the incarnation; wal/ deleted takes a new one, recorded, and marked again once the log is open', async () => {
    const first = await start(scratch.dir, [acceptRecord(1)]);
    expect((await readIdentity(scratch.dir))?.hasLog).toBe(true);
    expect(await start(scratch.dir)).toEqual({ incarnation: first.incarnation, logLost: null });

    fs.rmSync(join(scratch.dir, 'wal'), { recursive: true });
    const after = await start(scratch.dir);
    expect(after.logLost).toBe(first.incarnation);
    expect(after.incarnation).toMatch(/^[0-9a-f]{16}$/);
    expect(after.incarnation).not.toBe(first.incarnation);
    const identity = await readIdentity(scratch.dir);
    expect(identity).toMatchObject({ incarnation: after.incarnation, hasLog: true, replacedAfterLogLoss: { incarnation: first.incarnation } });
    // And the new incarnation is kept from then on.
    expect(await start(scratch.dir)).toEqual({ incarnation: after.incarnation, logLost: null });
  });

  it('an emptied wal/ (every segment gone, the directory kept) is a lost log too; an empty segment is not', async () => {
    const first = await start(scratch.dir);
    // The node never voted: its segment is empty, and it keeps its incarnation (issue 11's deadlock must not return).
    expect(fs.statSync(join(scratch.dir, 'wal', '0000000000000001.wal')).size).toBe(0);
    expect(await start(scratch.dir)).toEqual({ incarnation: first.incarnation, logLost: null });
    for (const name of fs.readdirSync(join(scratch.dir, 'wal'))) fs.rmSync(join(scratch.dir, 'wal', name));
    expect((await start(scratch.dir)).logLost).toBe(first.incarnation);
  });

  it('crash windows: before the first segment, or between the segment and the mark, the incarnation is kept', async () => {
    // identity.json written, then a crash before the log was opened: no segment, no mark.
    const created = await ensureIdentity(scratch.dir, expected);
    expect(await walSegmentsPresent(scratch.dir)).toBe(false);
    const again = await ensureIdentity(scratch.dir, expected);
    expect(again).toMatchObject({ logLost: null, identity: { incarnation: created.identity.incarnation } });
    // The segment created, then a crash before the mark.
    const { wal } = await WriteAheadLog.open(scratch.dir, { fsync: 'always' });
    await wal.close();
    expect((await readIdentity(scratch.dir))?.hasLog).toBeUndefined();
    expect(await start(scratch.dir)).toEqual({ incarnation: created.identity.incarnation, logLost: null });
  });

  it('a crash after the new incarnation is written and before its log is opened restarts as the new incarnation, not lost again', async () => {
    const first = await start(scratch.dir, [acceptRecord(1)]);
    fs.rmSync(join(scratch.dir, 'wal'), { recursive: true });
    const renewed = await ensureIdentity(scratch.dir, expected); // and the process dies here
    expect(renewed.logLost).toBe(first.incarnation);
    expect(await start(scratch.dir)).toEqual({ incarnation: renewed.identity.incarnation, logLost: null });
  });

  it('markLogPresent refuses to mark a dir whose wal/ holds no segment (the mark must follow the segment)', async () => {
    const { identity } = await ensureIdentity(scratch.dir, expected);
    await expect(markLogPresent(scratch.dir, identity)).rejects.toThrow(/holds no segment/);
    expect((await readIdentity(scratch.dir))?.hasLog).toBeUndefined();
  });

  it('paxos log inspect says the log is lost before the restart, and what happened after it', async () => {
    const first = await start(scratch.dir, [acceptRecord(1)]);
    expect((await inspectLog(scratch.dir)).summary).toMatchObject({ incarnation: first.incarnation, logLost: false, replacedAfterLogLoss: null });
    fs.rmSync(join(scratch.dir, 'wal'), { recursive: true });
    const before = (await inspectLog(scratch.dir)).summary;
    expect(before).toMatchObject({ incarnation: first.incarnation, logLost: true });
    expect(renderSummary(before).join('\n')).toMatch(new RegExp(`LOG LOST +identity.json says incarnation ${first.incarnation} had a write-ahead log, but wal/ holds no segment`));
    // --verify warns (the node will start, as a new incarnation) and does not fail.
    const verified = await verifyLog(scratch.dir);
    expect(hasErrors(verified)).toBe(false);
    expect(verified).toEqual([expect.objectContaining({ severity: 'warning', code: 'log_lost', file: 'identity.json', why: expect.stringContaining(`incarnation ${first.incarnation} is gone`) })]);
    const after = await start(scratch.dir);
    expect(await verifyLog(scratch.dir)).toEqual([]);
    const summary = (await inspectLog(scratch.dir)).summary;
    expect(summary).toMatchObject({ incarnation: after.incarnation, logLost: false, replacedAfterLogLoss: { incarnation: first.incarnation } });
    expect(renderSummary(summary).join('\n')).toMatch(new RegExp(`log lost +at .* incarnation ${first.incarnation} was found without its write-ahead log; this dir runs since as incarnation ${after.incarnation}`));
  });
});
