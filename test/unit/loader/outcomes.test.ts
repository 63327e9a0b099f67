// The runtime's ring of recent slot outcome digests, which replicas vote with.
import { describe, expect, it } from 'vitest';
import { digestOutcomes, outcomesKeptSlotsMax, SlotOutcomes } from '../../../src/node/driver/outcomes.js';
import type { CommandOutcome } from '../../../src/node/statemachine/sessions.js';

function applied(slot: number, result: unknown): CommandOutcome[] {
  return [{ client: 'c', seq: slot, slot, ok: true, result }];
}

describe('SlotOutcomes', () => {
  it('answers with the digest of a slot it applied, and passes the outcomes through', () => {
    const ring = new SlotOutcomes();
    const outcomes = applied(1, 'OK');
    expect(ring.record(1, outcomes)).toBe(outcomes);
    expect(ring.reply({ type: 'slot_outcome', id: 7, slot: 1 }, 1)).toEqual({
      type: 'slot_outcome_reply',
      id: 7,
      slot: 1,
      known: true,
      digest: digestOutcomes(outcomes),
      lastApplied: 1,
    });
  });

  it('says "not known" with how far it applied for a slot it has not applied yet', () => {
    const ring = new SlotOutcomes();
    ring.record(1, applied(1, 'OK'));
    expect(ring.reply({ type: 'slot_outcome', id: 1, slot: 2 }, 1)).toMatchObject({ known: false, digest: null, lastApplied: 1 });
    expect(ring.reply({ type: 'slot_outcome', id: 1, slot: 0 }, 1)).toMatchObject({ known: false });
  });

  it('forgets the oldest slot when full, and a slot it skipped (by a snapshot) is not known', () => {
    const ring = new SlotOutcomes(4);
    for (let slot = 1; slot <= 6; slot++) ring.record(slot, applied(slot, slot));
    expect(ring.digestOf(1)).toBeUndefined();
    expect(ring.digestOf(2)).toBeUndefined();
    expect(ring.digestOf(3)).toBe(digestOutcomes(applied(3, 3)));
    expect(ring.digestOf(6)).toBe(digestOutcomes(applied(6, 6)));
    ring.record(20, applied(20, 20)); // installed a snapshot at 19, then applied 20
    expect(ring.reply({ type: 'slot_outcome', id: 1, slot: 15 }, 20)).toMatchObject({ known: false, lastApplied: 20 });
  });

  it('keeps a bounded number of slots by default', () => {
    expect(outcomesKeptSlotsMax).toBeGreaterThanOrEqual(1024);
    expect(() => new SlotOutcomes(0)).toThrow(/positive integer/);
  });
});

describe('digestOutcomes', () => {
  it('covers the result, not only the state: equal commands with different results differ', () => {
    expect(digestOutcomes(applied(5, 1234))).not.toBe(digestOutcomes(applied(5, 4321)));
    expect(digestOutcomes(applied(5, { a: 1 }))).toBe(digestOutcomes(applied(5, { a: 1 })));
  });

  it('covers refusals and their messages', () => {
    const refused = (error: string): CommandOutcome[] => [{ client: 'c', seq: 1, slot: 1, ok: false, error }];
    expect(digestOutcomes(refused('insufficient funds'))).not.toBe(digestOutcomes(refused('unknown account')));
    expect(digestOutcomes(refused('x'))).not.toBe(digestOutcomes(applied(1, 'x')));
  });

  it('tells results of different types apart, and strings that only differ in where they split', () => {
    const results: unknown[] = ['1', 1, true, 'true', null, 'null', { a: 1 }, [1], new Uint8Array([1]), 1.5, -1];
    const digests = results.map((result) => digestOutcomes(applied(1, result)));
    expect(new Set(digests).size).toBe(results.length);
    const pair = (first: string, second: string): CommandOutcome[] => [...applied(1, first), { client: 'c', seq: 2, slot: 1, ok: true, result: second }];
    expect(digestOutcomes(pair('ab', 'c'))).not.toBe(digestOutcomes(pair('a', 'bc')));
    expect(digestOutcomes(applied(1, { nested: [1, 'x'] }))).toBe(digestOutcomes(applied(1, { nested: [1, 'x'] })));
  });

  it('is a short hex string that fits the wire limit', () => {
    expect(digestOutcomes([])).toMatch(/^[0-9a-f]{32}$/);
  });
});
