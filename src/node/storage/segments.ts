// Segment files and a read-only scan of a whole log. `WriteAheadLog.open` scans
// and then repairs; `paxos log inspect` scans only (it takes no lock and must
// never change a running node's files).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WalRecord } from '../core/messages.js';
import { errorCode } from './errors.js';
import type { Corruption, ScannedRecord, TornTail } from './record.js';
import { scanSegment } from './record.js';

/** The log lives in this subdirectory of the data dir. */
export const walDirectoryName = 'wal';

/** Digits in a segment name: 16 covers every safe integer index. */
const segmentNameDigits = 16;
const segmentNamePattern = /^(\d{16})\.wal$/;
/** Copies of cut torn tails: `<segment>.broken`, `<segment>.broken.2`, ... */
const brokenNamePattern = /^\d{16}\.wal\.broken(\.\d+)?$/;

export function walDirectory(dataDir: string): string {
  return join(dataDir, walDirectoryName);
}

/** A segment is named by the index (from 1) of its first record, e.g. 0000000000000001.wal. */
export function segmentFileName(firstIndex: number): string {
  if (!Number.isSafeInteger(firstIndex) || firstIndex < 1) throw new Error(`segment index must be a positive integer, got ${firstIndex}`);
  return `${String(firstIndex).padStart(segmentNameDigits, '0')}.wal`;
}

export function parseSegmentFileName(name: string): number | null {
  const match = segmentNamePattern.exec(name);
  if (match === null) return null;
  const index = Number(match[1]);
  return Number.isSafeInteger(index) && index >= 1 ? index : null;
}

export interface ScannedSegment {
  /** File name inside the wal directory. */
  file: string;
  path: string;
  /** Index of the segment's first record (its name). */
  firstIndex: number;
  /** File size on disk when scanned. */
  bytes: number;
  records: ScannedRecord[];
}

export interface LogScan {
  walDir: string;
  /** Segments in index order, up to and including the one where a problem was found. */
  segments: ScannedSegment[];
  /** A torn final record of the last segment: safe to cut (open() does, inspect only reports). */
  torn: TornTail | null;
  /** Damage anywhere else: the log cannot be trusted past this point. */
  corrupt: Corruption | null;
  /** Files in the wal directory that are neither segments nor `.broken` copies. */
  unexpectedFiles: string[];
}

/** Reads and checks every segment of the log in `dataDir`. Changes nothing on disk. */
export async function scanLog(dataDir: string): Promise<LogScan> {
  const walDir = walDirectory(dataDir);
  const listing = await listWalDirectory(walDir);
  const scan: LogScan = { walDir, segments: [], torn: null, corrupt: null, unexpectedFiles: listing.unexpected };
  // After compaction the log starts at the checkpoint segment, not at record 1;
  // from there on, segments must follow each other without a gap.
  let expectedIndex = listing.segments[0]?.firstIndex ?? 1;
  for (let position = 0; position < listing.segments.length; position += 1) {
    const { file, firstIndex } = listing.segments[position];
    if (firstIndex !== expectedIndex) {
      scan.corrupt = { file, offset: 0, why: gapReason(firstIndex, expectedIndex) };
      return scan;
    }
    const isLast = position === listing.segments.length - 1;
    const done = await scanOneSegment(scan, { file, firstIndex, isLast });
    if (done) return scan;
    expectedIndex = firstIndex + scan.segments[scan.segments.length - 1].records.length;
  }
  return scan;
}

/** Scans one segment into `scan`; returns true when a problem ends the scan. */
async function scanOneSegment(scan: LogScan, segment: { file: string; firstIndex: number; isLast: boolean }): Promise<boolean> {
  const path = join(scan.walDir, segment.file);
  const bytes = await readFile(path);
  // Alone: a chosen_accepted record names an accept of its own segment (wal.ts).
  const result = scanSegment(bytes, segment.file);
  scan.segments.push({ file: segment.file, path, firstIndex: segment.firstIndex, bytes: bytes.length, records: result.records });
  if (result.corrupt !== null) {
    scan.corrupt = result.corrupt;
    return true;
  }
  if (result.torn === null) return false;
  // Only the last segment can be torn: a newer segment exists only after the
  // older one was complete and synced, so a bad end elsewhere is damage.
  if (segment.isLast) scan.torn = result.torn;
  else scan.corrupt = { file: segment.file, offset: result.torn.offset, why: `${result.torn.why} in a segment that is not the last` };
  return true;
}

function gapReason(firstIndex: number, expectedIndex: number): string {
  return `segment starts at record ${firstIndex} but the previous segment ends before record ${expectedIndex}: a segment is missing or was renamed`;
}

async function listWalDirectory(walDir: string): Promise<{ segments: { file: string; firstIndex: number }[]; unexpected: string[] }> {
  let names: string[];
  try {
    names = await readdir(walDir);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { segments: [], unexpected: [] };
    throw error;
  }
  const segments: { file: string; firstIndex: number }[] = [];
  const unexpected: string[] = [];
  for (const name of names.sort()) {
    const firstIndex = parseSegmentFileName(name);
    if (firstIndex !== null) segments.push({ file: name, firstIndex });
    else if (!brokenNamePattern.test(name)) unexpected.push(name);
  }
  segments.sort((a, b) => a.firstIndex - b.firstIndex);
  return { segments, unexpected };
}

/** The records of a scan in log order. */
export function recordsOf(scan: LogScan): WalRecord[] {
  const records: WalRecord[] = [];
  for (const segment of scan.segments) {
    for (const scanned of segment.records) records.push(scanned.record);
  }
  return records;
}
