// The offline check behind `paxos log inspect --verify`: every checksum (log
// records and snapshots), the files the node would ignore, and the invariants
// Paxos needs from one acceptor's memory, replayed from its log. Pure: a
// function of what data-dir.ts read. Nothing here renders a value; the caller
// says how (describeValue), so that messages read like the rest of its output.
import { isDeepStrictEqual } from 'node:util';
import type { Ballot, Slot, Value } from '../core/messages.js';
import { ballotToString, compareBallots } from '../core/messages.js';
import type { DataDirContents, IdentityStatus, PlacedRecord } from './data-dir.js';
import { placedRecords } from './data-dir.js';
import { identityFileName } from './identity.js';
import type { LogScan } from './segments.js';
import { walDirectoryName } from './segments.js';
import { snapshotDirectoryName } from './snapshot.js';
import { incarnationAtStart, logLostWarning } from './log-mark.js';

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
  | 'identity_invalid'
  | 'log_lost';

export interface LogProblem {
  /** An error means the data dir cannot be trusted; a warning is expected after a crash or harmless. */
  severity: ProblemSeverity;
  code: ProblemCode;
  /** Relative to the data dir, like InspectedRecord.file. */
  file: string;
  offset: number;
  why: string;
}

/** How a problem's message shows a value, e.g. a one-line preview. */
export type DescribeValue = (value: Value) => string;


/** Every problem found in `contents`, in file and offset order. Errors make `--verify` fail; warnings do not. */
export function checkLog(contents: DataDirContents, describeValue: DescribeValue): LogProblem[] {
  const problems = [
    ...scanProblems(contents.scan),
    ...new InvariantChecker(describeValue).check(placedRecords(contents.scan)),
    ...snapshotProblems(contents),
    ...identityProblems(contents.identity, contents.segmentFiles.length > 0),
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

function identityProblems(identity: IdentityStatus, segmentsPresent: boolean): LogProblem[] {
  if (identity.kind === 'invalid') return [{ severity: 'error', code: 'identity_invalid', file: identityFileName, offset: 0, why: identity.why }];
  if (identity.kind !== 'ok' || identity.incarnation === null) return [];
  // A warning: the node starts, as a new incarnation (the same rule start-up applies).
  if (incarnationAtStart({ incarnation: identity.incarnation, hasLog: identity.hasLog }, segmentsPresent).kind !== 'log-lost') return [];
  return [{ severity: 'warning', code: 'log_lost', file: identityFileName, offset: 0, why: logLostWarning(identity.incarnation) }];
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

  constructor(private readonly describeValue: DescribeValue) {}

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
      const why = `slot ${slot} chosen again with a different value (${this.describeValue(value)}) than at ${earlier.at} (${this.describeValue(earlier.what)}): a chosen value never changes`;
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
