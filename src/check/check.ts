// Checks a whole history: key by key, since a key-value store is linearizable
// exactly when each key's register is (linearizability is compositional,
// Herlihy & Wing's locality; Porcupine calls it P-compositionality).
import { compileKey } from './compile.js';
import type { Operation } from './history.js';
import { explainedKeysMax, searchStatesMax, shrinkStatesMax } from './limits.js';
import { searchLinearization } from './search.js';
import { shrinkViolation } from './shrink.js';

export interface CheckOptions {
  /** States one key's search may memoise before it gives up ("unknown"). */
  searchStatesMax?: number;
  /** States the shrinking of one violation may explore before it stops. */
  shrinkStatesMax?: number;
}

/** One operation of an explanation. */
export interface ExplainedOperation extends Operation {
  /** It completed after the point where the violation shows, and is treated as still in flight there. */
  completesAfterViolation: boolean;
  /** Its completion is where the violation shows: no order of the others explains what it returned. */
  unexplained: boolean;
}

/** A key whose operations cannot be ordered. */
export interface KeyViolation {
  key: string;
  /** Operations on the key in the history, failed ones included. */
  keyOperations: number;
  /** The operations that cannot be ordered, by invocation time; absent past the first few violating keys. */
  explanation?: { operations: ExplainedOperation[]; minimal: boolean };
}

/** A key whose search ran out of states before it could decide. */
export interface UndecidedKey {
  key: string;
  keyOperations: number;
  states: number;
}

export type CheckVerdict = 'linearizable' | 'violation' | 'unknown';

export interface CheckResult {
  /** violation if any key has one; else unknown if any key was undecided; else linearizable. */
  verdict: CheckVerdict;
  operations: number;
  keys: number;
  /** States memoised by all the searches (not counting shrinking). */
  states: number;
  violations: KeyViolation[];
  undecided: UndecidedKey[];
}

/** Checks every key of `operations` (as parsed, in invocation order). */
export function checkHistory(operations: readonly Operation[], options: CheckOptions = {}): CheckResult {
  const byKey = groupByKey(operations);
  const violations: KeyViolation[] = [];
  const undecided: UndecidedKey[] = [];
  let states = 0;
  for (const [key, keyOperations] of byKey) {
    const compiled = compileKey(keyOperations);
    const result = searchLinearization(compiled.map((operation) => operation.search), options.searchStatesMax ?? searchStatesMax);
    states += result.states;
    if (result.verdict === 'unknown') undecided.push({ key, keyOperations: keyOperations.length, states: result.states });
    if (result.verdict !== 'violation') continue;
    const violation: KeyViolation = { key, keyOperations: keyOperations.length };
    if (violations.length < explainedKeysMax) violation.explanation = explain(compiled, { statesMax: options.shrinkStatesMax ?? shrinkStatesMax, violationEvent: result.violationEvent });
    violations.push(violation);
  }
  const verdict = violations.length > 0 ? 'violation' : undecided.length > 0 ? 'unknown' : 'linearizable';
  return { verdict, operations: operations.length, keys: byKey.size, states, violations, undecided };
}

/** Operations per key, keys in sorted order so that reports are stable. */
function groupByKey(operations: readonly Operation[]): Map<string, Operation[]> {
  const byKey = new Map<string, Operation[]>();
  for (const operation of operations) {
    const list = byKey.get(operation.key);
    if (list === undefined) byKey.set(operation.key, [operation]);
    else list.push(operation);
  }
  return new Map([...byKey].sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0)));
}

function explain(compiled: ReturnType<typeof compileKey>, options: Parameters<typeof shrinkViolation>[1]): KeyViolation['explanation'] {
  const shrunk = shrinkViolation(compiled, options);
  const operations = shrunk.operations.map((operation) => ({
    ...operation.source,
    completesAfterViolation: operation.completesAfterViolation,
    unexplained: operation.unexplained,
  }));
  return { operations, minimal: shrunk.minimal };
}
