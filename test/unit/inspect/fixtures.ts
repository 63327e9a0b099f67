// Data dirs for the inspect tests, written with the real WriteAheadLog: a log
// holding records of every type, rolled over several segments and compacted
// once (so it starts above record 1, with a checkpoint at its head), beside a
// snapshot and an identity.
import fs from 'node:fs';
import { join } from 'node:path';
import type { Ballot, Value, WalRecord } from '../../../src/node/core/messages.js';
import { clusterIdFor, writeIdentity } from '../../../src/node/storage/identity.js';
import { encodeSnapshot, writeSnapshot } from '../../../src/node/storage/snapshot.js';
import { WriteAheadLog } from '../../../src/node/storage/wal.js';

export const sampleClusterId = clusterIdFor('paxos', [1, 2, 3]);

export function ballot(round: number, node: number): Ballot {
  return { round, node };
}

export function kv(...commands: [client: string, seq: number, op: unknown][]): Value {
  return { commands: commands.map(([client, seq, op]) => ({ client, seq, op })) };
}

export const setY: Value = kv(['c2', 1, ['set', 'y', '2']]);

/** Written before the compaction (and deleted by it). */
export const recordsBeforeCheckpoint: WalRecord[] = [
  { type: 'promise', ballot: ballot(1, 2) },
  { type: 'accept', slot: 1, ballot: ballot(1, 2), value: kv(['c1', 4, ['set', 'x', '1']]) },
  { type: 'chosen', slot: 1, value: kv(['c1', 4, ['set', 'x', '1']]) },
  { type: 'accept', slot: 2, ballot: ballot(1, 2), value: { commands: [] } },
  { type: 'chosen', slot: 2, value: { commands: [] } },
  { type: 'accept', slot: 3, ballot: ballot(1, 2), value: setY },
  { type: 'promise', ballot: ballot(2, 3) },
];

/** What the node re-writes at the head of a fresh segment after its snapshot at slot 2: the accept stays at its old, lower ballot. */
export const checkpointRecords: WalRecord[] = [
  { type: 'rebuild', done: false },
  { type: 'promise', ballot: ballot(2, 3) },
  { type: 'accept', slot: 3, ballot: ballot(1, 2), value: setY },
];

export const recordsAfterCheckpoint: WalRecord[] = [
  { type: 'accept', slot: 3, ballot: ballot(2, 3), value: setY },
  { type: 'chosen', slot: 3, value: setY },
  { type: 'rebuild', done: true },
  { type: 'accept', slot: 4, ballot: ballot(2, 3), value: kv(['c1', 5, ['incr', 'hits']], ['c3', 9, ['get', 'y']]) },
  { type: 'chosen', slot: 4, value: kv(['c1', 5, ['incr', 'hits']], ['c3', 9, ['get', 'y']]) },
  { type: 'promise', ballot: ballot(3, 1) },
  { type: 'accept', slot: 5, ballot: ballot(3, 1), value: kv(['c4', 1, { blob: new Uint8Array([1, 2, 3]), note: 'hello world' }]) },
  { type: 'chosen', slot: 5, value: kv(['c4', 1, { blob: new Uint8Array([1, 2, 3]), note: 'hello world' }]) },
];

/** Every record the finished sample log holds, in order. */
export const sampleLogRecords: WalRecord[] = [...checkpointRecords, ...recordsAfterCheckpoint];
/** The number of the first record left after compaction. */
export const sampleFirstIndex = recordsBeforeCheckpoint.length + 1;
export const sampleSnapshotSlot = 2;
/** Small enough that the log spans several segments, both before and after the checkpoint. */
export const sampleSegmentBytesMax = 120;

/** Writes the sample data dir into `dir` (which must be empty or missing). */
export async function writeSampleDataDir(dir: string): Promise<void> {
  await writeIdentity(dir, { nodeId: 2, clusterId: sampleClusterId, createdAt: '2026-01-01T00:00:00.000Z' });
  const { wal } = await WriteAheadLog.open(dir, { fsync: 'always', segmentBytesMax: sampleSegmentBytesMax });
  for (const record of recordsBeforeCheckpoint) await wal.append([record]);
  const state = new Uint8Array([9, 9, 9]);
  await writeSnapshot(dir, sampleSnapshotSlot, encodeSnapshot({ slot: sampleSnapshotSlot, appliedDigest: 'digest-2', state }));
  await wal.checkpoint(checkpointRecords);
  for (const record of recordsAfterCheckpoint) await wal.append([record]);
  await wal.close();
}

/** Appends `records` one call each to a fresh log in `dir` (no snapshot, no identity). */
export async function writeLog(dir: string, records: WalRecord[], segmentBytesMax?: number): Promise<void> {
  const { wal } = await WriteAheadLog.open(dir, { fsync: 'always', segmentBytesMax });
  for (const record of records) await wal.append([record]);
  await wal.close();
}

/** Every file under `dir` with its bytes, to show that something changed nothing. */
export function treeSnapshot(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const name of fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    const path = join(dir, name);
    if (fs.statSync(path).isFile()) files.set(name, fs.readFileSync(path));
  }
  return files;
}

export function segmentNames(dir: string): string[] {
  return fs
    .readdirSync(join(dir, 'wal'))
    .filter((name) => name.endsWith('.wal'))
    .sort();
}
