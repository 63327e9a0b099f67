// Builders of histories for the checker's tests: crafted operations written
// as SPEC's JSON lines, histories simulated from a real register (linearizable
// by construction), and a brute-force oracle for small histories.
import type { JsonValue, Operation } from '../../../src/check/index.js';

/** One operation as a test writes it; key defaults to "x", outcome to ok. */
export interface OperationSpec {
  process: number;
  f: 'read' | 'write' | 'cas';
  key?: string;
  /** write: the value; cas: [expected, new]; read: the value read. */
  value: JsonValue;
  invoke: number;
  /** Completion time; null leaves the operation in flight at the end. */
  complete: number | null;
  outcome?: 'ok' | 'fail' | 'info';
}

export function read(process: number, value: JsonValue, invoke: number, complete: number | null, outcome: OperationSpec['outcome'] = 'ok'): OperationSpec {
  return { process, f: 'read', value, invoke, complete, outcome };
}

export function write(process: number, value: JsonValue, invoke: number, complete: number | null, outcome: OperationSpec['outcome'] = 'ok'): OperationSpec {
  return { process, f: 'write', value, invoke, complete, outcome };
}

export function cas(process: number, expected: JsonValue, written: JsonValue, invoke: number, complete: number | null, outcome: OperationSpec['outcome'] = 'ok'): OperationSpec {
  return { process, f: 'cas', value: [expected, written], invoke, complete, outcome };
}

interface TimedLine {
  time: number;
  order: number;
  line: string;
}

/** The history's JSON lines, events in time order (an invocation before a completion at equal times). */
export function historyText(operations: readonly OperationSpec[]): string {
  const lines: TimedLine[] = [];
  operations.forEach((operation, index) => {
    const key = operation.key ?? 'x';
    const invokeValue = operation.f === 'read' ? null : operation.value;
    lines.push({ time: operation.invoke, order: 2 * index, line: JSON.stringify({ process: operation.process, type: 'invoke', f: operation.f, key, value: invokeValue, time: operation.invoke }) });
    if (operation.complete === null) return;
    const value = operation.f === 'read' && operation.outcome !== 'ok' ? null : operation.value;
    const completion = { process: operation.process, type: operation.outcome ?? 'ok', f: operation.f, key, value, time: operation.complete };
    lines.push({ time: operation.complete, order: 2 * index + 1, line: JSON.stringify(completion) });
  });
  lines.sort((left, right) => left.time - right.time || left.order - right.order);
  return `${lines.map((entry) => entry.line).join('\n')}\n`;
}

/** A small seeded PRNG (mulberry32), so a failing random test can be rerun. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SimulationOptions {
  seed: number;
  processes: number;
  keys: number;
  operations: number;
  /** Chance that an operation's outcome is lost (recorded as info); it then takes effect or not at random. */
  infoRate: number;
  /** Distinct values written per key: few values make cas succeed and reads ambiguous. */
  valuesPerKey: number;
}

interface SimulatedOperation extends OperationSpec {
  /** The instant it takes effect, between invoke and complete. */
  effect: number;
  takesEffect: boolean;
}

/**
 * Closed-loop processes against one real register per key: each operation
 * takes effect at a random instant inside its own interval, and what it
 * returns is what the register gave at that instant, so the history is
 * linearizable by construction. A refused cas is recorded as fail, as
 * `paxos submit --history` does.
 */
export function simulateRegister(options: SimulationOptions): OperationSpec[] {
  const random = seededRandom(options.seed);
  const operations = scheduleOperations(options, random);
  const registers = new Map<string, JsonValue>();
  for (const operation of [...operations].sort((left, right) => left.effect - right.effect)) applyAtEffect(operation, registers);
  return operations;
}

function scheduleOperations(options: SimulationOptions, random: () => number): SimulatedOperation[] {
  const operations: SimulatedOperation[] = [];
  const clocks = Array.from({ length: options.processes }, () => Math.floor(random() * 10));
  // Equal effect instants are fine: both intervals contain the instant, so either order is real.
  for (let index = 0; index < options.operations; index++) {
    const process = Math.floor(random() * options.processes);
    const invoke = clocks[process] + 1 + Math.floor(random() * 20) * 1000;
    const effect = invoke + 1 + Math.floor(random() * 50) * 1000 + (index % 997);
    const complete = effect + 1 + Math.floor(random() * 50) * 1000;
    clocks[process] = complete;
    operations.push(randomOperation({ process, invoke, effect, complete, random, options }));
  }
  return operations;
}

function randomOperation(input: { process: number; invoke: number; effect: number; complete: number; random: () => number; options: SimulationOptions }): SimulatedOperation {
  const { random, options } = input;
  const key = `k${Math.floor(random() * options.keys)}`;
  const value = (): string => `v${Math.floor(random() * options.valuesPerKey)}`;
  const kind = random();
  const info = random() < options.infoRate;
  const base = { process: input.process, key, invoke: input.invoke, complete: input.complete, effect: input.effect, outcome: info ? 'info' as const : 'ok' as const, takesEffect: !info || random() < 0.5 };
  if (kind < 0.45) return { ...base, f: 'read', value: null };
  if (kind < 0.8) return { ...base, f: 'write', value: value() };
  return { ...base, f: 'cas', value: [random() < 0.2 ? null : value(), value()] };
}

function applyAtEffect(operation: SimulatedOperation, registers: Map<string, JsonValue>): void {
  const key = operation.key ?? 'x';
  const current = registers.get(key) ?? null;
  if (!operation.takesEffect) return;
  if (operation.f === 'read') operation.value = current;
  if (operation.f === 'write') registers.set(key, operation.value);
  if (operation.f !== 'cas') return;
  const [expected, written] = operation.value as [JsonValue, JsonValue];
  if (expected === current) registers.set(key, written);
  else if (operation.outcome === 'ok') operation.outcome = 'fail';
}

/**
 * The oracle: tries every order of `operations` (one key's, as parsed) that
 * respects real time, with info operations optional. Exponential: for
 * histories of at most about 8 operations.
 */
export function bruteForceLinearizable(operations: readonly Operation[]): boolean {
  const candidates = operations.filter((operation) => operation.outcome !== 'fail' && !(operation.f === 'read' && operation.outcome !== 'ok'));
  const returns = candidates.map((operation) => (operation.outcome === 'ok' && operation.completeTime !== null ? operation.completeTime : Infinity));
  const done = new Array<boolean>(candidates.length).fill(false);
  const search = (state: string): boolean => {
    const left = candidates.map((_, index) => index).filter((index) => !done[index]);
    if (left.every((index) => returns[index] === Infinity)) return true;
    for (const index of left) {
      // It may go next only if no other remaining completed operation returned before it was invoked.
      if (left.some((other) => other !== index && returns[other] < candidates[index].invokeTime)) continue;
      const next = stepOracle(state, candidates[index]);
      if (next === undefined) continue;
      done[index] = true;
      const found = search(next);
      done[index] = false;
      if (found) return true;
    }
    return false;
  };
  return search('null');
}

function stepOracle(state: string, operation: Operation): string | undefined {
  const text = (value: JsonValue): string => JSON.stringify(value);
  if (operation.f === 'read') return text(operation.value) === state ? state : undefined;
  if (operation.f === 'write') return text(operation.value);
  const [expected, written] = operation.value as [JsonValue, JsonValue];
  return text(expected) === state ? text(written) : undefined;
}

/**
 * A known violation for the report's tests: on key "x" a read returns "1"
 * after "2" overwrote it (the operations invoked on lines 1, 3 and 11 cannot
 * be ordered; the read invoked on line 11 is where it shows), around operations that do not matter: a read of
 * "2", a failed cas, a write whose outcome is unknown, one still in flight at
 * the end, and a linearizable key "a" (sorted before "x", so the report must
 * pick "x" by its violation, not by its place).
 */
export const staleReadHistory: OperationSpec[] = [
  write(0, '1', 0, 10),
  write(1, '2', 20, 30),
  { ...read(4, null, 22, 33), key: 'a' },
  read(2, '2', 40, 50),
  cas(6, '1', '3', 45, 58, 'fail'),
  read(3, '1', 60, 70),
  write(5, '9', 61, 65, 'info'),
  { ...write(7, 'late', 66, null), key: 'a' },
];

/**
 * A linearizable history from a register per key, then one read (1% into
 * the history, on key "k2") made to return a value nobody wrote. Operation n is invoked at 10n, takes effect at
 * 10n + 5 and completes up to 300 later, so each key has a handful of
 * operations in flight at once (64 processes, each with at most one), values
 * are unique, and the checker decides it in a second or two.
 */
export function manyProcessHistory(operations: number): { specs: OperationSpec[]; corrupted: OperationSpec } {
  const random = seededRandom(15);
  const processes = 64;
  const keys = 4;
  const registers = new Map<string, string | null>();
  const specs: OperationSpec[] = [];
  for (let n = 0; n < operations; n++) {
    const key = `k${Math.floor(random() * keys)}`;
    const current = registers.get(key) ?? null;
    const invoke = 10 * n;
    const complete = invoke + 5 + Math.floor(random() * 300);
    const base = { process: n % processes, key, invoke, complete };
    const kind = random();
    if (kind < 0.45) {
      specs.push({ ...base, f: 'read', value: current, outcome: 'ok' });
    } else if (kind < 0.85) {
      const lost = random() < 0.002;
      const value = `w${n}`;
      if (!lost || random() < 0.5) registers.set(key, value);
      specs.push({ ...base, f: 'write', value, outcome: lost ? 'info' : 'ok' });
    } else {
      const expected = random() < 0.7 ? current : `w${Math.max(0, n - 40)}`;
      const applied = expected === current;
      if (applied) registers.set(key, `c${n}`);
      specs.push({ ...base, f: 'cas', value: [expected, `c${n}`], outcome: applied ? 'ok' : 'fail' });
    }
  }
  // Early, so that the checker's explanation is short (shrinking starts from the prefix up to the violation).
  const early = specs.findIndex((spec, index) => index >= operations / 100 && spec.f === 'read' && spec.key === 'k2');
  specs[early] = { ...specs[early], value: 'never written' };
  return { specs, corrupted: specs[early] };
}
