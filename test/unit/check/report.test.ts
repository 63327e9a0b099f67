// What a person reads from `paxos check`.
import { describe, expect, it } from 'vitest';
import { checkExitCode, checkHistory, parseHistory, renderCheckReport, type CheckResult } from '../../../src/check/index.js';
import { cas, historyText, read, write } from './histories.js';

describe('renderCheckReport', () => {
  it('says linearizable, then a summary', () => {
    const result = checkHistory(parseHistory(historyText([write(0, '1', 0, 1), { ...read(1, null, 2, 3), key: 'y' }])));
    const lines = renderCheckReport(result, 1234);
    expect(lines).toEqual(['linearizable', expect.stringMatching(/^2 operations on 2 keys, \d+ states, checked in 1\.23 s$/)]);
    expect(checkExitCode(result)).toBe(0);
  });

  it('shows the key and a table of the operations that cannot be ordered, marking where it shows', () => {
    const result = checkHistory(parseHistory(historyText([write(0, '1', 0, 10), write(1, '2', 20, 30), read(2, '2', 40, 50), read(3, '1', 60, 70)])));
    const lines = renderCheckReport(result, 5);
    expect(lines[0]).toBe('not linearizable: key "x": these 3 operations cannot be ordered (of 4 on the key)');
    expect(lines[1]).toMatch(/^ {2}PROCESS\s+OPERATION\s+INVOKED\s+COMPLETED\s+LINES$/);
    expect(lines[2]).toMatch(/^ {2}0\s+write "1"\s+0\s+ok at 10\s+1,2$/);
    expect(lines[4]).toMatch(/^ {2}3\s+read → "1"\s+60\s+ok at 70\s+7,8\s+← no order explains this result$/);
    expect(lines.at(-1)).toMatch(/^4 operations on 1 key, 1 key not linearizable, /);
    expect(checkExitCode(result)).toBe(1);
  });

  it('renders cas, info and in-flight operations', () => {
    const result = checkHistory(parseHistory(historyText([
      write(0, 'a', 0, 10),
      cas(1, 'a', 'b', 20, 30),
      cas(2, 'a', 'c', 40, 50),
      write(3, 'z', 41, null),
      write(4, 'y', 42, 45, 'info'),
    ])));
    const text = renderCheckReport(result, 0).join('\n');
    expect(text).toContain('cas "a" → "c"');
    expect(result.violations[0].explanation?.operations.map((operation) => operation.f)).toEqual(['write', 'cas', 'cas']);
  });

  it('says unknown, with the limit to raise, when a key was undecided', () => {
    const result: CheckResult = { verdict: 'unknown', operations: 10, keys: 1, states: 11, violations: [], undecided: [{ key: 'x', keyOperations: 10, states: 11 }] };
    expect(renderCheckReport(result, 0)[0]).toBe('unknown: gave up on key "x" (10 operations) after 11 states; raise --max-states, or record shorter runs or more keys');
    expect(checkExitCode(result)).toBe(3);
  });
});
