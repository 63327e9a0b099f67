// `paxos log inspect` as a library: reads a data dir's write-ahead log and
// snapshots without taking the lock or changing a byte, lists the records,
// summarises the log, and checks it (every checksum, and the acceptor's
// invariants). A running node may be appending meanwhile: its half-written last
// record shows as a torn tail, which is a warning, never corruption.
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Ballot, Command, Slot, Value, WalRecord, WalRecordType } from '../core/messages.js';
import { ballotToString, compareBallots } from '../core/messages.js';
import { CorruptSnapshotError, errorCode, IdentityError } from './errors.js';
import { identityFileName, readIdentity } from './identity.js';
import type { Corruption, ScannedRecord, TornTail } from './record.js';
import type { LogScan } from './segments.js';
import { parseSegmentFileName, scanLog, walDirectory, walDirectoryName } from './segments.js';
import type { SnapshotListing } from './snapshot.js';
import { decodeSnapshot, listSnapshotDirectory, snapshotBytesMax, snapshotDirectoryName } from './snapshot.js';

export type InspectRecordType = WalRecordType | 'snapshot';

/** In the order the table lists them and `--type` documents them. */
export const inspectRecordTypes: readonly InspectRecordType[] = Object.freeze(['promise', 'accept', 'chosen', 'rebuild', 'snapshot']);

/** A preview is a hint, not the value: long enough to recognise a command, short enough for one line. */
export const previewCharsMax = 60;
/** Elements of an array or object a preview renders before it gives up (a batch may hold thousands). */
const previewItemsMax = 8;
/** Nesting a preview follows into an opaque state-machine command. */
const previewDepthMax = 4;
/**
 * Scans of a live node's log: compaction deletes old segments, so a segment can
 * vanish between listing the directory and reading it. Scanning again sees the
 * new, compacted log; a node compacts at most once per snapshot interval.
 */
const scanAttemptsMax = 3;

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

export interface LogSummary {
  dataDir: string;
  /** From identity.json; null when it is missing or damaged (see `identityProblem`). */
  identity: { nodeId: number; clusterId: string } | null;
  identityProblem: string | null;
  /** Every segment file in wal/, including any after a damaged one. */
  segments: { count: number; names: string[]; bytes: number };
  /** Record numbers of the first and last readable record; the first is above 1 after compaction. */
  firstIndex: number | null;
  lastIndex: number | null;
  counts: Record<InspectRecordType, number>;
  /** The promise in effect: the highest ballot of any promise or accept record. */
  promised: string | null;
  /** Lowest and highest slot of any accept or chosen record. */
  firstSlot: Slot | null;
  lastSlot: Slot | null;
  /** Highest slot known chosen: from chosen records, or the latest sound snapshot if higher. */
  lastChosen: Slot | null;
  latestSnapshot: { file: string; slot: Slot; checksum: 'ok' | 'bad' } | null;
  /** The last rebuild record says the node is still rebuilding (not voting). */
  rebuilding: boolean;
  torn: TornTail | null;
  corrupt: Corruption | null;
  /**
   * Files the node does not use: in wal/, neither segments nor `.broken` copies; in
   * snapshots/, not snapshots (temporaries of a crash mid-snapshot, which the node deletes at start, or strays).
   */
  unexpectedFiles: string[];
}

export interface InspectResult {
  records: InspectedRecord[];
  summary: LogSummary;
}

export type ProblemSeverity = 'error' | 'warning';

export type ProblemCode =
  | 'corrupt_record'
  | 'torn_tail'
  | 'promise_decreased'
  | 'accept_below_promise'
  | 'accept_conflict'
  | 'chosen_changed'
  | 'snapshot_corrupt'
  | 'snapshot_missing'
  | 'unexpected_file'
  | 'identity_invalid';

export interface LogProblem {
  /** An error means the data dir cannot be trusted; a warning is expected after a crash or harmless. */
  severity: ProblemSeverity;
  code: ProblemCode;
  /** Relative to the data dir, like InspectedRecord.file. */
  file: string;
  offset: number;
  why: string;
}

/** The target of an inspection is not a data dir; the message says what was found. */
export class InspectTargetError extends Error {
  readonly code: 'DATA_DIR_MISSING' | 'NOT_A_DATA_DIR';

  constructor(code: 'DATA_DIR_MISSING' | 'NOT_A_DATA_DIR', message: string) {
    super(message);
    this.name = 'InspectTargetError';
    this.code = code;
  }
}

interface SnapshotFile {
  file: string;
  slot: Slot;
  bytes: number;
  /** Why the file fails its checks, or null when it is sound. */
  problem: string | null;
}

type IdentityStatus = { kind: 'ok'; nodeId: number; clusterId: string } | { kind: 'missing' } | { kind: 'invalid'; why: string };

/** Everything read from a data dir, once; inspection and verification are pure functions of it. */
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
interface PlacedRecord {
  file: string;
  offset: number;
  index: number;
  record: WalRecord;
  /** Inside the leading records of a segment that a compaction may have re-written (see checkpointLength). */
  mayBeCheckpoint: boolean;
}

// ---- reading ---------------------------------------------------------------

/** Lists the records of the log in `dataDir` (and its snapshots) with a summary. Read-only. */
export async function inspectLog(dataDir: string, filter: InspectFilter = {}): Promise<InspectResult> {
  return inspectContents(await readDataDir(dataDir), filter);
}

/** Every problem in the data dir: damage, broken invariants, and (as warnings) a torn tail. Read-only. */
export async function verifyLog(dataDir: string): Promise<LogProblem[]> {
  return verifyContents(await readDataDir(dataDir));
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
    return identity === null ? { kind: 'missing' } : { kind: 'ok', nodeId: identity.nodeId, clusterId: identity.clusterId };
  } catch (error) {
    if (error instanceof IdentityError) return { kind: 'invalid', why: error.message };
    throw error;
  }
}

// ---- inspecting ------------------------------------------------------------

/** The records matching `filter` (snapshots first: they hold the slots before the log) and a summary of the whole log. */
export function inspectContents(contents: DataDirContents, filter: InspectFilter = {}): InspectResult {
  const placed = placedRecords(contents.scan);
  const entries = [...contents.snapshots.map(snapshotEntry), ...placed.map(recordEntry)];
  return { records: entries.filter((entry) => matchesFilter(entry, filter)), summary: summarise(contents, placed) };
}

/** The summary alone (what `--verify` prints), without rendering every record. */
export function summariseContents(contents: DataDirContents): LogSummary {
  return summarise(contents, placedRecords(contents.scan));
}

/** The records of a scan in log order, with file, offset and record number. */
function placedRecords(scan: LogScan): PlacedRecord[] {
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
      return { file, offset, index, type: 'rebuild', preview: record.done ? 'rebuilt: voting again' : 'rebuilding: not voting' };
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

// ---- previews --------------------------------------------------------------

/** `2 cmds: c1#4 set x 1; c2#9 get y`, cut to previewCharsMax; `no-op` for the empty batch a new leader fills holes with. */
export function valuePreview(value: Value): string {
  const count = value.commands.length;
  if (count === 0) return 'no-op';
  let text = `${count} ${count === 1 ? 'cmd' : 'cmds'}: `;
  // Stops early: only the first few commands of a large batch can show.
  for (let position = 0; position < count && text.length <= previewCharsMax; position += 1) {
    text += `${position === 0 ? '' : '; '}${commandPreview(value.commands[position])}`;
  }
  return clip(text);
}

function commandPreview(command: Command): string {
  return `${wordPreview(command.client)}#${command.seq} ${opPreview(command.op)}`;
}

/** The built-in store's commands are arrays of words: show them as typed (`set x 1`); anything else as compact JSON. */
function opPreview(op: unknown): string {
  if (Array.isArray(op) && op.length > 0 && op.every((word) => typeof word === 'string' || typeof word === 'number')) {
    return withEllipsis(op.slice(0, previewItemsMax).map(wordPreview), op.length).join(' ');
  }
  return JSON.stringify(previewable(op, 0)) ?? String(op);
}

/** A word that would break the line (spaces, control characters, quotes) or vanish (empty) is quoted. */
function wordPreview(word: string | number): string {
  if (typeof word === 'number') return String(word);
  return /^[^\s"\\\p{C}]+$/u.test(word) ? clip(word) : clip(JSON.stringify(word));
}

/** A JSON-able stand-in for an opaque value, bounded in size: bytes become `<n bytes>`, long lists are cut. */
function previewable(value: unknown, depth: number): unknown {
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return clip(value);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= previewDepthMax) return '…';
  if (Array.isArray(value)) return withEllipsis(value.slice(0, previewItemsMax).map((item: unknown) => previewable(item, depth + 1)), value.length);
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  return Object.fromEntries(entries.slice(0, previewItemsMax).map(([key, item]: [unknown, unknown]) => [String(key), previewable(item, depth + 1)]));
}

/** Marks a list cut to previewItemsMax items, so a preview never looks complete when it is not. */
function withEllipsis<T>(items: T[], lengthBefore: number): (T | string)[] {
  return lengthBefore > items.length ? [...items, '…'] : items;
}

function clip(text: string): string {
  return text.length <= previewCharsMax ? text : `${text.slice(0, previewCharsMax - 1)}…`;
}

// ---- summary ---------------------------------------------------------------

function summarise(contents: DataDirContents, placed: PlacedRecord[]): LogSummary {
  const { scan } = contents;
  const latest = contents.snapshots[contents.snapshots.length - 1];
  const latestSnapshot = latest === undefined ? null : { file: latest.file, slot: latest.slot, checksum: latest.problem === null ? ('ok' as const) : ('bad' as const) };
  const slots = slotRange(placed);
  const soundSnapshotSlot = latestSnapshot?.checksum === 'ok' ? latestSnapshot.slot : null;
  return {
    dataDir: contents.dataDir,
    ...identitySummary(contents.identity),
    segments: segmentsSummary(contents.segmentFiles),
    firstIndex: placed[0]?.index ?? null,
    lastIndex: placed[placed.length - 1]?.index ?? null,
    counts: countByType(placed, contents.snapshots.length),
    promised: promisedBallot(placed),
    firstSlot: slots.first,
    lastSlot: slots.last,
    lastChosen: maxOrNull([slots.lastChosen, soundSnapshotSlot]),
    latestSnapshot,
    rebuilding: isRebuilding(placed),
    torn: scan.torn === null ? null : { ...scan.torn, file: `${walDirectoryName}/${scan.torn.file}` },
    corrupt: scan.corrupt === null ? null : { ...scan.corrupt, file: `${walDirectoryName}/${scan.corrupt.file}` },
    unexpectedFiles: [
      ...scan.unexpectedFiles.map((name) => `${walDirectoryName}/${name}`),
      ...[...contents.snapshotTemporaries, ...contents.snapshotUnexpected].sort().map((name) => `${snapshotDirectoryName}/${name}`),
    ],
  };
}

function segmentsSummary(files: { file: string; bytes: number }[]): LogSummary['segments'] {
  return { count: files.length, names: files.map((segment) => segment.file), bytes: sum(files.map((segment) => segment.bytes)) };
}

function identitySummary(identity: IdentityStatus): Pick<LogSummary, 'identity' | 'identityProblem'> {
  if (identity.kind === 'ok') return { identity: { nodeId: identity.nodeId, clusterId: identity.clusterId }, identityProblem: null };
  return { identity: null, identityProblem: identity.kind === 'invalid' ? identity.why : null };
}

function countByType(placed: PlacedRecord[], snapshots: number): Record<InspectRecordType, number> {
  const counts: Record<InspectRecordType, number> = { promise: 0, accept: 0, chosen: 0, rebuild: 0, snapshot: snapshots };
  for (const { record } of placed) counts[record.type] += 1;
  return counts;
}

function promisedBallot(placed: PlacedRecord[]): string | null {
  let highest: Ballot | null = null;
  for (const { record } of placed) {
    if ((record.type === 'promise' || record.type === 'accept') && (highest === null || compareBallots(record.ballot, highest) > 0)) highest = record.ballot;
  }
  return highest === null ? null : ballotToString(highest);
}

function slotRange(placed: PlacedRecord[]): { first: Slot | null; last: Slot | null; lastChosen: Slot | null } {
  let first: Slot | null = null;
  let last: Slot | null = null;
  let lastChosen: Slot | null = null;
  for (const { record } of placed) {
    if (record.type !== 'accept' && record.type !== 'chosen') continue;
    first = Math.min(first ?? record.slot, record.slot);
    last = Math.max(last ?? record.slot, record.slot);
    if (record.type === 'chosen') lastChosen = Math.max(lastChosen ?? record.slot, record.slot);
  }
  return { first, last, lastChosen };
}

function isRebuilding(placed: PlacedRecord[]): boolean {
  for (let position = placed.length - 1; position >= 0; position -= 1) {
    const { record } = placed[position];
    if (record.type === 'rebuild') return !record.done;
  }
  return false;
}

function maxOrNull(values: (number | null)[]): number | null {
  const present = values.filter((value): value is number => value !== null);
  return present.length === 0 ? null : Math.max(...present);
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

// ---- verifying -------------------------------------------------------------

/** Every problem found in `contents`, in file and offset order. Errors make `--verify` fail; warnings do not. */
export function verifyContents(contents: DataDirContents): LogProblem[] {
  const problems = [
    ...scanProblems(contents.scan),
    ...new InvariantChecker().check(placedRecords(contents.scan)),
    ...snapshotProblems(contents),
    ...identityProblems(contents.identity),
  ];
  return problems.sort((a, b) => (a.file === b.file ? a.offset - b.offset : a.file < b.file ? -1 : 1));
}

export function hasErrors(problems: readonly LogProblem[]): boolean {
  return problems.some((problem) => problem.severity === 'error');
}

function scanProblems(scan: LogScan): LogProblem[] {
  const problems: LogProblem[] = [];
  const walFile = (name: string): string => `${walDirectoryName}/${name}`;
  if (scan.corrupt !== null) {
    const why = `${scan.corrupt.why}; the records after it were not read, and the node will not start on this log`;
    problems.push({ severity: 'error', code: 'corrupt_record', file: walFile(scan.corrupt.file), offset: scan.corrupt.offset, why });
  }
  if (scan.torn !== null) {
    const why =
      `torn final record (${scan.torn.why}): the node would truncate these ${scan.torn.bytes} bytes at next start, keeping a .broken copy ` +
      '(expected after a crash mid-write, or while a running node is writing)';
    problems.push({ severity: 'warning', code: 'torn_tail', file: walFile(scan.torn.file), offset: scan.torn.offset, why });
  }
  for (const name of scan.unexpectedFiles) {
    problems.push({ severity: 'warning', code: 'unexpected_file', file: walFile(name), offset: 0, why: 'not a segment or a .broken copy; the node ignores it' });
  }
  return problems;
}

function snapshotProblems(contents: DataDirContents): LogProblem[] {
  const problems: LogProblem[] = contents.snapshots
    .filter((snapshot) => snapshot.problem !== null)
    .map((snapshot) => ({ severity: 'error', code: 'snapshot_corrupt', file: snapshot.file, offset: 0, why: `snapshot fails its checks: ${snapshot.problem}` }));
  for (const name of contents.snapshotTemporaries) {
    const why = 'a temporary file left by a crash mid-snapshot; the node removes it at next start';
    problems.push({ severity: 'warning', code: 'unexpected_file', file: `${snapshotDirectoryName}/${name}`, offset: 0, why });
  }
  for (const name of contents.snapshotUnexpected) {
    problems.push({ severity: 'warning', code: 'unexpected_file', file: `${snapshotDirectoryName}/${name}`, offset: 0, why: 'not a snapshot; the node ignores it' });
  }
  const first = contents.scan.segments[0];
  // A compacted log starts above record 1, and compaction happens only after a
  // durable snapshot: without one, the slots compacted away are lost.
  if (first !== undefined && first.firstIndex > 1 && contents.snapshots.length === 0) {
    const why = `the log starts at record ${first.firstIndex} (it was compacted), but there is no snapshot: the state before it is lost`;
    problems.push({ severity: 'error', code: 'snapshot_missing', file: `${walDirectoryName}/${first.file}`, offset: 0, why });
  }
  return problems;
}

function identityProblems(identity: IdentityStatus): LogProblem[] {
  if (identity.kind !== 'invalid') return [];
  return [{ severity: 'error', code: 'identity_invalid', file: identityFileName, offset: 0, why: identity.why }];
}

/** Where an earlier record that a problem refers to lives. */
interface Seen<T> {
  at: string;
  what: T;
}

/**
 * Replays the log as an acceptor and a learner would, and reports the records
 * that break what Paxos needs from one node's memory:
 * - a promise never goes down (a promise record is at least every ballot promised
 *   or accepted before it; a checkpoint re-writes the current promise, which is);
 * - an acceptor accepts nothing below the promise in effect when it accepts;
 * - one value per slot and ballot (a leader proposes only one);
 * - a slot's chosen value never changes.
 */
class InvariantChecker {
  private promised: Seen<Ballot> | null = null;
  private readonly chosen = new Map<Slot, Seen<Value>>();
  private readonly accepted = new Map<string, Seen<Value>>();
  private readonly problems: LogProblem[] = [];

  check(placed: PlacedRecord[]): LogProblem[] {
    for (const entry of placed) this.step(entry);
    return this.problems;
  }

  private step(entry: PlacedRecord): void {
    const { record } = entry;
    if (record.type === 'promise') this.checkPromise(entry, record.ballot);
    if (record.type === 'accept') this.checkAccept(entry, record);
    if (record.type === 'chosen') this.checkChosen(entry, record.slot, record.value);
  }

  private checkPromise(entry: PlacedRecord, ballot: Ballot): void {
    const promised = this.promised;
    if (promised !== null && compareBallots(ballot, promised.what) < 0) {
      const why = `promise ${ballotToString(ballot)} is lower than the promise ${ballotToString(promised.what)} already in effect (from ${promised.at}): promises never decrease`;
      this.report(entry, 'promise_decreased', why);
    }
    this.raisePromise(entry, ballot);
  }

  private checkAccept(entry: PlacedRecord, record: { slot: Slot; ballot: Ballot; value: Value }): void {
    const promised = this.promised;
    if (!entry.mayBeCheckpoint && promised !== null && compareBallots(record.ballot, promised.what) < 0) {
      const why =
        `accept of slot ${record.slot} at ballot ${ballotToString(record.ballot)} is below the promise ${ballotToString(promised.what)} ` +
        `in effect (from ${promised.at}): an acceptor never accepts below its promise`;
      this.report(entry, 'accept_below_promise', why);
    }
    this.checkOneValuePerBallot(entry, record);
    // Accepting a higher ballot promises it too, without a promise record.
    this.raisePromise(entry, record.ballot);
  }

  private checkOneValuePerBallot(entry: PlacedRecord, record: { slot: Slot; ballot: Ballot; value: Value }): void {
    const key = `${record.slot}@${ballotToString(record.ballot)}`;
    const earlier = this.accepted.get(key);
    if (earlier === undefined) {
      this.accepted.set(key, { at: placeOf(entry), what: record.value });
    } else if (!sameValue(earlier.what, record.value)) {
      const why = `slot ${record.slot} accepted a different value at the same ballot ${ballotToString(record.ballot)} as at ${earlier.at}: a leader proposes one value per slot and ballot`;
      this.report(entry, 'accept_conflict', why);
    }
  }

  private checkChosen(entry: PlacedRecord, slot: Slot, value: Value): void {
    const earlier = this.chosen.get(slot);
    if (earlier === undefined) {
      this.chosen.set(slot, { at: placeOf(entry), what: value });
    } else if (!sameValue(earlier.what, value)) {
      const why = `slot ${slot} chosen again with a different value (${valuePreview(value)}) than at ${earlier.at} (${valuePreview(earlier.what)}): a chosen value never changes`;
      this.report(entry, 'chosen_changed', why);
    }
  }

  private raisePromise(entry: PlacedRecord, ballot: Ballot): void {
    if (this.promised === null || compareBallots(ballot, this.promised.what) > 0) this.promised = { at: placeOf(entry), what: ballot };
  }

  private report(entry: PlacedRecord, code: ProblemCode, why: string): void {
    this.problems.push({ severity: 'error', code, file: entry.file, offset: entry.offset, why });
  }
}

function placeOf(entry: { file: string; offset: number }): string {
  return `${entry.file}:${entry.offset}`;
}

/** Same commands in the same order: client, sequence number and the state machine's op. */
export function sameValue(a: Value, b: Value): boolean {
  if (a.commands.length !== b.commands.length) return false;
  return a.commands.every((command, position) => {
    const other = b.commands[position];
    return command.client === other.client && command.seq === other.seq && isDeepStrictEqual(command.op, other.op);
  });
}

// ---- text ------------------------------------------------------------------

const tableHeader = ['FILE', 'OFFSET', 'TYPE', 'BALLOT', 'SLOT', 'VALUE'];

/** The records as an aligned table, header first. */
export function renderRecordTable(records: readonly InspectedRecord[]): string[] {
  const rows = records.map((entry) => [entry.file, String(entry.offset), entry.type, entry.ballot ?? '-', entry.slot === undefined ? '-' : String(entry.slot), entry.preview]);
  const cells = [tableHeader, ...rows];
  const widths = tableHeader.map((_, column) => Math.max(...cells.map((row) => row[column].length)));
  return cells.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd());
}

/** The summary block: one `label  value` line per fact. */
export function renderSummary(summary: LogSummary): string[] {
  const lines: [string, string][] = [
    ['data dir', summary.dataDir + identityText(summary)],
    ['segments', segmentsText(summary)],
    ['records', recordsText(summary)],
    ['promised', summary.promised ?? '-'],
    ['slots', slotsText(summary)],
    ['snapshot', snapshotText(summary)],
    ['torn tail', summary.torn === null ? 'none' : `${summary.torn.file}:${summary.torn.offset}: ${summary.torn.bytes} bytes (${summary.torn.why}); cut at next start`],
    ['corruption', summary.corrupt === null ? 'none' : `${summary.corrupt.file}:${summary.corrupt.offset}: ${summary.corrupt.why}`],
  ];
  if (summary.rebuilding) lines.push(['rebuilding', 'yes: the node does not vote until it has caught up']);
  if (summary.unexpectedFiles.length > 0) lines.push(['ignored', summary.unexpectedFiles.join(', ')]);
  const width = Math.max(...lines.map(([label]) => label.length));
  return lines.map(([label, value]) => `${label.padEnd(width)}  ${value}`);
}

function identityText(summary: LogSummary): string {
  if (summary.identity !== null) return ` (node ${summary.identity.nodeId}, cluster ${summary.identity.clusterId})`;
  return summary.identityProblem === null ? ' (no identity.json)' : ' (identity.json is damaged)';
}

function segmentsText(summary: LogSummary): string {
  const { count, names, bytes } = summary.segments;
  if (count === 0) return 'none';
  const files = count <= 3 ? names.join(', ') : `${names[0]} .. ${names[count - 1]}`;
  return `${count} (${files}), ${bytes} bytes`;
}

function recordsText(summary: LogSummary): string {
  const { counts } = summary;
  const total = counts.promise + counts.accept + counts.chosen + counts.rebuild;
  const range = summary.firstIndex === null ? '' : ` (#${summary.firstIndex}..#${summary.lastIndex ?? summary.firstIndex})`;
  const byType = `${counts.promise} promise, ${counts.accept} accept, ${counts.chosen} chosen, ${counts.rebuild} rebuild`;
  return `${total}${range}: ${byType}; ${plural(counts.snapshot, 'snapshot')}`;
}

function slotsText(summary: LogSummary): string {
  const range = summary.firstSlot === null ? 'none in the log' : `${summary.firstSlot}..${summary.lastSlot ?? summary.firstSlot}`;
  return `${range}, last chosen ${summary.lastChosen ?? '-'}`;
}

function snapshotText(summary: LogSummary): string {
  const latest = summary.latestSnapshot;
  if (latest === null) return 'none';
  return `slot ${latest.slot} (${latest.file}, checksum ${latest.checksum})`;
}

/** `1 snapshot`, `2 snapshots`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** `file:offset: error: why`, one line per problem. */
export function renderProblems(problems: readonly LogProblem[]): string[] {
  return problems.map((problem) => `${problem.file}:${problem.offset}: ${problem.severity}: ${problem.why}`);
}

