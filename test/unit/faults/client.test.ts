import { describe, expect, it } from 'vitest';
import { faultExitCode, parseDropRate, parseNodeIds, renderFaultResults, type FaultResult } from '../../../src/client/faults.js';

describe('fault command parsing', () => {
  it('reads node id lists', () => {
    expect(parseNodeIds('2,3')).toEqual([2, 3]);
    expect(parseNodeIds(' 4 , 5 ')).toEqual([4, 5]);
    for (const bad of ['', ',', 'x', '0', '2.5', '-1', '1000001']) expect(() => parseNodeIds(bad)).toThrow();
  });

  it('reads drop rates as fractions or percentages', () => {
    expect(parseDropRate('0.2')).toBe(0.2);
    expect(parseDropRate('20%')).toBe(0.2);
    expect(parseDropRate('0')).toBe(0);
    expect(parseDropRate('1')).toBe(1);
    for (const bad of ['1.5', '101%', '-0.1', 'half', '']) expect(() => parseDropRate(bad)).toThrow(/invalid drop rate/);
  });
});

describe('fault results', () => {
  const applied: FaultResult = { node: 1, address: '127.0.0.1:7401', reachable: true, ok: true, message: 'node 1: no faults' };
  const refused: FaultResult = { ...applied, ok: false, message: 'fault injection is off' };
  const lost: FaultResult = { node: 2, address: null, reachable: false, ok: false, message: 'connect ECONNREFUSED' };

  it('exits 0 when applied, 1 when refused, 4 when not reached', () => {
    expect(faultExitCode([applied])).toBe(0);
    expect(faultExitCode([applied, lost])).toBe(4);
    expect(faultExitCode([lost, refused])).toBe(1);
  });

  it('renders one line per node, saying who refused and why', () => {
    expect(renderFaultResults([applied, refused, lost])).toEqual([
      'node 1: no faults',
      'node 1 (127.0.0.1:7401): refused: fault injection is off',
      'node 2: not reached: connect ECONNREFUSED',
    ]);
  });
});
