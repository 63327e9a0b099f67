import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { answerFault, delayedMessagesMax, FaultInjector, FaultRequestError, faultDelayMsMax } from '../../../src/node/runtime/faults.js';
import { silentLogger } from '../../../src/node/runtime/log.js';
import type { FaultRequest } from '../../../src/wire/protocol.js';

/** A node 1 of a five-node cluster, with a scripted random source. */
function injector(random: () => number = () => 0.5): FaultInjector {
  return new FaultInjector({ self: 1, peers: [2, 3, 4, 5], log: silentLogger, random });
}

function request(fields: Partial<FaultRequest>): FaultRequest {
  return { type: 'fault', id: 1, action: 'heal', nodes: [], delayMs: 0, rate: 0, ...fields };
}

/** Collects what the injector hands to the socket for one peer. */
function sink(): { sent: number[][]; send: (messages: number[]) => void } {
  const sent: number[][] = [];
  return { sent, send: (messages) => sent.push(messages) };
}

describe('FaultInjector', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('passes everything through when nothing is injected', () => {
    const faults = injector();
    const out = sink();
    faults.deliver(2, [1, 2], out.send);
    expect(out.sent).toEqual([[1, 2]]);
    expect(faults.admits(2)).toBe(true);
    expect(faults.describe()).toContain('no faults');
  });

  it('a partition cuts both directions with the peers named, and only those', () => {
    const faults = injector();
    faults.apply(request({ action: 'partition', nodes: [2, 3] }));
    const toTwo = sink();
    const toFour = sink();
    faults.deliver(2, [1], toTwo.send);
    faults.deliver(4, [1], toFour.send);
    expect(toTwo.sent).toEqual([]);
    expect(toFour.sent).toEqual([[1]]);
    expect(faults.admits(3)).toBe(false);
    expect(faults.admits(5)).toBe(true);
    expect(faults.describe()).toMatch(/partitioned from 2, 3 \(so far 2 messages dropped/);
  });

  it('partitions add up, and heal removes them all', () => {
    const faults = injector();
    faults.apply(request({ action: 'partition', nodes: [2] }));
    faults.apply(request({ action: 'partition', nodes: [3] }));
    expect(faults.admits(2) || faults.admits(3)).toBe(false);
    faults.apply(request({ action: 'heal' }));
    expect(faults.admits(2) && faults.admits(3)).toBe(true);
  });

  it('heal with nodes heals only the links to those peers', () => {
    const faults = injector();
    faults.apply(request({ action: 'partition', nodes: [2, 3] }));
    faults.apply(request({ action: 'heal', nodes: [2] }));
    expect(faults.admits(2)).toBe(true);
    expect(faults.admits(3)).toBe(false);
  });

  it('refuses itself, strangers and an empty partition', () => {
    const faults = injector();
    expect(() => faults.apply(request({ action: 'partition', nodes: [1] }))).toThrow(/is this node/);
    expect(() => faults.apply(request({ action: 'partition', nodes: [9] }))).toThrow(/not a peer of node 1 \(peers: 2, 3, 4, 5\)/);
    expect(() => faults.apply(request({ action: 'partition', nodes: [] }))).toThrow(FaultRequestError);
    expect(() => faults.apply(request({ action: 'delay', delayMs: faultDelayMsMax + 1 }))).toThrow(/at most/);
    expect(() => faults.apply(request({ action: 'drop', rate: 1.5 }))).toThrow(/between 0 and 1/);
  });

  it('delays messages to a peer by the given time, in the order sent', () => {
    const faults = injector();
    faults.apply(request({ action: 'delay', nodes: [2], delayMs: 50 }));
    const out = sink();
    faults.deliver(2, [1], out.send);
    vi.advanceTimersByTime(20);
    faults.deliver(2, [2, 3], out.send);
    vi.advanceTimersByTime(29);
    expect(out.sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(out.sent).toEqual([[1]]);
    vi.advanceTimersByTime(20);
    expect(out.sent).toEqual([[1], [2, 3]]);
  });

  it('never reorders: a shorter delay or a heal queues behind what is held', () => {
    const faults = injector();
    faults.apply(request({ action: 'delay', delayMs: 100 }));
    const out = sink();
    faults.deliver(3, [1], out.send);
    faults.apply(request({ action: 'delay', delayMs: 10 }));
    faults.deliver(3, [2], out.send);
    faults.apply(request({ action: 'heal' }));
    faults.deliver(3, [3], out.send);
    vi.advanceTimersByTime(99);
    expect(out.sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(out.sent).toEqual([[1], [2], [3]]);
    faults.deliver(3, [4], out.send);
    expect(out.sent).toHaveLength(4);
  });

  it('drops what is still held when a partition starts before it leaves', () => {
    const faults = injector();
    faults.apply(request({ action: 'delay', nodes: [2], delayMs: 50 }));
    const out = sink();
    faults.deliver(2, [1], out.send);
    faults.apply(request({ action: 'partition', nodes: [2] }));
    vi.advanceTimersByTime(100);
    expect(out.sent).toEqual([]);
  });

  it('bounds what one delay line holds', () => {
    const faults = injector();
    faults.apply(request({ action: 'delay', nodes: [2], delayMs: 1000 }));
    const out = sink();
    faults.deliver(2, new Array<number>(delayedMessagesMax).fill(0), out.send);
    faults.deliver(2, [1], out.send);
    vi.advanceTimersByTime(1000);
    expect(out.sent).toHaveLength(1);
    expect(faults.describe()).toContain('1 messages dropped');
  });

  it('drops each message with the given probability, both ways', () => {
    const draws = [0.1, 0.9, 0.19, 0.2, 0.05];
    const faults = injector(() => draws.shift() ?? 0.99);
    faults.apply(request({ action: 'drop', nodes: [4], rate: 0.2 }));
    const out = sink();
    faults.deliver(4, [1, 2, 3, 4], out.send);
    expect(out.sent).toEqual([[2, 4]]);
    expect(faults.admits(4)).toBe(false);
    expect(faults.admits(4)).toBe(true);
    expect(faults.describe()).toContain('dropping 20% of messages to and from 4');
  });
});

describe('answerFault', () => {
  it('refuses when fault injection is off', () => {
    const reply = answerFault(null, request({ id: 7, action: 'partition', nodes: [2] }));
    expect(reply).toEqual({ type: 'fault_reply', id: 7, ok: false, message: expect.stringContaining('--enable-faults') });
  });

  it('answers with the new state, or with why not', () => {
    const faults = injector();
    expect(answerFault(faults, request({ id: 3, action: 'partition', nodes: [2] }))).toMatchObject({ id: 3, ok: true, message: expect.stringContaining('partitioned from 2') });
    expect(answerFault(faults, request({ id: 4, action: 'partition', nodes: [8] }))).toMatchObject({ id: 4, ok: false, message: expect.stringContaining('not a peer') });
  });
});
