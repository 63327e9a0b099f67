// Closed-loop load: N clients, each with one command in flight, for a fixed
// time. Latencies go into an HDR histogram (hdr-histogram-js), so percentiles
// stay exact to 3 significant digits whatever the spread.
import * as hdr from 'hdr-histogram-js';
import { ConnectionPool, PaxosClient } from './client.js';
import type { ClusterAddress } from './options.js';
import { recordSubmit, type HistoryRecorder } from './history.js';
import type { SubmitOutcome } from './client.js';
import type { ReadConsistency } from '../wire/protocol.js';

export interface BenchOptions {
  addresses: readonly ClusterAddress[];
  clients: number;
  /**
   * Sockets the clients share (each to the leader, once found), as etcd's
   * benchmark shares gRPC connections: client i uses connection i mod
   * `connections`. Default: one per client.
   */
  connections?: number;
  durationMs: number;
  valueBytes: number;
  /** Distinct keys the clients write to; each command picks one at random. */
  keys: number;
  /** Per-command timeout. */
  timeoutMs: number;
  /** The fraction (0..1) of operations that are `get`s instead of `set`s; default 0. */
  reads?: number;
  /** How those reads are answered (SPEC: Reads); default linearizable. */
  consistency?: ReadConsistency | 'log';
  history?: HistoryRecorder;
  /** Called about once a second with progress so far. */
  onProgress?: (progress: BenchProgress) => void;
}

export interface BenchProgress {
  elapsedMs: number;
  durationMs: number;
  applied: number;
  opsPerSecond: number;
}

export interface BenchResult {
  clients: number;
  connections: number;
  durationMs: number;
  valueBytes: number;
  applied: number;
  notApplied: number;
  unknown: number;
  /** The fraction of operations that were reads, and how they were answered. */
  reads: number;
  consistency: ReadConsistency | 'log';
  opsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
}

/** Clients far beyond what one process can drive usefully on this kind of machine. */
export const benchClientsMax = 4096;
/** Largest value written: keeps one batch of many clients within a frame. */
export const benchValueBytesMax = 64 * 1024;

/** A closed loop against something that runs one operation at a time per client (paxos, or etcd for comparison). */
export type OperationRunner = (client: number, key: string, value: string) => Promise<'applied' | 'not_applied' | 'unknown'>;

export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const pools = Array.from({ length: connectionsFor(options) }, () => new ConnectionPool());
  const clients = Array.from({ length: options.clients }, (_, index) => new PaxosClient({ addresses: options.addresses, timeoutMs: options.timeoutMs, pool: pools[index % pools.length] }));
  const reads = options.reads ?? 0;
  if (!(reads >= 0 && reads <= 1)) throw new Error(`reads must be a fraction from 0 to 1, got ${reads}`);
  const consistency = options.consistency ?? 'linearizable';
  const run: OperationRunner = async (index, key, value) => {
    const read = reads > 0 && Math.random() < reads;
    const op = read ? ['get', key] : ['set', key, value];
    const send = read && consistency !== 'log' ? () => clients[index].query(op, consistency) : () => clients[index].submit(op);
    // Local reads may be stale: recorded, they would fail the history's check for the wrong reason.
    const history = read && consistency === 'local' ? undefined : options.history;
    const outcome: SubmitOutcome = await recordSubmit(history, index, op, send);
    return outcome.status === 'applied' || outcome.status === 'refused' ? 'applied' : outcome.status;
  };
  try {
    return { ...(await closedLoop(options, run)), reads, consistency };
  } finally {
    for (const client of clients) client.close();
    for (const pool of pools) pool.close();
  }
}

/** Connections for `options`: one per client unless fewer are asked for; never more than clients. */
export function connectionsFor(options: Pick<BenchOptions, 'clients' | 'connections'>): number {
  const connections = options.connections ?? options.clients;
  if (!Number.isSafeInteger(connections) || connections < 1) throw new Error(`connections must be a positive integer, got ${connections}`);
  return Math.min(connections, options.clients);
}

/** Runs `run` in a closed loop from `clients` concurrent loops until the time is up. */
export async function closedLoop(
  options: Pick<BenchOptions, 'clients' | 'connections' | 'durationMs' | 'valueBytes' | 'keys' | 'onProgress'>,
  run: OperationRunner,
): Promise<Omit<BenchResult, 'reads' | 'consistency'>> {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const counts = { applied: 0, notApplied: 0, unknown: 0 };
  const value = 'v'.repeat(options.valueBytes);
  const started = performance.now();
  const deadline = started + options.durationMs;
  const ticker = setInterval(() => report(options, started, counts.applied), 1_000);
  const loop = async (index: number) => {
    let sequence = 0;
    while (performance.now() < deadline) {
      const key = `bench-${Math.floor(Math.random() * options.keys)}`;
      const begun = performance.now();
      const outcome = await run(index, key, `${value.slice(0, Math.max(0, options.valueBytes - 12))}${index}.${sequence++}`.slice(-options.valueBytes));
      if (outcome === 'applied') {
        counts.applied += 1;
        histogram.recordValue(Math.max(1, Math.round((performance.now() - begun) * 1000)));
      } else if (outcome === 'not_applied') counts.notApplied += 1;
      else counts.unknown += 1;
    }
  };
  try {
    await Promise.all(Array.from({ length: options.clients }, (_, index) => loop(index)));
  } finally {
    clearInterval(ticker);
  }
  const elapsedMs = performance.now() - started;
  const micros = (percentile: number) => histogram.getValueAtPercentile(percentile) / 1000;
  return {
    clients: options.clients,
    connections: connectionsFor(options),
    durationMs: Math.round(elapsedMs),
    valueBytes: options.valueBytes,
    ...counts,
    opsPerSecond: Math.round((counts.applied / elapsedMs) * 1000),
    latencyMs: {
      p50: micros(50),
      p90: micros(90),
      p99: micros(99),
      max: histogram.maxValue / 1000,
      mean: Math.round(histogram.mean) / 1000,
    },
  };
}

function report(options: Pick<BenchOptions, 'durationMs' | 'onProgress'>, started: number, applied: number): void {
  const elapsedMs = performance.now() - started;
  options.onProgress?.({ elapsedMs, durationMs: options.durationMs, applied, opsPerSecond: Math.round((applied / elapsedMs) * 1000) });
}
