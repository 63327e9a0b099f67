// Shrinks a key's non-linearizable history to a small set of operations that
// cannot be ordered, so that a person can see the violation.
//
// Every step keeps the witness honest: if the whole history were
// linearizable, the shrunk one would be too. Two kinds of step have that
// property. (1) Cutting the history after an event: a prefix of a
// linearizable history is linearizable when the operations in flight at the
// cut may take effect or not (Herlihy & Wing), so they become pending. The
// search names the shortest prefix that cannot be ordered (the latest return
// it ever reached), so each cut costs nothing extra. (2) Removing an operation
// nothing else can depend on: a read (it changes nothing), or a write or cas
// that no remaining operation could have read its value from, in any order
// (taking it out of a valid order leaves a valid order). Removing a write that
// someone may have read would invent a violation ("read 1, which nobody
// wrote"), so it is never done.
import type { CompiledOperation } from './compile.js';
import { initialValue, searchLinearization, timeOrderedEvents } from './search.js';

/** An operation of an explanation. */
export interface ShrunkOperation extends CompiledOperation {
  /** It completed only after the point where the violation shows, so the explanation treats it as in flight. */
  completesAfterViolation: boolean;
  /** Its completion is where the violation shows: no order of the others explains what it returned. */
  unexplained: boolean;
}

export interface Shrunk {
  operations: ShrunkOperation[];
  /** False when the state budget ran out first: the set is not as small as it could be. */
  minimal: boolean;
  states: number;
}

/**
 * Shrinks `operations`, which cannot be ordered, within `statesMax` states of
 * search, starting from the shortest prefix that cannot be ordered
 * (`violationEvent`, from {@link searchLinearization}, if known): reads first
 * (most are irrelevant, and a read is always safe to remove), then writes and
 * cas operations, until nothing more can go.
 */
export function shrinkViolation(operations: readonly CompiledOperation[], options: { statesMax: number; violationEvent?: number }): Shrunk {
  const budget = new ShrinkBudget(options.statesMax);
  const start = operations.map((operation) => ({ ...operation, completesAfterViolation: false, unexplained: false }));
  // The check's own search already found where the violation shows; without that, search once.
  let current = options.violationEvent === undefined ? (budget.violation(start) ?? start) : cutAfter(start, options.violationEvent);
  let before = Infinity;
  while (current.length < before && !budget.exhausted) {
    before = current.length;
    current = removeReads(current, budget);
    current = removeWrites(current, budget);
  }
  current.sort((left, right) => left.search.callTime - right.search.callTime);
  return { operations: current, minimal: !budget.exhausted, states: budget.spent };
}

/** Runs the searches of one shrink within one budget of states. */
class ShrinkBudget {
  spent = 0;
  exhausted = false;
  private readonly statesMax: number;

  constructor(statesMax: number) {
    this.statesMax = statesMax;
  }

  /** The shortest violating prefix of `operations`, or undefined when they can be ordered (or the budget ran out). */
  violation(operations: readonly ShrunkOperation[]): ShrunkOperation[] | undefined {
    if (this.exhausted) return undefined;
    const searched = operations.map((operation) => operation.search);
    const result = searchLinearization(searched, Math.max(1, this.statesMax - this.spent));
    this.spent += result.states;
    if (result.verdict === 'unknown') this.exhausted = true;
    if (result.verdict !== 'violation' || result.violationEvent === undefined) return undefined;
    return cutAfter(operations, result.violationEvent);
  }
}

/**
 * The operations of the events up to `lastEvent`: those invoked later are
 * gone, those completed later become pending, and pending reads, which
 * constrain nothing, are dropped.
 */
function cutAfter(operations: readonly ShrunkOperation[], lastEvent: number): ShrunkOperation[] {
  const events = timeOrderedEvents(operations.map((operation) => operation.search)).slice(0, lastEvent + 1);
  const unexplained = events[lastEvent].operation;
  const called = new Set<number>();
  const returned = new Set<number>();
  for (const event of events) (event.isReturn ? returned : called).add(event.operation);
  const cut: ShrunkOperation[] = [];
  operations.forEach((operation, index) => {
    if (!called.has(index)) return;
    const pending = operation.search.returnTime !== Infinity && !returned.has(index);
    if (!pending) cut.push({ ...operation, unexplained: index === unexplained });
    else if (operation.search.f !== 'read') cut.push(asPending(operation));
  });
  return cut;
}

function asPending(operation: ShrunkOperation): ShrunkOperation {
  return { ...operation, search: { ...operation.search, returnTime: Infinity }, completesAfterViolation: true };
}

/** Removes reads in halving chunks, as delta debugging does, keeping each removal that still violates. */
function removeReads(operations: ShrunkOperation[], budget: ShrinkBudget): ShrunkOperation[] {
  return removeInChunks(operations, budget, {
    candidates: (current) => current.filter(isRead),
    allowed: () => true,
  });
}

/**
 * Removes writes and cas operations in halving chunks, latest first (a later
 * operation is what can depend on an earlier one), when no operation left
 * could depend on any removed one. A whole chunk at once matters: pending cas
 * operations that each expect what another writes can only go together.
 */
function removeWrites(operations: ShrunkOperation[], budget: ShrinkBudget): ShrunkOperation[] {
  return removeInChunks(operations, budget, {
    candidates: (current) => current.filter((operation) => !isRead(operation)).sort((left, right) => right.search.callTime - left.search.callTime),
    allowed: (remaining, removed) => {
      const index = new WriterIndex(remaining);
      return !removed.some((writer) => dependsOn(remaining, writer, index));
    },
  });
}

interface ChunkRule {
  /** The operations that may be removed, in the order to try them. */
  candidates(current: readonly ShrunkOperation[]): ShrunkOperation[];
  /** Whether removing `removed` and keeping `remaining` keeps the witness honest. */
  allowed(remaining: readonly ShrunkOperation[], removed: readonly ShrunkOperation[]): boolean;
}

function removeInChunks(operations: ShrunkOperation[], budget: ShrinkBudget, rule: ChunkRule): ShrunkOperation[] {
  let current = operations;
  let chunk = rule.candidates(current).length;
  while (chunk >= 1 && !budget.exhausted) {
    const candidates = rule.candidates(current);
    for (let start = 0; start < candidates.length && !budget.exhausted; start += chunk) {
      const removed = candidates.slice(start, start + chunk).filter((operation) => current.some((other) => sameOperation(other, operation)));
      const remaining = current.filter((operation) => !removed.some((other) => sameOperation(other, operation)));
      if (removed.length === 0 || !rule.allowed(remaining, removed)) continue;
      // A success also cuts the history at the new violation, which can only drop more.
      current = budget.violation(remaining) ?? current;
    }
    if (chunk === 1) break;
    chunk = Math.ceil(chunk / 2);
  }
  return current;
}

/** The cut copies operations it makes pending, so identity is the source operation's. */
function sameOperation(left: ShrunkOperation, right: ShrunkOperation): boolean {
  return left.source === right.source;
}

function isRead(operation: CompiledOperation): boolean {
  return operation.search.f === 'read';
}

/**
 * Whether an operation left could read or expect the value `writer` writes
 * from `writer` itself: it reads or expects that value, does not return before
 * `writer` is invoked, and no write that must come between them (invoked
 * after `writer` returned, returned before the reader was invoked) hides it.
 * A reader whose every source would be gone also counts as depending, so that
 * an explanation never shows a read of a value that nobody wrote when someone
 * did: that would be true, but useless to a person.
 */
function dependsOn(remaining: readonly CompiledOperation[], writer: CompiledOperation, index: WriterIndex): boolean {
  const written = writtenValue(writer);
  return remaining.some((reader) => reader.search.f !== 'write'
    && reader.search.a === written
    && reader.search.returnTime >= writer.search.callTime
    && (!index.hiddenBetween(writer, reader) || !index.hasOtherSource(reader)));
}

function writtenValue(operation: CompiledOperation): number {
  return operation.search.f === 'cas' ? operation.search.b : operation.search.a;
}

/** What {@link dependsOn} asks of the writers left, answered in logarithmic time. */
class WriterIndex {
  /** Completed writers (they certainly wrote) by call time, and the earliest return among each suffix. */
  private readonly calls: number[];
  private readonly suffixReturnMin: number[];
  /** Per value, the two earliest-invoked writers of it. */
  private readonly earliest = new Map<number, CompiledOperation[]>();

  constructor(remaining: readonly CompiledOperation[]) {
    const writers = remaining.filter((operation) => operation.search.f !== 'read');
    const completed = writers.filter((operation) => operation.search.returnTime !== Infinity).sort((left, right) => left.search.callTime - right.search.callTime);
    this.calls = completed.map((operation) => operation.search.callTime);
    this.suffixReturnMin = completed.map((operation) => operation.search.returnTime);
    for (let position = this.suffixReturnMin.length - 2; position >= 0; position--) {
      this.suffixReturnMin[position] = Math.min(this.suffixReturnMin[position], this.suffixReturnMin[position + 1]);
    }
    for (const operation of [...writers].sort((left, right) => left.search.callTime - right.search.callTime)) {
      const list = this.earliest.get(writtenValue(operation)) ?? [];
      if (list.length < 2) this.earliest.set(writtenValue(operation), [...list, operation]);
    }
  }

  /** True when some completed writer was invoked after `writer` returned and returned before `reader` was invoked. */
  hiddenBetween(writer: CompiledOperation, reader: CompiledOperation): boolean {
    const first = firstAbove(this.calls, writer.search.returnTime);
    return first < this.calls.length && this.suffixReturnMin[first] < reader.search.callTime;
  }

  /** True when `reader`'s value is null (the initial value) or another writer of it could come before `reader`. */
  hasOtherSource(reader: CompiledOperation): boolean {
    if (reader.search.a === initialValue) return true;
    const sources = (this.earliest.get(reader.search.a) ?? []).filter((writer) => writer !== reader);
    return sources.length > 0 && sources[0].search.callTime <= reader.search.returnTime;
  }
}

/** The first position in ascending `values` holding a value above `bound`. */
function firstAbove(values: readonly number[], bound: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (values[middle] > bound) high = middle;
    else low = middle + 1;
  }
  return low;
}
