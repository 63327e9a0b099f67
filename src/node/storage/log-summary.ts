// The summary of a data dir that `paxos log inspect` prints under its records:
// facts about the whole log (segments, counts, the promise in effect, slots,
// the latest snapshot, damage), as plain data. Pure: a function of what
// data-dir.ts read.
import type { Ballot, Slot, WalRecordType } from '../core/messages.js';
import { ballotToString, compareBallots } from '../core/messages.js';
import type { DataDirContents, IdentityStatus, PlacedRecord } from './data-dir.js';
import { placedRecords } from './data-dir.js';
import { incarnationAtStart } from './log-mark.js';
import type { Corruption, TornTail } from './record.js';
import { walDirectoryName } from './segments.js';
import { snapshotDirectoryName } from './snapshot.js';

/** What a data dir holds: the log's record types, and snapshot files. */
export type LogEntryType = WalRecordType | 'snapshot';

export interface LogSummary {
  dataDir: string;
  /** From identity.json; null when it is missing or damaged (see `identityProblem`). */
  identity: { nodeId: number; clusterId: string } | null;
  identityProblem: string | null;
  /** The incarnation identity.json names (null: none, or no readable identity). */
  incarnation: string | null;
  /**
   * identity.json marks the incarnation as having had a log, yet wal/ holds no
   * segment: the log is lost, and the next start takes a new incarnation (log-mark.ts).
   */
  logLost: boolean;
  /** The incarnation this one replaced at start-up because its log was lost, and when. */
  replacedAfterLogLoss: { incarnation: string; at: string } | null;
  /** Every segment file in wal/, including any after a damaged one. */
  segments: { count: number; names: string[]; bytes: number };
  /** Record numbers of the first and last readable record; the first is above 1 after compaction. */
  firstIndex: number | null;
  lastIndex: number | null;
  counts: Record<LogEntryType, number>;
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

/** The summary of the whole data dir. */
export function summariseContents(contents: DataDirContents): LogSummary {
  return summarise(contents, placedRecords(contents.scan));
}

function summarise(contents: DataDirContents, placed: PlacedRecord[]): LogSummary {
  const { scan } = contents;
  const latest = contents.snapshots[contents.snapshots.length - 1];
  const latestSnapshot = latest === undefined ? null : { file: latest.file, slot: latest.slot, checksum: latest.problem === null ? ('ok' as const) : ('bad' as const) };
  const slots = slotRange(placed);
  const soundSnapshotSlot = latestSnapshot?.checksum === 'ok' ? latestSnapshot.slot : null;
  return {
    dataDir: contents.dataDir,
    ...identitySummary(contents.identity, contents.segmentFiles.length > 0),
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

function identitySummary(identity: IdentityStatus, segmentsPresent: boolean): Pick<LogSummary, 'identity' | 'identityProblem' | 'incarnation' | 'logLost' | 'replacedAfterLogLoss'> {
  if (identity.kind === 'ok') {
    return {
      identity: { nodeId: identity.nodeId, clusterId: identity.clusterId },
      identityProblem: null,
      incarnation: identity.incarnation,
      // The same rule start-up applies.
      logLost: incarnationAtStart({ incarnation: identity.incarnation ?? undefined, hasLog: identity.hasLog }, segmentsPresent).kind === 'log-lost',
      replacedAfterLogLoss: identity.replacedAfterLogLoss,
    };
  }
  return { identity: null, identityProblem: identity.kind === 'invalid' ? identity.why : null, incarnation: null, logLost: false, replacedAfterLogLoss: null };
}

function countByType(placed: PlacedRecord[], snapshots: number): Record<LogEntryType, number> {
  const counts: Record<LogEntryType, number> = { promise: 0, accept: 0, chosen: 0, rebuild: 0, membership: 0, bootstrap_view: 0, snapshot: snapshots };
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
