// What a node measures about itself: commands proposed and applied, the
// propose-to-apply latency at the leader, fsync rate and time (read from the
// write-ahead log's own counters; each fsync's time also comes in through
// onFsync, for percentiles and a histogram), leader changes and per-peer traffic (read
// from the transport). The runtime calls the `on*` hooks; `report` turns it all
// into the `metrics` object of a status reply, which `paxos status`, `paxos top`
// and the Prometheus endpoint all read. No timers: windows advance lazily with
// the clock, so an idle node does no work and nothing needs stopping.
import type { CoreEvent, NodeId } from '../core/messages.js';
import type { CoreStatus } from '../core/node.js';
import type { WalStats } from '../storage/wal.js';
import type { LatencyHistogramReport, LatencyWindowReport, NodeMetricsReport } from '../../wire/protocol.js';
import type { PeerLinkStatus } from './transport.js';

/** Percentiles cover this much recent time: long enough for a stable p99, short enough to show a spike. */
export const latencyWindowSeconds = 10;
/** Rates (commands applied, fsyncs) average over at least this long, so one busy tick does not look like a trend. */
export const rateWindowMs = 5_000;
/**
 * Commands timed from propose to apply. The runtime bounds the commands waiting
 * for their slot (clientsWaitingMax); this keeps the table bounded even if a
 * hook is missed, by forgetting the oldest.
 */
export const commandsTimedMax = 65_536;
/** Rate samples kept: one per second of reads at most, enough to reach back past the rate window. */
export const rateSamplesMax = 16;
/**
 * Cumulative histogram bounds (Prometheus `le`) in microseconds, 100 µs to 10 s:
 * a commit is at least one fsync and one round trip, and past 10 s the client
 * has long given up.
 */
export const commitLatencyBoundsMicros: readonly number[] = Object.freeze([
  100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000,
]);
/**
 * Cumulative fsync-time bounds in microseconds, 25 µs to 10 s. etcd's
 * wal_fsync_duration_seconds starts at 1 ms; a local SSD's fdatasync is often
 * well below that, and a p99 near 1 s is the disk that costs a leader its lease.
 */
export const fsyncLatencyBoundsMicros: readonly number[] = Object.freeze([
  25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000,
]);
/** Fine buckets per doubling for the windowed percentiles: each is about 9% wide, the error of a reported p99. */
const fineBucketsPerOctave = 8;

export type Clock = () => number;

/** Milliseconds from a monotonic clock: wall-clock steps must not make negative latencies. */
const monotonicMs: Clock = () => performance.now();

export interface MetricsSources {
  core: CoreStatus;
  wal: WalStats;
  peers: readonly PeerLinkStatus[];
}

export class NodeMetrics {
  private readonly proposedAtMs = new Map<string, number>();
  private readonly latencyRecent = new LatencyWindow(latencyWindowSeconds);
  private readonly latencyTotal = new CumulativeHistogram(commitLatencyBoundsMicros);
  private readonly fsyncRecent = new LatencyWindow(latencyWindowSeconds);
  private readonly fsyncTotal = new CumulativeHistogram(fsyncLatencyBoundsMicros);
  private readonly rates: CounterRates;
  private commandsProposed = 0;
  private commandsApplied = 0;
  private leaderChanges = 0;
  private lastLeader: NodeId | 'self' | null = null;

  constructor(private readonly now: Clock = monotonicMs) {
    this.rates = new CounterRates(now);
  }

  /** A client command was handed to the core at this leader; `key` names it until it is applied. */
  onCommandProposed(key: string): void {
    this.commandsProposed += 1;
    if (this.proposedAtMs.size >= commandsTimedMax) this.forgetOldest();
    this.proposedAtMs.set(key, this.now());
  }

  /** A command this node proposed was applied; its latency counts if it was timed. */
  onCommandApplied(key: string): void {
    const startedMs = this.proposedAtMs.get(key);
    if (startedMs === undefined) return;
    this.proposedAtMs.delete(key);
    const nowMs = this.now();
    const micros = Math.max(0, Math.round((nowMs - startedMs) * 1000));
    this.latencyRecent.observe(micros, nowMs);
    this.latencyTotal.observe(micros);
  }

  /** Waiting commands were failed (leadership lost): they may still be chosen, but not timed. */
  onCommandsAbandoned(): void {
    this.proposedAtMs.clear();
  }

  /** The write-ahead log finished an fsync that took `micros` (WalOptions.onFsync). */
  onFsync(micros: number): void {
    this.fsyncRecent.observe(micros, this.now());
    this.fsyncTotal.observe(micros);
  }

  /** A slot was applied to the state machine, carrying `commands` client commands. */
  onSlotApplied(commands: number): void {
    this.commandsApplied += commands;
  }

  /**
   * Counts each move of the leadership to a leader this node was not already
   * following: its own elections, and a leader heard after a campaign or a
   * preemption. A follower that never campaigns does not see its leader
   * re-elected at a higher ballot, so this counts leader changes *seen*.
   */
  onCoreEvent(event: CoreEvent): void {
    if (event.kind === 'candidate' || event.kind === 'preempted') this.lastLeader = null;
    if (event.kind === 'leader') this.followLeader('self');
    if (event.kind === 'follower') {
      if (event.leader === null) this.lastLeader = null;
      else this.followLeader(event.leader);
    }
  }

  report(sources: MetricsSources): NodeMetricsReport {
    const nowMs = this.now();
    const rates = this.rates.sample(nowMs, {
      commandsApplied: this.commandsApplied,
      fsyncs: sources.wal.fsyncs,
      fsyncMicros: sources.wal.fsyncMicrosTotal,
    });
    return {
      proposalsInFlight: sources.core.proposalsInFlight,
      commandsPending: sources.core.pendingCommands,
      commandsProposed: this.commandsProposed,
      commandsApplied: this.commandsApplied,
      commandsAppliedPerSecond: rates.perSecond('commandsApplied'),
      commitLatency: this.latencyRecent.report(nowMs),
      commitLatencyHistogram: this.latencyTotal.report(),
      fsyncs: sources.wal.fsyncs,
      fsyncsPerSecond: rates.perSecond('fsyncs'),
      fsyncMicrosTotal: sources.wal.fsyncMicrosTotal,
      fsyncLastMicros: sources.wal.lastFsyncMicros,
      fsyncMeanMicros: rates.ratio('fsyncMicros', 'fsyncs'),
      fsyncLatency: this.fsyncRecent.report(nowMs),
      fsyncLatencyHistogram: this.fsyncTotal.report(),
      walRecordsWritten: sources.wal.recordsWritten,
      walBytesWritten: sources.wal.bytesWritten,
      leaderChanges: this.leaderChanges,
      peers: sources.peers.map((peer) => ({
        id: peer.id,
        framesIn: peer.framesIn,
        framesOut: peer.framesOut,
        bytesIn: Math.round(peer.bytesIn),
        bytesOut: peer.bytesOut,
        framesDropped: peer.dropped,
      })),
    };
  }

  private followLeader(leader: NodeId | 'self'): void {
    if (leader === this.lastLeader) return;
    this.lastLeader = leader;
    this.leaderChanges += 1;
  }

  private forgetOldest(): void {
    const oldest = this.proposedAtMs.keys().next();
    if (oldest.done !== true) this.proposedAtMs.delete(oldest.value);
  }
}

/**
 * Percentiles over the last `windowSeconds` seconds: one sparse histogram of fine
 * logarithmic buckets per second, reused round-robin, so old seconds drop out
 * without a timer.
 */
export class LatencyWindow {
  private readonly seconds: { second: number; counts: Map<number, number>; maxMicros: number }[];

  constructor(private readonly windowSeconds: number) {
    this.seconds = Array.from({ length: windowSeconds }, () => ({ second: -1, counts: new Map<number, number>(), maxMicros: 0 }));
  }

  observe(micros: number, nowMs: number): void {
    const bucket = this.bucketFor(Math.floor(nowMs / 1000));
    const index = fineIndex(micros);
    bucket.counts.set(index, (bucket.counts.get(index) ?? 0) + 1);
    bucket.maxMicros = Math.max(bucket.maxMicros, micros);
  }

  report(nowMs: number): LatencyWindowReport {
    const nowSecond = Math.floor(nowMs / 1000);
    const live = this.seconds.filter((bucket) => bucket.second > nowSecond - this.windowSeconds && bucket.second <= nowSecond);
    const merged = new Map<number, number>();
    for (const bucket of live) for (const [index, count] of bucket.counts) merged.set(index, (merged.get(index) ?? 0) + count);
    const maxMicros = Math.max(0, ...live.map((bucket) => bucket.maxMicros));
    const samples = [...merged.values()].reduce((sum, count) => sum + count, 0);
    const at = (quantile: number): number => Math.min(maxMicros, percentileOf(merged, samples, quantile));
    return { windowSeconds: this.windowSeconds, samples, p50Micros: at(0.5), p99Micros: at(0.99), maxMicros };
  }

  private bucketFor(second: number): LatencyWindow['seconds'][number] {
    const bucket = this.seconds[second % this.windowSeconds];
    if (bucket.second !== second) {
      bucket.second = second;
      bucket.counts.clear();
      bucket.maxMicros = 0;
    }
    return bucket;
  }
}

/** 0 for anything up to 1 µs, then fineBucketsPerOctave buckets per doubling. */
function fineIndex(micros: number): number {
  return micros <= 1 ? 0 : Math.ceil(Math.log2(micros) * fineBucketsPerOctave);
}

/** The upper bound of the bucket holding the q-th observation, rounded up to whole microseconds. */
function percentileOf(counts: Map<number, number>, samples: number, quantile: number): number {
  if (samples === 0) return 0;
  const rank = Math.max(1, Math.ceil(samples * quantile));
  let seen = 0;
  for (const index of [...counts.keys()].sort((a, b) => a - b)) {
    seen += counts.get(index) ?? 0;
    if (seen >= rank) return Math.ceil(2 ** (index / fineBucketsPerOctave));
  }
  return 0;
}

/** Prometheus-style histogram since start: cumulative counts per upper bound, a count and a sum. */
export class CumulativeHistogram {
  private readonly counts: number[];
  private count = 0;
  private sumMicros = 0;

  constructor(private readonly boundsMicros: readonly number[]) {
    this.counts = boundsMicros.map(() => 0);
  }

  observe(micros: number): void {
    this.count += 1;
    this.sumMicros += micros;
    for (let i = this.boundsMicros.length - 1; i >= 0 && micros <= this.boundsMicros[i]; i--) this.counts[i] += 1;
  }

  report(): LatencyHistogramReport {
    return { boundsMicros: [...this.boundsMicros], counts: [...this.counts], count: this.count, sumMicros: this.sumMicros };
  }
}

type CounterValues<K extends string> = Record<K, number>;

/**
 * Rates of cumulative counters, from samples taken whenever the figures are
 * read: the rate covers the time since the newest sample at least
 * rateWindowMs old (or the first sample, early on). A read less than a
 * second after the last sample adds none, so the list stays short.
 */
export class CounterRates<K extends string = 'commandsApplied' | 'fsyncs' | 'fsyncMicros'> {
  private readonly samples: { atMs: number; values: CounterValues<K> }[] = [];
  private readonly startedAtMs: number;

  constructor(now: Clock) {
    this.startedAtMs = now();
  }

  sample(nowMs: number, values: CounterValues<K>): { perSecond(key: K): number; ratio(top: K, bottom: K): number } {
    const base = this.baseFor(nowMs) ?? { atMs: this.startedAtMs, values: zeroed(values) };
    this.remember(nowMs, values);
    const elapsedMs = nowMs - base.atMs;
    const delta = (key: K): number => Math.max(0, values[key] - base.values[key]);
    return {
      perSecond: (key) => (elapsedMs <= 0 ? 0 : roundTo(delta(key) / (elapsedMs / 1000), 3)),
      ratio: (top, bottom) => (delta(bottom) === 0 ? 0 : Math.round(delta(top) / delta(bottom))),
    };
  }

  private baseFor(nowMs: number): { atMs: number; values: CounterValues<K> } | undefined {
    let base: { atMs: number; values: CounterValues<K> } | undefined;
    for (const sample of this.samples) if (nowMs - sample.atMs >= rateWindowMs) base = sample;
    return base ?? this.samples[0];
  }

  private remember(nowMs: number, values: CounterValues<K>): void {
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && nowMs - last.atMs < 1000) return;
    this.samples.push({ atMs: nowMs, values: { ...values } });
    // Keep one sample older than the window as the base; drop what is older still.
    while (this.samples.length > rateSamplesMax || (this.samples.length > 1 && nowMs - this.samples[1].atMs >= rateWindowMs)) {
      this.samples.shift();
    }
  }
}

function zeroed<K extends string>(values: CounterValues<K>): CounterValues<K> {
  const zero = { ...values };
  for (const key of Object.keys(zero) as K[]) zero[key] = 0;
  return zero;
}

function roundTo(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
