// The checker on crafted histories (each a classic way a replicated register
// goes wrong, or a tricky way it does not), on random histories from a real
// register, and against a brute-force oracle.
import { describe, expect, it } from 'vitest';
import { compileKey } from '../../../src/check/compile.js';
import { checkHistory, parseHistory, searchLinearization, type CheckResult, type JsonValue, type Operation } from '../../../src/check/index.js';
import { timeOrderedEvents } from '../../../src/check/search.js';
import { bruteForceLinearizable, cas, historyText, read, seededRandom, simulateRegister, write, type OperationSpec } from './histories.js';

function check(operations: readonly OperationSpec[]): CheckResult {
  return checkHistory(parseHistory(historyText(operations)));
}

/** The explanation of the first violation, one "process f value" string per operation. */
function explanation(result: CheckResult): string[] {
  const operations = result.violations[0]?.explanation?.operations ?? [];
  return operations.map((operation) => `${operation.process} ${operation.f} ${JSON.stringify(operation.value)}`);
}

describe('linearizable histories', () => {
  it('accepts an empty history', () => {
    expect(checkHistory([])).toMatchObject({ verdict: 'linearizable', operations: 0, keys: 0 });
  });

  it('accepts sequential writes and reads, and reads of a missing key as null', () => {
    const result = check([read(0, null, 0, 1), write(0, '1', 2, 3), read(1, '1', 4, 5), write(1, '2', 6, 7), read(0, '2', 8, 9)]);
    expect(result).toMatchObject({ verdict: 'linearizable', operations: 5, keys: 1, violations: [], undecided: [] });
  });

  it('accepts concurrent operations in either order', () => {
    // The reads overlap both writes, so each may see either value.
    const overlapping = [write(0, 'a', 0, 10), write(1, 'b', 0, 10), read(2, 'a', 5, 15), read(3, 'b', 5, 15)];
    expect(check(overlapping).verdict).toBe('linearizable');
    const swapped = [write(0, 'a', 0, 10), write(1, 'b', 0, 10), read(2, 'b', 5, 15), read(3, 'a', 5, 15)];
    expect(check(swapped).verdict).toBe('linearizable');
  });

  it('treats operations that touch at one instant as concurrent', () => {
    expect(check([write(0, '1', 0, 5), read(1, null, 5, 6)]).verdict).toBe('linearizable');
  });

  it('accepts a successful cas and ignores failed operations, a refused cas among them', () => {
    const result = check([
      write(0, '1', 0, 1),
      cas(1, '1', '2', 2, 3),
      cas(2, '1', '3', 4, 5, 'fail'),
      write(0, '9', 6, 7, 'fail'),
      read(1, '2', 8, 9),
    ]);
    expect(result.verdict).toBe('linearizable');
  });

  it('accepts an info write that must have applied: a later read sees it', () => {
    expect(check([write(0, '1', 0, 10, 'info'), read(1, '1', 20, 30)]).verdict).toBe('linearizable');
  });

  it('lets an info write apply long after its process gave up', () => {
    const result = check([write(0, '1', 0, 10, 'info'), read(1, null, 20, 30), read(1, '1', 40, 50)]);
    expect(result.verdict).toBe('linearizable');
  });

  it('accepts an info write that never applied: later reads contradict it', () => {
    expect(check([write(0, '1', 0, 10, 'info'), read(1, null, 20, 30), read(1, null, 40, 50)]).verdict).toBe('linearizable');
  });

  it('treats an operation in flight at the end as info', () => {
    expect(check([write(0, '1', 0, null), read(1, '1', 20, 30)]).verdict).toBe('linearizable');
    expect(check([write(0, '1', 0, null), read(1, null, 20, 30)]).verdict).toBe('linearizable');
  });

  it('checks keys independently', () => {
    const result = check([{ ...write(0, '1', 0, 1), key: 'a' }, { ...write(1, '1', 0, 1), key: 'b' }, { ...read(2, null, 2, 3), key: 'c' }]);
    expect(result).toMatchObject({ verdict: 'linearizable', keys: 3 });
  });

  it('compares JSON values as the store does: by value, object key order aside, "5" unlike 5', () => {
    expect(check([write(0, { a: 1, b: 2 }, 0, 1), read(1, { b: 2, a: 1 }, 2, 3)]).verdict).toBe('linearizable');
    expect(check([write(0, 5, 0, 1), read(1, '5', 2, 3)]).verdict).toBe('violation');
  });
});

describe('non-linearizable histories', () => {
  it('finds a stale read and explains it with the two writes and the read', () => {
    const result = check([write(0, '1', 0, 10), write(1, '2', 20, 30), read(2, '2', 40, 50), read(3, '1', 60, 70)]);
    expect(result.verdict).toBe('violation');
    expect(result.violations[0]).toMatchObject({ key: 'x', keyOperations: 4 });
    expect(explanation(result)).toEqual(['0 write "1"', '1 write "2"', '3 read "1"']);
    expect(result.violations[0].explanation?.minimal).toBe(true);
  });

  it('finds a lost write: an acknowledged write that a later read does not see', () => {
    const result = check([write(0, '1', 0, 10), read(1, null, 20, 30)]);
    expect(result.verdict).toBe('violation');
    expect(explanation(result)).toEqual(['0 write "1"', '1 read null']);
  });

  it('finds a read of a value nobody wrote', () => {
    const result = check([write(0, '1', 0, 10), read(1, '7', 20, 30), write(2, '3', 40, 50)]);
    expect(explanation(result)).toEqual(['1 read "7"']);
  });

  it('finds a cas that took effect twice', () => {
    const result = check([write(0, '0', 0, 10), cas(1, '0', '1', 20, 30), cas(2, '0', '1', 40, 50)]);
    expect(result.verdict).toBe('violation');
    expect(explanation(result)).toEqual(['0 write "0"', '1 cas ["0","1"]', '2 cas ["0","1"]']);
  });

  it('finds concurrent cas operations that both succeeded on one value', () => {
    expect(check([write(0, '0', 0, 10), cas(1, '0', '1', 20, 30), cas(2, '0', '2', 20, 30)]).verdict).toBe('violation');
  });

  it('finds an info write that must have applied but is contradicted later', () => {
    // Seen by one read, then gone though nothing else wrote: applying it or not, some read is wrong.
    const result = check([write(0, '1', 0, 10, 'info'), read(1, '1', 20, 30), read(1, null, 40, 50)]);
    expect(result.verdict).toBe('violation');
    expect(explanation(result)).toEqual(['0 write "1"', '1 read "1"', '1 read null']);
  });

  it('finds an info write that no order can place', () => {
    // Read 2 needs the info write of 2 after the write of 1; the last read then cannot see 1.
    const result = check([write(0, '1', 0, 10), write(1, '2', 0, 10, 'info'), read(2, '2', 20, 30), read(2, '1', 40, 50)]);
    expect(result.verdict).toBe('violation');
  });

  it('does not let a failed write explain a read', () => {
    expect(check([write(0, '1', 0, 10, 'fail'), read(1, '1', 20, 30)]).verdict).toBe('violation');
  });

  it('reports each violating key and leaves the others alone', () => {
    const result = check([
      { ...write(0, '1', 0, 10), key: 'good' },
      { ...read(1, '1', 20, 30), key: 'good' },
      { ...write(0, '1', 40, 50), key: 'bad' },
      { ...read(1, null, 60, 70), key: 'bad' },
    ]);
    expect(result.violations.map((violation) => violation.key)).toEqual(['bad']);
  });

  it('marks operations that completed only after the violation as in flight', () => {
    // The slow write completes long after the stale read shows the violation.
    const result = check([write(0, '1', 0, 10), write(1, '2', 5, 1000), read(2, '2', 20, 30), read(3, '1', 40, 50)]);
    const operations = result.violations[0].explanation?.operations ?? [];
    expect(operations.find((operation) => operation.value === '2' && operation.f === 'write')?.completesAfterViolation).toBe(true);
  });
});

describe('the search limit', () => {
  it('answers unknown, not a verdict, when a key needs more states than allowed', () => {
    const history = parseHistory(historyText(simulateRegister({ seed: 7, processes: 5, keys: 1, operations: 200, infoRate: 0, valuesPerKey: 3 })));
    const result = checkHistory(history, { searchStatesMax: 10 });
    expect(result.verdict).toBe('unknown');
    expect(result.undecided).toEqual([{ key: 'k0', keyOperations: 200, states: 11 }]);
  });
});

describe('random histories from a real register', () => {
  const seeds = Array.from({ length: 30 }, (_, index) => index + 1);

  it.each(seeds)('seed %i: linearizable by construction, and not once a read is corrupted', (seed) => {
    const operations = simulateRegister({ seed, processes: 5, keys: 2, operations: 300, infoRate: 0.05, valuesPerKey: 4 });
    expect(check(operations).verdict).toBe('linearizable');
    const corrupted = corruptOneRead(operations, seed);
    const result = check(corrupted);
    expect(result.verdict).toBe('violation');
    expect(result.violations[0].explanation?.operations.some((operation) => operation.value === 'corrupt')).toBe(true);
  });

  it('agrees with a brute-force search on small histories', () => {
    const random = seededRandom(99);
    let violations = 0;
    for (let trial = 0; trial < 400; trial++) {
      const operations = simulateRegister({ seed: trial + 1000, processes: 3, keys: 1, operations: 7, infoRate: 0.15, valuesPerKey: 2 });
      const mutated = random() < 0.7 ? mutateOne(operations, random) : operations;
      const parsed = parseHistory(historyText(mutated));
      const expected = bruteForceLinearizable(parsed);
      expect(checkHistory(parsed).verdict, historyText(mutated)).toBe(expected ? 'linearizable' : 'violation');
      if (!expected) violations += 1;
    }
    // The mutations must produce both verdicts, or the comparison proves little.
    expect(violations).toBeGreaterThan(40);
    expect(violations).toBeLessThan(360);
  });

  it('agrees with a brute-force search when many outcomes are unknown', () => {
    const random = seededRandom(5);
    for (let trial = 0; trial < 300; trial++) {
      const operations = simulateRegister({ seed: trial + 5000, processes: 4, keys: 1, operations: 8, infoRate: 0.4, valuesPerKey: 2 });
      const parsed = parseHistory(historyText(random() < 0.7 ? mutateOne(operations, random) : operations));
      expect(checkHistory(parsed).verdict).toBe(bruteForceLinearizable(parsed) ? 'linearizable' : 'violation');
    }
  });

  it('agrees with a brute-force search when many events share a time', () => {
    const random = seededRandom(11);
    for (let trial = 0; trial < 300; trial++) {
      const coarse = simulateRegister({ seed: trial + 7000, processes: 4, keys: 1, operations: 8, infoRate: 0.1, valuesPerKey: 2 })
        .map((operation) => ({ ...operation, invoke: Math.floor(operation.invoke / 20_000), complete: operation.complete === null ? null : Math.floor(operation.complete / 20_000) }));
      const parsed = parseHistory(historyText(random() < 0.7 ? mutateOne(coarse, random) : coarse));
      expect(checkHistory(parsed).verdict).toBe(bruteForceLinearizable(parsed) ? 'linearizable' : 'violation');
    }
  });

  it('explains with operations that, alone, the brute-force search cannot order, and cuts at the shortest such prefix', () => {
    const random = seededRandom(17);
    let explained = 0;
    for (let trial = 0; trial < 300; trial++) {
      const operations = simulateRegister({ seed: trial + 9000, processes: 3, keys: 1, operations: 8, infoRate: 0.15, valuesPerKey: 2 });
      const parsed = parseHistory(historyText(mutateOne(operations, random)));
      const result = checkHistory(parsed);
      if (result.verdict !== 'violation') continue;
      explained += 1;
      const explanation = result.violations[0].explanation?.operations ?? [];
      const asChecked = explanation.map((operation) => (operation.completesAfterViolation ? inFlight(operation) : operation));
      expect(bruteForceLinearizable(asChecked)).toBe(false);
      expect(explanation.filter((operation) => operation.unexplained)).toHaveLength(1);
      const compiled = compileKey(parsed);
      const violationEvent = searchLinearization(compiled.map((operation) => operation.search), 1e6).violationEvent ?? -1;
      expect(bruteForceLinearizable(prefix(compiled, violationEvent + 1))).toBe(false);
      expect(bruteForceLinearizable(prefix(compiled, violationEvent))).toBe(true);
    }
    expect(explained).toBeGreaterThan(50);
  });
});

function inFlight(operation: Operation): Operation {
  return { ...operation, outcome: 'info', completeTime: null, completeLine: null };
}

/** The operations of the first `eventCount` events: later completions become in flight; reads in flight are dropped. */
function prefix(compiled: ReturnType<typeof compileKey>, eventCount: number): Operation[] {
  const events = timeOrderedEvents(compiled.map((operation) => operation.search)).slice(0, eventCount);
  const returned = new Set(events.filter((event) => event.isReturn).map((event) => event.operation));
  return events.filter((event) => !event.isReturn).flatMap((event) => {
    const { source } = compiled[event.operation];
    if (returned.has(event.operation) || source.outcome !== 'ok') return [source];
    return source.f === 'read' ? [] : [inFlight(source)];
  });
}

/** Sets one completed read's value to a value nobody wrote. */
function corruptOneRead(operations: readonly OperationSpec[], seed: number): OperationSpec[] {
  const reads = operations.map((operation, index) => ({ operation, index })).filter(({ operation }) => operation.f === 'read' && operation.outcome === 'ok');
  const chosen = reads[seed % reads.length].index;
  return operations.map((operation, index) => (index === chosen ? { ...operation, value: 'corrupt' } : operation));
}

/** Changes one operation: a read's or a write's value, an outcome, or a cas's expected value. */
function mutateOne(operations: readonly OperationSpec[], random: () => number): OperationSpec[] {
  const chosen = Math.floor(random() * operations.length);
  const values: JsonValue[] = [null, 'v0', 'v1'];
  const pick = (): JsonValue => values[Math.floor(random() * values.length)];
  return operations.map((operation, index) => {
    if (index !== chosen) return operation;
    if (operation.f === 'cas') return random() < 0.5 ? { ...operation, value: [pick(), (operation.value as JsonValue[])[1]] } : { ...operation, outcome: 'ok' };
    if (random() < 0.2) return { ...operation, outcome: operation.outcome === 'ok' ? 'info' : 'ok' };
    return { ...operation, value: pick() };
  });
}
