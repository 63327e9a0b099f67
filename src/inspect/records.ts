// The records of `paxos log inspect`: every log record and snapshot file of a
// data dir as one line of plain data (file, offset, type, ballot, slot, value
// preview), filtered by slot range and type; and the reads the command makes
// (list, check, or compare several dirs). Reading is src/node/storage/
// data-dir.ts's, the summary log-summary.ts's, the check log-check.ts's.
import type { Slot } from '../node/core/messages.js';
import { ballotToString } from '../node/core/messages.js';
import type { DataDirContents, PlacedRecord, SnapshotFile } from '../node/storage/data-dir.js';
import { placedRecords, readDataDir } from '../node/storage/data-dir.js';
import type { LogProblem } from '../node/storage/log-check.js';
import { checkLog } from '../node/storage/log-check.js';
import type { LogEntryType, LogSummary } from '../node/storage/log-summary.js';
import { summariseContents } from '../node/storage/log-summary.js';
import { diffContents, type DiffResult } from './diff.js';
import { clip, valuePreview } from './preview.js';

export type InspectRecordType = LogEntryType;

/** In the order the table lists them and `--type` documents them. */
export const inspectRecordTypes: readonly InspectRecordType[] = Object.freeze(['promise', 'accept', 'chosen', 'rebuild', 'snapshot']);

export interface InspectFilter {
  /** Keep records whose slot is at least this; records without a slot are dropped unless `types` names them. */
  fromSlot?: Slot;
  toSlot?: Slot;
  types?: ReadonlySet<InspectRecordType>;
}

/** One line of `paxos log inspect`: a log record, or a snapshot file. */
export interface InspectedRecord {
  /** Path relative to the data dir: `wal/0000000000000001.wal`, `snapshots/0000000000000040.snap`. */
  file: string;
  /** Byte offset of the record's header in its file (0 for a snapshot). */
  offset: number;
  /** The record's number in the log, from 1 across segments (absent for snapshots). */
  index?: number;
  type: InspectRecordType;
  /** `round.node`, for promise and accept records. */
  ballot?: string;
  slot?: Slot;
  preview: string;
  /** Snapshots only: the file's size. */
  bytes?: number;
  /** Snapshots only: whether the file passes its checksum and format checks. */
  checksum?: 'ok' | 'bad';
}

export interface InspectResult {
  records: InspectedRecord[];
  summary: LogSummary;
}

/** Lists the records of the log in `dataDir` (and its snapshots) with a summary. Read-only. */
export async function inspectLog(dataDir: string, filter: InspectFilter = {}): Promise<InspectResult> {
  return inspectContents(await readDataDir(dataDir), filter);
}

/** Every problem in the data dir: damage, broken invariants, and (as warnings) a torn tail. Read-only. */
export async function verifyLog(dataDir: string): Promise<LogProblem[]> {
  return verifyContents(await readDataDir(dataDir));
}

/** The records matching `filter` (snapshots first: they hold the slots before the log) and a summary of the whole log. */
export function inspectContents(contents: DataDirContents, filter: InspectFilter = {}): InspectResult {
  const placed = placedRecords(contents.scan);
  const entries = [...contents.snapshots.map(snapshotEntry), ...placed.map(recordEntry)];
  return { records: entries.filter((entry) => matchesFilter(entry, filter)), summary: summariseContents(contents) };
}

/** Every problem found in `contents`, in file and offset order, values shown as previews. Errors make `--verify` fail; warnings do not. */
export function verifyContents(contents: DataDirContents): LogProblem[] {
  return checkLog(contents, valuePreview);
}

function recordEntry(placed: PlacedRecord): InspectedRecord {
  const { file, offset, index, record } = placed;
  switch (record.type) {
    case 'promise':
      return { file, offset, index, type: 'promise', ballot: ballotToString(record.ballot), preview: '' };
    case 'accept':
      return { file, offset, index, type: 'accept', ballot: ballotToString(record.ballot), slot: record.slot, preview: valuePreview(record.value) };
    case 'chosen':
      return { file, offset, index, type: 'chosen', slot: record.slot, preview: valuePreview(record.value) };
    case 'rebuild':
      return { file, offset, index, type: 'rebuild', preview: `old rebuild record (${record.done ? 'done' : 'begun'}), ignored` };
    case 'bootstrap_view':
      return { file, offset, index, type: 'bootstrap_view', preview: `heard before founding: ${record.view.map((e) => `${e.id}:${e.incarnation}`).join(', ')}` };
    case 'membership': {
      const last = record.state.epochs[record.state.epochs.length - 1];
      const voters = last.config.voters.map((m) => m.id).join(',');
      const learners = last.config.learners.map((m) => m.id).join(',');
      return { file, offset, index, type: 'membership', preview: `through slot ${record.state.throughSlot}: voters ${voters}${learners === '' ? '' : `, learners ${learners}`} from slot ${last.fromSlot}` };
    }
  }
}

function snapshotEntry(snapshot: SnapshotFile): InspectedRecord {
  const checksum = snapshot.problem === null ? 'ok' : 'bad';
  const preview = snapshot.problem === null ? `state up to slot ${snapshot.slot}, ${snapshot.bytes} bytes` : clip(`BAD: ${snapshot.problem}`);
  return { file: snapshot.file, offset: 0, type: 'snapshot', slot: snapshot.slot, preview, bytes: snapshot.bytes, checksum };
}

function matchesFilter(entry: InspectedRecord, filter: InspectFilter): boolean {
  if (filter.types !== undefined && !filter.types.has(entry.type)) return false;
  if (filter.fromSlot === undefined && filter.toSlot === undefined) return true;
  // Promise and rebuild records concern no slot: a slot range hides them unless --type asks for them.
  if (entry.slot === undefined) return filter.types !== undefined;
  return entry.slot >= (filter.fromSlot ?? 1) && entry.slot <= (filter.toSlot ?? Number.MAX_SAFE_INTEGER);
}

/** Reads each data dir (read-only, no lock) and compares their chosen values; `labels` are shown as given. */
export async function diffDataDirs(labels: readonly string[]): Promise<DiffResult> {
  const dirs: { label: string; contents: DataDirContents }[] = [];
  for (const label of labels) dirs.push({ label, contents: await readDataDir(label) });
  return diffContents(dirs);
}
