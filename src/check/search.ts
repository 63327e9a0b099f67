// The search for a linearization of one key's history: Wing & Gong's
// algorithm with Lowe's just-in-time linearization, memoised on (set of
// linearized operations, register value) as Porcupine and Knossos do.
//
// Operations arrive compiled: values are small integers (0 is null, the value
// of a key never written), so the register's state is one number. The history
// is a doubly linked list of call and return entries in time order. The search
// walks it from the head: at a call it tries to linearize that operation now
// (apply it to the register and lift both its entries out of the list); at a
// return whose operation is not yet linearized it is stuck and backtracks. A
// pending operation (info, or in flight at the end) has no return entry, so it
// may be linearized at any point after its call, or never. The history is
// linearizable once every completed operation is linearized.
//
// The memo goes one step beyond Porcupine's: a state is skipped not only when
// it was seen before but when a seen state dominates it, one with the same
// register value and the same completed operations linearized but fewer
// pending ones used up. Everything the dominated state can still do, the
// dominating one can too (it has every pending operation the other has left),
// so it need not be searched again. Without this, k info operations multiply
// the states by up to 2^k, and a violation, which needs the whole space
// searched, soon becomes "unknown".
//
// Reads get one more rule: in each state, a read the register allows now is
// linearized first, before any write is tried, and if that leads nowhere,
// neither does any other choice here. A read changes nothing, and any order
// that took it later can take it now instead (everything that must come
// before it already has), so trying other operations first would only search
// the same orders again, or let a write make the read wait for another write
// of its value. With many concurrent readers this keeps the search near one
// state per operation.

/** read: the register must hold `a`; write: it becomes `a`; cas: if it holds `a` it becomes `b`. */
export type RegisterFunction = 'read' | 'write' | 'cas';

/** One operation of one key, ready for the search. */
export interface SearchOperation {
  f: RegisterFunction;
  /** Value id: read's value, write's value, cas's expected value. */
  a: number;
  /** Value id: cas's new value; unused otherwise. */
  b: number;
  callTime: number;
  /** Infinity for a pending operation: it may take effect at any later time, or never. */
  returnTime: number;
}

export type SearchVerdict = 'linearizable' | 'violation' | 'unknown';

export interface SearchResult {
  verdict: SearchVerdict;
  /** Distinct (linearized set, value) states searched. */
  states: number;
  /**
   * For a violation: the index, in {@link timeOrderedEvents}, of the latest
   * return the search ever reached. No order gets past it, and some order gets
   * up to it, so the events up to it are the shortest prefix that cannot be
   * ordered.
   */
  violationEvent?: number;
}

/** The register's value before any write: null, which is also what a missing key reads as. */
export const initialValue = 0;
const illegal = -1;
/** `next` of the last entry. */
const end = -1;
const head = 0;

/**
 * Decides whether `operations` (one key's) can be ordered as a register allows.
 * Gives up with "unknown" after memoising `statesMax` states.
 */
export function searchLinearization(operations: readonly SearchOperation[], statesMax: number): SearchResult {
  return new Search(operations).run(statesMax);
}

/** The register's value after `operation`, or `illegal` if it cannot happen now. */
function step(state: number, operation: SearchOperation): number {
  switch (operation.f) {
    case 'read': return operation.a === state ? state : illegal;
    case 'write': return operation.a;
    case 'cas': return operation.a === state ? operation.b : illegal;
  }
}

/** How trying one entry went. */
type Attempt = 'illegal' | 'seen' | 'linearized' | 'stuck';

class Search {
  private readonly operations: readonly SearchOperation[];
  private readonly list: EntryList;
  private readonly linearized: LinearizedSet;
  private readonly cache = new StateCache();
  /** The operations linearized, in order, and the register's value before each. */
  private readonly stackOperations: number[] = [];
  private readonly stackStates: number[] = [];
  private state = initialValue;
  /** Completed operations not yet linearized; the search succeeds at zero. */
  private remaining: number;
  /** The latest return entry the search has been stuck at. */
  private furthestStuck = head;

  constructor(operations: readonly SearchOperation[]) {
    this.operations = operations;
    this.list = new EntryList(operations);
    this.linearized = new LinearizedSet(operations);
    this.remaining = operations.filter((operation) => operation.returnTime !== Infinity).length;
  }

  run(statesMax: number): SearchResult {
    // The entry to try next; in a fresh state, a legal read goes first.
    let entry = this.list.next[head];
    let fresh = true;
    while (this.remaining > 0) {
      const read: number = fresh ? this.legalRead() : end;
      const attempt: Attempt = read === end ? this.tryEntry(entry) : this.tryLinearize(this.list.operationOf[read]);
      fresh = attempt === 'linearized';
      if (fresh) {
        if (this.cache.explored > statesMax) return this.result('unknown');
        entry = this.list.next[head];
      } else if (attempt === 'stuck' || read !== end) {
        // A return reached, or a read that cannot go first: this state leads nowhere.
        entry = this.backtrack();
        if (entry === end) return this.result('violation');
      } else {
        entry = this.list.next[entry];
      }
    }
    return this.result('linearizable');
  }

  /** Tries the operation of a call entry; at a return entry the search is stuck. */
  private tryEntry(entry: number): Attempt {
    if (entry === end) throw new Error('assertion: the list ended with a completed operation not linearized');
    if (this.list.isReturn[entry] === 0) return this.tryLinearize(this.list.operationOf[entry]);
    // This operation returned before it could be linearized.
    this.furthestStuck = Math.max(this.furthestStuck, entry);
    return 'stuck';
  }

  /** The first call entry, before the first return entry, of a read the register allows now; `end` if none. */
  private legalRead(): number {
    for (let entry = this.list.next[head]; entry !== end && this.list.isReturn[entry] === 0; entry = this.list.next[entry]) {
      const operation = this.operations[this.list.operationOf[entry]];
      if (operation.f === 'read' && operation.a === this.state) return entry;
    }
    return end;
  }

  private result(verdict: SearchVerdict): SearchResult {
    const result: SearchResult = { verdict, states: this.cache.explored };
    if (verdict === 'violation') result.violationEvent = this.furthestStuck - 1;
    return result;
  }

  /** Linearizes `operation` now if the register allows it and no state seen dominates the one reached. */
  private tryLinearize(operation: number): Attempt {
    const next = step(this.state, this.operations[operation]);
    if (next === illegal) return 'illegal';
    this.linearized.add(operation);
    if (!this.cache.visit(this.linearized.completedKey(next), this.linearized.pendingUsed)) {
      this.linearized.remove(operation);
      return 'seen';
    }
    this.stackOperations.push(operation);
    this.stackStates.push(this.state);
    this.state = next;
    this.list.lift(operation);
    if (this.operations[operation].returnTime !== Infinity) this.remaining -= 1;
    return 'linearized';
  }

  /**
   * Leaves the current state, which leads nowhere: undoes linearizations back
   * to the last that was not a read (a read's state failing means the state
   * before it fails too) and returns the entry after that one's call, where
   * the search goes on; `end` when nothing is left to undo.
   */
  private backtrack(): number {
    for (;;) {
      if (this.stackOperations.length === 0) return end;
      const undone = this.undoLast();
      if (this.operations[undone].f !== 'read') return this.list.next[this.list.callEntry[undone]];
    }
  }

  private undoLast(): number {
    const undone = this.stackOperations.pop() as number;
    this.state = this.stackStates.pop() as number;
    this.linearized.remove(undone);
    this.list.unlift(undone);
    if (this.operations[undone].returnTime !== Infinity) this.remaining += 1;
    return undone;
  }
}

/**
 * The states seen so far: per (register value, completed operations
 * linearized), the pending operations used up (counts per kind), kept as an
 * antichain: no entry of a list uses no more of every kind than another.
 */
class StateCache {
  /** States recorded; dominated ones are dropped later, so this also bounds memory. */
  explored = 0;
  private readonly seen = new Map<string, Uint32Array[]>();

  /** Records the state and returns true, or returns false when a seen state dominates it. */
  visit(completedKey: string, pendingUsed: Uint32Array): boolean {
    const list = this.seen.get(completedKey);
    this.explored += 1;
    if (list === undefined) {
      this.seen.set(completedKey, [pendingUsed.slice()]);
      return true;
    }
    if (list.some((used) => usesNoMore(used, pendingUsed))) {
      this.explored -= 1;
      return false;
    }
    const kept = list.filter((used) => !usesNoMore(pendingUsed, used));
    kept.push(pendingUsed.slice());
    this.seen.set(completedKey, kept);
    return true;
  }
}

/** True when `fewer` uses no more pending operations of any kind than `more`: its state dominates. */
function usesNoMore(fewer: Uint32Array, more: Uint32Array): boolean {
  for (let kind = 0; kind < fewer.length; kind++) if (fewer[kind] > more[kind]) return false;
  return true;
}

/**
 * Call and return entries in time order, as a doubly linked list over typed
 * arrays with entry 0 as the head. Lifting an operation unlinks its entries;
 * unlifting in the reverse order of lifting relinks them (dancing links).
 */
class EntryList {
  readonly next: Int32Array;
  readonly prev: Int32Array;
  readonly operationOf: Int32Array;
  readonly isReturn: Uint8Array;
  readonly callEntry: Int32Array;
  private readonly returnEntry: Int32Array;

  constructor(operations: readonly SearchOperation[]) {
    const events = timeOrderedEvents(operations);
    const size = events.length + 1;
    this.next = new Int32Array(size);
    this.prev = new Int32Array(size);
    this.operationOf = new Int32Array(size);
    this.isReturn = new Uint8Array(size);
    this.callEntry = new Int32Array(operations.length);
    this.returnEntry = new Int32Array(operations.length).fill(end);
    events.forEach((event, index) => this.place(index + 1, event));
  }

  lift(operation: number): void {
    this.unlink(this.callEntry[operation]);
    if (this.returnEntry[operation] !== end) this.unlink(this.returnEntry[operation]);
  }

  unlift(operation: number): void {
    if (this.returnEntry[operation] !== end) this.relink(this.returnEntry[operation]);
    this.relink(this.callEntry[operation]);
  }

  private place(entry: number, event: TimedEvent): void {
    this.prev[entry] = entry - 1;
    this.next[entry - 1] = entry;
    this.next[entry] = end;
    this.operationOf[entry] = event.operation;
    this.isReturn[entry] = event.isReturn ? 1 : 0;
    if (event.isReturn) this.returnEntry[event.operation] = entry;
    else this.callEntry[event.operation] = entry;
  }

  private unlink(entry: number): void {
    this.next[this.prev[entry]] = this.next[entry];
    if (this.next[entry] !== end) this.prev[this.next[entry]] = this.prev[entry];
  }

  private relink(entry: number): void {
    this.next[this.prev[entry]] = entry;
    if (this.next[entry] !== end) this.prev[this.next[entry]] = entry;
  }
}

interface TimedEvent {
  time: number;
  isReturn: boolean;
  operation: number;
}

/**
 * Every call and return, by time. At equal times calls come before returns:
 * operations that touch at an instant count as concurrent, which can only
 * allow more orders, never report a violation that did not happen.
 */
export function timeOrderedEvents(operations: readonly SearchOperation[]): TimedEvent[] {
  const events: TimedEvent[] = [];
  operations.forEach((operation, index) => {
    events.push({ time: operation.callTime, isReturn: false, operation: index });
    if (operation.returnTime !== Infinity) events.push({ time: operation.returnTime, isReturn: true, operation: index });
  });
  // Array.prototype.sort is stable, so equal events keep the order of the operations.
  return events.sort((left, right) => left.time - right.time || Number(left.isReturn) - Number(right.isReturn));
}

/**
 * The set of linearized operations, with a compact memo key. Completed
 * operations are numbered in call order, so every completed operation below
 * the lowest one not yet linearized is linearized: the key need only hold that
 * number and the bits from it to the highest linearized one (a window about
 * as wide as the number of concurrent clients).
 *
 * Pending operations, which may stay undecided for the whole history, are
 * counted by kind instead: two pending operations with the same function and
 * values are interchangeable once both are invoked (neither has a deadline),
 * and only invoked ones can have been linearized, so what matters is how many
 * of each kind are used up, not which.
 */
class LinearizedSet {
  /** Per operation: its index among completed operations, or -1 for a pending one. */
  private readonly completedIndex: Int32Array;
  /** Per operation: its kind among pending operations, or -1 for a completed one. */
  private readonly pendingKind: Int32Array;
  private readonly completedBits: Uint32Array;
  /** Pending operations linearized, per kind: read by the cache, never written outside this class. */
  readonly pendingUsed: Uint32Array;
  private readonly completedCount: number;
  /** The lowest completed index not linearized; all below it are. */
  private lowest = 0;
  /** No word above this one has a bit set. */
  private highWord = 0;

  constructor(operations: readonly SearchOperation[]) {
    this.completedIndex = new Int32Array(operations.length).fill(-1);
    this.pendingKind = new Int32Array(operations.length).fill(-1);
    const kinds = new Map<string, number>();
    let completedCount = 0;
    for (const index of indicesByCallTime(operations)) {
      const operation = operations[index];
      if (operation.returnTime !== Infinity) {
        this.completedIndex[index] = completedCount++;
        continue;
      }
      const kind = `${operation.f} ${operation.a} ${operation.b}`;
      if (!kinds.has(kind)) kinds.set(kind, kinds.size);
      this.pendingKind[index] = kinds.get(kind) as number;
    }
    this.completedCount = completedCount;
    this.completedBits = new Uint32Array(Math.ceil(completedCount / 32));
    this.pendingUsed = new Uint32Array(kinds.size);
  }

  add(operation: number): void {
    const index = this.completedIndex[operation];
    if (index === -1) {
      this.pendingUsed[this.pendingKind[operation]] += 1;
      return;
    }
    setBit(this.completedBits, index);
    this.highWord = Math.max(this.highWord, index >>> 5);
    while (this.lowest < this.completedCount && hasBit(this.completedBits, this.lowest)) this.lowest += 1;
  }

  remove(operation: number): void {
    const index = this.completedIndex[operation];
    if (index === -1) {
      this.pendingUsed[this.pendingKind[operation]] -= 1;
      return;
    }
    clearBit(this.completedBits, index);
    this.lowest = Math.min(this.lowest, index);
  }

  /** A string that names `state` and the completed operations linearized exactly: 16-bit code units. */
  completedKey(state: number): string {
    const firstWord = this.lowest >>> 5;
    while (this.highWord > firstWord && this.completedBits[this.highWord] === 0) this.highWord -= 1;
    const windowWords = this.lowest >= this.completedCount ? 0 : Math.max(0, this.highWord - firstWord + 1);
    const units: number[] = [];
    pushWord(units, state);
    pushWord(units, this.lowest);
    pushWord(units, windowWords);
    for (let word = 0; word < windowWords; word++) pushWord(units, this.completedBits[firstWord + word]);
    return codeUnitsToString(units);
  }
}

/** Appends a 32-bit number as two 16-bit code units. */
function pushWord(units: number[], word: number): void {
  units.push(word & 0xffff, word >>> 16);
}

/** Arguments per String.fromCharCode call: engines limit how many a call may take. */
const codeUnitsPerCallMax = 8192;

function codeUnitsToString(units: readonly number[]): string {
  if (units.length <= codeUnitsPerCallMax) return String.fromCharCode(...units);
  const parts: string[] = [];
  for (let start = 0; start < units.length; start += codeUnitsPerCallMax) {
    parts.push(String.fromCharCode(...units.slice(start, start + codeUnitsPerCallMax)));
  }
  return parts.join('');
}

/** Operation indices in order of call time (stable, so equal times keep their order). */
function indicesByCallTime(operations: readonly SearchOperation[]): number[] {
  return operations.map((_, index) => index).sort((left, right) => operations[left].callTime - operations[right].callTime);
}

function setBit(bits: Uint32Array, index: number): void {
  bits[index >>> 5] |= 1 << (index & 31);
}

function clearBit(bits: Uint32Array, index: number): void {
  bits[index >>> 5] &= ~(1 << (index & 31));
}

function hasBit(bits: Uint32Array, index: number): boolean {
  return (bits[index >>> 5] & (1 << (index & 31))) !== 0;
}
