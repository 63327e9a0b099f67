// What the HTML report of `paxos check --html` embeds: the history's
// operations in compact columns, the keys, and for each violating key the
// checker's own explanation (its text and which operations it names). Pure:
// the page only draws this, so these tests say what the page can show.
import type { CheckResult, KeyViolation } from '../check.js';
import type { Operation, ProcessId } from '../history.js';
import { explanationNote, renderSummary, renderUndecided, renderViolation } from '../report.js';

/**
 * Characters of a value kept in the page (values may be up to 1 MiB each):
 * enough to tell values apart on hover, small enough that 100,000 operations
 * stay a page of a few megabytes.
 */
export const reportValueCharsMax = 120;

/**
 * Operations a page may draw. A page of a million operations is some 50 MB
 * and takes a browser several seconds to parse; past that it stops being
 * usable, so `--html` refuses and says to check a shorter history.
 */
export const reportOperationsMax = 1_000_000;

/** Codes of the `f` and `outcome` columns, in this order. */
export const reportFunctions = ['read', 'write', 'cas'] as const;
export const reportOutcomes = ['ok', 'fail', 'info'] as const;

/** One key and what the checker found on it. */
export interface ReportKey {
  name: string;
  /** Operations on the key, failed ones included. */
  operations: number;
  /** linearizable unless the key is one of the result's violations or undecided keys. */
  verdict: 'linearizable' | 'violation' | 'unknown';
}

/** The checker's explanation of one violating key. */
export interface ReportViolation {
  /** Index into {@link ReportModel.keys}. */
  key: number;
  /** The lines `paxos check` prints for this key: a heading, then the table. */
  text: string[];
  /** Indices of the operations that cannot be ordered; empty when the key was not shrunk. */
  operations: number[];
  /** Of those, the one whose result no order explains. */
  unexplained: number[];
  /** Of those, the ones that completed after the violation shows (counted as in flight). */
  completesAfterViolation: number[];
  minimal: boolean;
}

/**
 * The operations as columns, one entry per operation in the history's order
 * of invocation; times are offsets from {@link ReportModel.timeOrigin}.
 */
export interface ReportOperations {
  /** Index into {@link ReportModel.processes}. */
  process: number[];
  /** Index into {@link ReportModel.keys}. */
  key: number[];
  /** Index into {@link reportFunctions}. */
  f: number[];
  /** Index into {@link reportOutcomes}; an operation in flight at the end is info. */
  outcome: number[];
  invoke: number[];
  /** -1: still in flight when the history ended. */
  complete: number[];
  /** Index into {@link ReportModel.values}: what was written, [expected, new] of a cas, or what a read returned. */
  value: number[];
  invokeLine: number[];
  /** -1: no completion line. */
  completeLine: number[];
}

export interface ReportModel {
  /** Bumped when the shape changes, so a page's script can tell. */
  format: 1;
  /** The history's name as given to `paxos check`. */
  source: string;
  verdict: CheckResult['verdict'];
  /** `paxos check`'s summary line. */
  summary: string;
  /** The note `paxos check` prints under explanations, when there is one. */
  note: string | null;
  /** `paxos check`'s lines for undecided keys. */
  undecided: string[];
  /** The earliest time in the history; every time in the page is relative to it. */
  timeOrigin: number;
  /** The latest time, relative to timeOrigin: where open-ended operations end. */
  timeSpan: number;
  processes: string[];
  keys: ReportKey[];
  /** The key shown first: the first violating key, else the first undecided one, else the first. -1 when there are none. */
  defaultKey: number;
  violations: ReportViolation[];
  /** Distinct value texts (JSON, cut at {@link reportValueCharsMax} characters). */
  values: string[];
  operations: ReportOperations;
}

export interface ReportInput {
  source: string;
  operations: readonly Operation[];
  result: CheckResult;
  elapsedMs: number;
}

/** Builds the page's data. Throws a RangeError past {@link reportOperationsMax}. */
export function buildReportModel(input: ReportInput): ReportModel {
  const { operations, result } = input;
  if (operations.length > reportOperationsMax) {
    throw new RangeError(`the history has ${operations.length} operations; an HTML report draws at most ${reportOperationsMax} (a bigger page is too slow to open): check a shorter history`);
  }
  const keys = reportKeys(operations, result);
  const keyIndex = new Map(keys.map((key, index) => [key.name, index]));
  const processes = processLabels(operations);
  const timeOrigin = operations.reduce((earliest, operation) => Math.min(earliest, operation.invokeTime), Infinity);
  const origin = Number.isFinite(timeOrigin) ? timeOrigin : 0;
  const columns = operationColumns(operations, { origin, keyIndex, processIndex: new Map(processes.ids.map((id, index) => [id, index])) });
  const lineIndex = new Map(operations.map((operation, index) => [operation.invokeLine, index]));
  const violations = result.violations.map((violation) => reportViolation(violation, keyIndex, lineIndex));
  const firstViolating = keys.findIndex((key) => key.verdict === 'violation');
  const firstUndecided = keys.findIndex((key) => key.verdict === 'unknown');
  return {
    format: 1,
    source: input.source,
    verdict: result.verdict,
    summary: renderSummary(result, input.elapsedMs),
    note: violations.some((violation) => violation.operations.length > 0) ? explanationNote : null,
    undecided: result.undecided.map(renderUndecided),
    timeOrigin: origin,
    timeSpan: Math.max(1, columns.latest),
    processes: processes.labels,
    keys,
    defaultKey: firstViolating >= 0 ? firstViolating : firstUndecided >= 0 ? firstUndecided : keys.length > 0 ? 0 : -1,
    violations,
    values: columns.values,
    operations: columns.operations,
  };
}

/** Keys in the checker's order (sorted), each with its verdict. */
function reportKeys(operations: readonly Operation[], result: CheckResult): ReportKey[] {
  const counts = new Map<string, number>();
  for (const operation of operations) counts.set(operation.key, (counts.get(operation.key) ?? 0) + 1);
  const violating = new Set(result.violations.map((violation) => violation.key));
  const undecided = new Set(result.undecided.map((key) => key.key));
  return [...counts.keys()].sort((left, right) => (left < right ? -1 : left > right ? 1 : 0)).map((name) => ({
    name,
    operations: counts.get(name) ?? 0,
    verdict: violating.has(name) ? 'violation' : undecided.has(name) ? 'unknown' : 'linearizable',
  }));
}

/** Lanes in a stable order: numbered processes ascending, then named ones. */
function processLabels(operations: readonly Operation[]): { ids: ProcessId[]; labels: string[] } {
  const ids = [...new Set(operations.map((operation) => operation.process))].sort((left, right) => {
    if (typeof left === 'number' && typeof right === 'number') return left - right;
    if (typeof left === 'number') return -1;
    if (typeof right === 'number') return 1;
    return left < right ? -1 : left > right ? 1 : 0;
  });
  return { ids, labels: ids.map(String) };
}

interface ColumnContext {
  origin: number;
  keyIndex: Map<string, number>;
  processIndex: Map<ProcessId, number>;
}

function operationColumns(operations: readonly Operation[], context: ColumnContext): { operations: ReportOperations; values: string[]; latest: number } {
  const columns: ReportOperations = { process: [], key: [], f: [], outcome: [], invoke: [], complete: [], value: [], invokeLine: [], completeLine: [] };
  const values = new ValueTexts();
  let latest = 0;
  for (const operation of operations) {
    const invoke = operation.invokeTime - context.origin;
    const complete = operation.completeTime === null ? -1 : operation.completeTime - context.origin;
    latest = Math.max(latest, invoke, complete);
    columns.process.push(context.processIndex.get(operation.process) ?? 0);
    columns.key.push(context.keyIndex.get(operation.key) ?? 0);
    columns.f.push(reportFunctions.indexOf(operation.f));
    columns.outcome.push(reportOutcomes.indexOf(operation.outcome));
    columns.invoke.push(invoke);
    columns.complete.push(complete);
    columns.value.push(values.idOf(operation.value));
    columns.invokeLine.push(operation.invokeLine);
    columns.completeLine.push(operation.completeLine ?? -1);
  }
  return { operations: columns, values: values.texts, latest };
}

/** Interns value texts: most histories reuse a few values, so each is embedded once. */
class ValueTexts {
  readonly texts: string[] = [];
  private readonly ids = new Map<string, number>();

  idOf(value: unknown): number {
    const full = JSON.stringify(value) ?? 'null';
    const text = full.length > reportValueCharsMax ? `${full.slice(0, reportValueCharsMax)}…` : full;
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.texts.length;
      this.texts.push(text);
      this.ids.set(text, id);
    }
    return id;
  }
}

/** An explanation's operations are copies of the history's; an invocation line names one operation. */
function reportViolation(violation: KeyViolation, keyIndex: Map<string, number>, lineIndex: Map<number, number>): ReportViolation {
  const explained = violation.explanation?.operations ?? [];
  const indexOf = (line: number): number => lineIndex.get(line) ?? -1;
  return {
    key: keyIndex.get(violation.key) ?? -1,
    text: renderViolation(violation),
    operations: explained.map((operation) => indexOf(operation.invokeLine)),
    unexplained: explained.filter((operation) => operation.unexplained).map((operation) => indexOf(operation.invokeLine)),
    completesAfterViolation: explained.filter((operation) => operation.completesAfterViolation).map((operation) => indexOf(operation.invokeLine)),
    minimal: violation.explanation?.minimal ?? false,
  };
}
