import { describe, expect, it } from 'vitest';
import {
  commitLatencyBoundsMicros,
  CounterRates,
  fsyncLatencyBoundsMicros,
  CumulativeHistogram,
  LatencyWindow,
  NodeMetrics,
  rateWindowMs,
  type MetricsSources,
} from '../../../src/node/runtime/metrics.js';
import type { CoreStatus } from '../../../src/node/core/node.js';
import type { WalStats } from '../../../src/node/storage/wal.js';

/** A clock the test moves by hand. */
function manualClock(startMs = 10_000): { now: () => number; advance: (ms: number) => void } {
  let nowMs = startMs;
  return { now: () => nowMs, advance: (ms) => (nowMs += ms) };
}

const core: CoreStatus = {
  id: 1,
  role: 'leader',
  leader: 1,
  ballot: { round: 2, node: 1 },
  promised: { round: 2, node: 1 },
  commitIndex: 5,
  lastChosen: 5,
  lastApplied: 5,
  knownCommitIndex: 5,
  proposalsInFlight: 3,
  pendingCommands: 7,
  tick: 100,
};

const wal = (fsyncs: number, fsyncMicrosTotal: number): WalStats => ({
  fsyncs,
  fsyncMicrosTotal,
  lastFsyncMicros: 120,
  recordsWritten: fsyncs * 2,
  bytesWritten: fsyncs * 100,
});

const sources = (overrides: Partial<MetricsSources> = {}): MetricsSources => ({ core, wal: wal(0, 0), peers: [], ...overrides });

describe('NodeMetrics', () => {
  it('times a command from propose to apply and reports p50, p99 and max over the window', () => {
    const clock = manualClock();
    const metrics = new NodeMetrics(clock.now);
    for (let i = 0; i < 100; i++) {
      metrics.onCommandProposed(`c/${i}`);
      clock.advance(i < 98 ? 2 : 40); // 98 commands take 2 ms, 2 take 40 ms
      metrics.onCommandApplied(`c/${i}`);
    }
    const { commitLatency, commitLatencyHistogram, commandsProposed } = metrics.report(sources());
    expect(commandsProposed).toBe(100);
    expect(commitLatency.samples).toBe(100);
    // Fine buckets are about 9% wide: the reported figure is the bucket's upper bound.
    expect(commitLatency.p50Micros).toBeGreaterThanOrEqual(2_000);
    expect(commitLatency.p50Micros).toBeLessThan(2_200);
    expect(commitLatency.p99Micros).toBeGreaterThanOrEqual(40_000);
    expect(commitLatency.maxMicros).toBe(40_000);
    expect(commitLatencyHistogram.count).toBe(100);
    expect(commitLatencyHistogram.sumMicros).toBe(98 * 2_000 + 2 * 40_000);
  });

  it('ignores applies of commands it did not time, and forgets abandoned ones', () => {
    const clock = manualClock();
    const metrics = new NodeMetrics(clock.now);
    metrics.onCommandApplied('never-proposed');
    metrics.onCommandProposed('a/1');
    metrics.onCommandsAbandoned();
    clock.advance(5);
    metrics.onCommandApplied('a/1');
    expect(metrics.report(sources()).commitLatency.samples).toBe(0);
  });

  it('drops latencies older than the window', () => {
    const clock = manualClock();
    const metrics = new NodeMetrics(clock.now);
    metrics.onCommandProposed('a/1');
    clock.advance(3);
    metrics.onCommandApplied('a/1');
    clock.advance(11_000);
    const report = metrics.report(sources());
    expect(report.commitLatency).toMatchObject({ samples: 0, p50Micros: 0, p99Micros: 0, maxMicros: 0 });
    expect(report.commitLatencyHistogram.count).toBe(1); // the cumulative histogram keeps everything
  });

  it('reports applied commands per second and fsyncs per second with their mean time', () => {
    const clock = manualClock();
    const metrics = new NodeMetrics(clock.now);
    metrics.report(sources({ wal: wal(0, 0) }));
    clock.advance(rateWindowMs);
    for (let i = 0; i < 50; i++) metrics.onSlotApplied(10);
    const report = metrics.report(sources({ wal: wal(100, 100 * 300) }));
    expect(report.commandsApplied).toBe(500);
    expect(report.commandsAppliedPerSecond).toBe(100);
    expect(report.fsyncsPerSecond).toBe(20);
    expect(report.fsyncMeanMicros).toBe(300);
    expect(report.fsyncLastMicros).toBe(120);
  });

  it('reports fsync p50, p99 and max over the window, and a histogram since start', () => {
    const clock = manualClock();
    const metrics = new NodeMetrics(clock.now);
    for (let i = 0; i < 100; i++) metrics.onFsync(i < 95 ? 200 : 30_000); // 95 fast, 5 slow
    const { fsyncLatency, fsyncLatencyHistogram } = metrics.report(sources());
    expect(fsyncLatency).toMatchObject({ windowSeconds: 10, samples: 100, maxMicros: 30_000 });
    expect(fsyncLatency!.p50Micros).toBeGreaterThanOrEqual(200);
    expect(fsyncLatency!.p50Micros).toBeLessThan(220);
    expect(fsyncLatency!.p99Micros).toBe(30_000);
    expect(fsyncLatencyHistogram!.boundsMicros).toEqual(fsyncLatencyBoundsMicros);
    expect(fsyncLatencyHistogram!.count).toBe(100);
    expect(fsyncLatencyHistogram!.sumMicros).toBe(95 * 200 + 5 * 30_000);
    const at = (bound: number) => fsyncLatencyHistogram!.counts[fsyncLatencyBoundsMicros.indexOf(bound)];
    expect([at(100), at(250), at(25_000), at(50_000)]).toEqual([0, 95, 95, 100]);
    clock.advance(11_000);
    const later = metrics.report(sources());
    expect(later.fsyncLatency).toMatchObject({ samples: 0, p50Micros: 0, p99Micros: 0, maxMicros: 0 });
    expect(later.fsyncLatencyHistogram!.count).toBe(100);
  });

  it('counts leader changes seen: own elections and new leaders after a campaign', () => {
    const metrics = new NodeMetrics(manualClock().now);
    const ballot = { round: 1, node: 2 };
    metrics.onCoreEvent({ kind: 'follower', leader: 2, ballot }); // first leader heard
    metrics.onCoreEvent({ kind: 'follower', leader: 2, ballot }); // the same leader again: no change
    metrics.onCoreEvent({ kind: 'candidate', ballot: { round: 2, node: 1 } });
    metrics.onCoreEvent({ kind: 'leader', ballot: { round: 2, node: 1 } }); // won
    metrics.onCoreEvent({ kind: 'preempted', ballot: { round: 2, node: 1 }, by: { round: 3, node: 3 } });
    metrics.onCoreEvent({ kind: 'follower', leader: null, ballot });
    metrics.onCoreEvent({ kind: 'follower', leader: 3, ballot: { round: 3, node: 3 } });
    expect(metrics.report(sources()).leaderChanges).toBe(3);
  });

  it('passes the core figures and per-peer traffic through', () => {
    const metrics = new NodeMetrics(manualClock().now);
    const peer = { id: 2, address: '127.0.0.1:7402', connected: true, framesOut: 4, bytesOut: 400, framesIn: 3, bytesIn: 299.5, dropped: 1 };
    const report = metrics.report(sources({ peers: [peer] }));
    expect(report).toMatchObject({ proposalsInFlight: 3, commandsPending: 7 });
    expect(report.peers).toEqual([{ id: 2, framesIn: 3, framesOut: 4, bytesIn: 300, bytesOut: 400, framesDropped: 1 }]);
  });
});

describe('LatencyWindow', () => {
  it('reports nothing when empty', () => {
    expect(new LatencyWindow(10).report(5_000)).toEqual({ windowSeconds: 10, samples: 0, p50Micros: 0, p99Micros: 0, maxMicros: 0 });
  });

  it('never reports a percentile above the maximum seen', () => {
    const window = new LatencyWindow(10);
    window.observe(1_001, 0);
    expect(window.report(0)).toMatchObject({ samples: 1, p50Micros: 1_001, p99Micros: 1_001, maxMicros: 1_001 });
  });

  it('reuses a second slot once that second has left the window', () => {
    const window = new LatencyWindow(3);
    window.observe(100, 0);
    window.observe(900, 3_000); // the same slot as second 0, three seconds later
    expect(window.report(3_000)).toMatchObject({ samples: 1, maxMicros: 900 });
  });
});

describe('CumulativeHistogram', () => {
  it('counts each observation in every bucket whose bound it does not exceed', () => {
    const histogram = new CumulativeHistogram([100, 1_000, 10_000]);
    for (const micros of [50, 100, 101, 5_000, 20_000]) histogram.observe(micros);
    expect(histogram.report()).toEqual({ boundsMicros: [100, 1_000, 10_000], counts: [2, 3, 4], count: 5, sumMicros: 25_251 });
  });

  it('has increasing bounds from 100 µs to 10 s', () => {
    expect(commitLatencyBoundsMicros[0]).toBe(100);
    expect(commitLatencyBoundsMicros[commitLatencyBoundsMicros.length - 1]).toBe(10_000_000);
    for (let i = 1; i < commitLatencyBoundsMicros.length; i++) expect(commitLatencyBoundsMicros[i]).toBeGreaterThan(commitLatencyBoundsMicros[i - 1]);
  });
});

describe('CounterRates', () => {
  it('averages over the rate window once samples reach that far back', () => {
    const clock = manualClock(0);
    const rates = new CounterRates<'n'>(clock.now);
    for (let second = 1; second <= 20; second++) {
      clock.advance(1000);
      const rate = rates.sample(clock.now(), { n: second * 10 });
      expect(rate.perSecond('n')).toBe(10);
    }
  });

  it('measures from the first sample early on, and never reports a negative rate', () => {
    const clock = manualClock(0);
    const rates = new CounterRates<'n'>(clock.now);
    clock.advance(2000);
    expect(rates.sample(clock.now(), { n: 8 }).perSecond('n')).toBe(4);
    clock.advance(1000);
    expect(rates.sample(clock.now(), { n: 2 }).perSecond('n')).toBe(0);
  });
});
