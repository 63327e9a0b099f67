// The size SPEC asks for: 10,000 operations over 10 keys from 10 processes,
// with some outcomes unknown, must be decided (in seconds; measured, not
// asserted, as this machine is shared).
import { describe, expect, it } from 'vitest';
import { checkHistory, parseHistory } from '../../../src/check/index.js';
import { historyText, simulateRegister, type OperationSpec } from './histories.js';

const history = simulateRegister({ seed: 2024, processes: 10, keys: 10, operations: 10_000, infoRate: 0.01, valuesPerKey: 5 });

describe('10,000 operations over 10 keys from 10 processes', () => {
  it('are linearizable', () => {
    const result = checkHistory(parseHistory(historyText(history)));
    expect(result).toMatchObject({ verdict: 'linearizable', operations: 10_000, keys: 10, undecided: [] });
  });

  it('are not once a late read returns a value nobody wrote, explained by that read alone', () => {
    const result = checkHistory(parseHistory(historyText(corruptLastRead(history))));
    expect(result.verdict).toBe('violation');
    expect(result.violations).toHaveLength(1);
    expect(result.violations[0].explanation?.operations.map((operation) => operation.value)).toEqual(['never written']);
  });
});

function corruptLastRead(operations: readonly OperationSpec[]): OperationSpec[] {
  const last = operations.findLastIndex((operation) => operation.f === 'read' && operation.outcome === 'ok');
  return operations.map((operation, index) => (index === last ? { ...operation, value: 'never written' } : operation));
}
