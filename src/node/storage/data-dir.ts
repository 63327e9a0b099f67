// Reading a data dir for the offline tools (`paxos log inspect`, its --verify
// and --diff): the write-ahead log, the snapshots and the identity, read once,
// without taking the lock or changing a byte. A running node may be appending,
// compacting or pruning meanwhile: its half-written last record shows as a torn
// tail, and a file that vanishes between listing and reading is skipped.
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Slot, WalRecord, WalRecordType } from '../core/messages.js';
import { CorruptSnapshotError, errorCode, IdentityError } from './errors.js';
import { identityFileName, readIdentity } from './identity.js';
import type { ScannedRecord } from './record.js';
import type { LogScan } from './segments.js';
import { parseSegmentFileName, scanLog, walDirectory, walDirectoryName } from './segments.js';
import type { SnapshotListing } from './snapshot.js';
import { decodeSnapshot, listSnapshotDirectory, snapshotBytesMax, snapshotDirectoryName } from './snapshot.js';

/**
 * Scans of a live node's log: compaction deletes old segments, so a segment can
 * vanish between listing the directory and reading it. Scanning again sees the
 * new, compacted log; a node compacts at most once per snapshot interval.
 */
const scanAttemptsMax = 3;

/** The target of an inspection is not a data dir; the message says what was found. */
export class InspectTargetError extends Error {
  readonly code: 'DATA_DIR_MISSING' | 'NOT_A_DATA_DIR';

  constructor(code: 'DATA_DIR_MISSING' | 'NOT_A_DATA_DIR', message: string) {
    super(message);
    this.name = 'InspectTargetError';
    this.code = code;
  }
}

/** One snapshot file, read and checked. */
export interface SnapshotFile {
  /** Relative to the data dir: `snapshots/0000000000000040.snap`. */
  file: string;
  slot: Slot;
  bytes: number;
  /** Why the file fails its checks, or null when it is sound. */
  problem: string | null;
}

export type IdentityStatus =
  | {
      kind: 'ok';
      nodeId: number;
      clusterId: string;
      incarnation: string | null;
      /** identity.json marks this incarnation as having had a log (log-mark.ts). */
      hasLog: boolean;
      replacedAfterLogLoss: { incarnation: string; at: string } | null;
    }
  | { kind: 'missing' }
  | { kind: 'invalid'; why: string };

/** Everything read from a data dir, once; listing, summarising and checking are pure functions of it. */
export interface DataDirContents {
  dataDir: string;
  scan: LogScan;
  /** Every segment file in wal/, with its size: the scan stops at the first damaged one. */
  segmentFiles: { file: string; bytes: number }[];
  snapshots: SnapshotFile[];
  /** Names in snapshots/ that are not snapshots: temporaries left by a crash mid-snapshot, and anything else. */
  snapshotTemporaries: string[];
  snapshotUnexpected: string[];
  identity: IdentityStatus;
}

/** A log record with where it lives. */
export interface PlacedRecord {
  /** Relative to the data dir: `wal/0000000000000001.wal`. */
  file: string;
  /** Byte offset of the record's header in its file. */
  offset: number;
  /** The record's number in the log, from 1 across segments. */
  index: number;
  record: WalRecord;
  /** Inside the leading records of a segment that a compaction may have re-written (see checkpointLength). */
  mayBeCheckpoint: boolean;
}

/** Reads the log, the snapshots and the identity of `dataDir` without locking or changing anything. */
export async function readDataDir(dataDir: string): Promise<DataDirContents> {
  await checkDataDir(dataDir);
  // The log first: a snapshot is written before the checkpoint that compacts the
  // log, so listing snapshots second cannot miss the one a compacted log needs.
  const scan = await scanSettledLog(dataDir);
  const segmentFiles = await listSegmentFiles(dataDir);
  const directory = await listSnapshotDirectory(dataDir);
  const snapshots = await readSnapshotFiles(directory.snapshots);
  return {
    dataDir,
    scan,
    segmentFiles,
    snapshots,
    snapshotTemporaries: directory.temporaries,
    snapshotUnexpected: directory.unexpected,
    identity: await readIdentityStatus(dataDir),
  };
}

async function checkDataDir(dataDir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dataDir);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') throw new InspectTargetError('DATA_DIR_MISSING', `${dataDir}: no such directory`);
    if (code === 'ENOTDIR') throw new InspectTargetError('NOT_A_DATA_DIR', `${dataDir} is a file, not a data dir (give the node's --data-dir)`);
    throw error;
  }
  if ([walDirectoryName, snapshotDirectoryName, identityFileName].some((name) => names.includes(name))) return;
  if (names.some((name) => parseSegmentFileName(name) !== null)) {
    const parent = dirname(resolve(dataDir));
    throw new InspectTargetError('NOT_A_DATA_DIR', `${dataDir} looks like the wal directory itself; give the data dir that holds it (${parent})`);
  }
  throw new InspectTargetError(
    'NOT_A_DATA_DIR',
    `${dataDir} is not a paxos data dir: it has no ${walDirectoryName}/, ${snapshotDirectoryName}/ or ${identityFileName} (give the node's --data-dir)`,
  );
}

async function scanSettledLog(dataDir: string): Promise<LogScan> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await scanLog(dataDir);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT' || attempt >= scanAttemptsMax) throw error;
    }
  }
}

async function listSegmentFiles(dataDir: string): Promise<{ file: string; bytes: number }[]> {
  let names: string[];
  try {
    names = await readdir(walDirectory(dataDir));
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return [];
    throw error;
  }
  const files: { file: string; bytes: number }[] = [];
  // Zero-padded names sort in index order.
  for (const name of names.filter((entry) => parseSegmentFileName(entry) !== null).sort()) {
    const bytes = await fileSize(join(walDirectory(dataDir), name));
    if (bytes !== null) files.push({ file: `${walDirectoryName}/${name}`, bytes });
  }
  return files;
}

/** Null when the file vanished: a running node deletes compacted segments. */
async function fileSize(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw error;
  }
}

async function readSnapshotFiles(listings: SnapshotListing[]): Promise<SnapshotFile[]> {
  const files: SnapshotFile[] = [];
  for (const listing of listings) {
    const file = await readSnapshotFile(listing);
    if (file !== null) files.push(file);
  }
  return files;
}

/** Null when the file vanished since the listing: a running node prunes old snapshots. */
async function readSnapshotFile(listing: SnapshotListing): Promise<SnapshotFile | null> {
  const file = `${snapshotDirectoryName}/${listing.file}`;
  try {
    const size = (await stat(listing.path)).size;
    // The node refuses a larger snapshot, so reading one into memory would only hurt.
    if (size > snapshotBytesMax) return { file, slot: listing.slot, bytes: size, problem: `${size} bytes exceeds snapshotBytesMax (${snapshotBytesMax})` };
    const bytes = await readFile(listing.path);
    return { file, slot: listing.slot, bytes: bytes.length, problem: snapshotProblem(bytes, listing) };
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw error;
  }
}

function snapshotProblem(bytes: Buffer, listing: SnapshotListing): string | null {
  try {
    const snapshot = decodeSnapshot(bytes, listing.file);
    return snapshot.slot === listing.slot ? null : `holds slot ${snapshot.slot}, not the slot ${listing.slot} in its name`;
  } catch (error) {
    if (error instanceof CorruptSnapshotError) return error.why;
    throw error;
  }
}

async function readIdentityStatus(dataDir: string): Promise<IdentityStatus> {
  try {
    const identity = await readIdentity(dataDir);
    if (identity === null) return { kind: 'missing' };
    return {
      kind: 'ok',
      nodeId: identity.nodeId,
      clusterId: identity.clusterId,
      incarnation: identity.incarnation ?? null,
      hasLog: identity.hasLog === true,
      replacedAfterLogLoss: identity.replacedAfterLogLoss ?? null,
    };
  } catch (error) {
    if (error instanceof IdentityError) return { kind: 'invalid', why: error.message };
    throw error;
  }
}

/** The records of a scan in log order, with file, offset and record number. */
export function placedRecords(scan: LogScan): PlacedRecord[] {
  const placed: PlacedRecord[] = [];
  for (const segment of scan.segments) {
    const file = `${walDirectoryName}/${segment.file}`;
    const checkpointEnd = segment.firstIndex === 1 ? 0 : checkpointLength(segment.records);
    segment.records.forEach((scanned, position) => {
      placed.push({ file, offset: scanned.offset, index: segment.firstIndex + position, record: scanned.record, mayBeCheckpoint: position < checkpointEnd });
    });
  }
  return placed;
}

/**
 * A compaction writes a checkpoint at the head of a fresh segment: [rebuild
 * (not done)], the current promise, the values accepted above the snapshot (at
 * whatever ballots they were accepted, so below that promise), then the chosen
 * values. Nothing marks where it ends, so this counts the longest head of the
 * segment shaped `[rebuild] promise accept*` (the chosen records after it need
 * no exemption): accepts there are exempt from "accept >= promise".
 * Counting too much only skips a check; counting too little would accuse a
 * healthy checkpoint. The first segment of a log (record 1) never holds a
 * checkpoint with accepts: one lands there only when the log was empty, and
 * then the acceptor had promised and accepted nothing.
 */
function checkpointLength(records: ScannedRecord[]): number {
  let position = 0;
  const isAt = (type: WalRecordType): boolean => records[position]?.record.type === type;
  const head = records[0]?.record;
  if (head?.type === 'rebuild' && !head.done) position += 1;
  if (isAt('promise')) {
    position += 1;
    while (isAt('accept')) position += 1;
  }
  return position;
}
