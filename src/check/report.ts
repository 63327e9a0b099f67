// How `paxos check` reports a result: exit codes and the text a person reads.
// Pure: the command prints what these return.
import type { CheckResult, ExplainedOperation, KeyViolation, UndecidedKey } from './check.js';

/** Exit codes of `paxos check`. */
export const checkExitCodes = Object.freeze({
  linearizable: 0,
  violation: 1,
  /** The history could not be read or does not follow the format; also usage errors. */
  invalid: 2,
  /** No violation found, but some key's search hit its state limit: the answer is unknown. */
  unknown: 3,
});

export function checkExitCode(result: CheckResult): number {
  return checkExitCodes[result.verdict];
}

/** Characters of a value shown in a report; values may be up to 1 MiB. */
const valueCharsMax = 40;

/**
 * Operations of one explanation shown as rows: the latest ones, nearest where
 * the violation shows. An explanation is longer only when shrinking ran out of
 * states; `--json` always has every operation.
 */
export const explanationRowsMax = 30;

/** Every line of the report for a person, the verdict first. */
export function renderCheckReport(result: CheckResult, elapsedMs: number): string[] {
  const lines: string[] = [];
  if (result.verdict === 'linearizable') lines.push('linearizable');
  for (const violation of result.violations) lines.push(...renderViolation(violation));
  for (const key of result.undecided) lines.push(renderUndecided(key));
  if (result.violations.some((violation) => violation.explanation !== undefined)) lines.push(explanationNote);
  lines.push(renderSummary(result, elapsedMs));
  return lines;
}

/** The note under explanations: what "cannot be ordered" means. */
export const explanationNote = 'Each operation takes effect at one instant between its invocation and its completion (an info or in-flight '
  + 'one at any instant after its invocation, or never; a failed one never); no order of the operations above gives '
  + 'the results they returned.';

export function renderSummary(result: CheckResult, elapsedMs: number): string {
  const parts = [`${result.operations} operations on ${plural(result.keys, 'key')}`];
  if (result.violations.length > 0) parts.push(`${plural(result.violations.length, 'key')} not linearizable`);
  if (result.undecided.length > 0) parts.push(`${plural(result.undecided.length, 'key')} undecided`);
  parts.push(`${result.states} states`, `checked in ${(elapsedMs / 1000).toFixed(2)} s`);
  return parts.join(', ');
}

/** The heading and table of one violating key (the report's lines for it). */
export function renderViolation(violation: KeyViolation): string[] {
  const key = JSON.stringify(violation.key);
  const explanation = violation.explanation;
  if (explanation === undefined) {
    return [`not linearizable: key ${key} (${violation.keyOperations} operations; not shrunk, as earlier keys already explain a violation)`];
  }
  const count = explanation.operations.length;
  const minimal = explanation.minimal ? '' : '; not minimal: shrinking reached its state limit';
  const heading = `not linearizable: key ${key}: these ${plural(count, 'operation')} cannot be ordered `
    + `(of ${violation.keyOperations} on the key${minimal})`;
  return [heading, ...renderTable(explanation.operations)];
}

export function renderUndecided(key: UndecidedKey): string {
  return `unknown: gave up on key ${JSON.stringify(key.key)} (${key.keyOperations} operations) after ${key.states} states; `
    + 'raise --max-states, or record shorter runs or more keys';
}

function renderTable(operations: readonly ExplainedOperation[]): string[] {
  const hidden = Math.max(0, operations.length - explanationRowsMax);
  const rows = [['PROCESS', 'OPERATION', 'INVOKED', 'COMPLETED', 'LINES', '']];
  for (const operation of operations.slice(hidden)) {
    const marker = operation.unexplained ? '← no order explains this result' : '';
    rows.push([String(operation.process), renderOperation(operation), String(operation.invokeTime), renderCompletion(operation), renderLines(operation), marker]);
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const lines = rows.map((row) => `  ${row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd()}`);
  if (hidden > 0) lines.splice(1, 0, `  … ${plural(hidden, 'earlier operation')} not shown (--json has them all)`);
  return lines;
}

export function renderOperation(operation: ExplainedOperation): string {
  switch (operation.f) {
    case 'read': return `read → ${renderValue(operation.value)}`;
    case 'write': return `write ${renderValue(operation.value)}`;
    case 'cas': {
      const [expected, written] = operation.value as [unknown, unknown];
      return `cas ${renderValue(expected)} → ${renderValue(written)}`;
    }
  }
}

function renderCompletion(operation: ExplainedOperation): string {
  if (operation.completeTime === null) return 'in flight at the end';
  const completion = `${operation.outcome} at ${operation.completeTime}`;
  if (operation.completesAfterViolation) return `${completion} (after the violation: counted as in flight)`;
  return operation.outcome === 'info' ? `${completion} (outcome unknown)` : completion;
}

function renderLines(operation: ExplainedOperation): string {
  return operation.completeLine === null ? String(operation.invokeLine) : `${operation.invokeLine},${operation.completeLine}`;
}

function renderValue(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.length > valueCharsMax ? `${text.slice(0, valueCharsMax)}…` : text;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
