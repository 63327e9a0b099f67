// Status reports for the dashboard tests: a three-node cluster whose nodes can
// lead, follow, lag, go down and come back, with metrics in every answer.
import type { NodeStatusReport } from '../../../src/client/client.js';
import type { NodeMetricsReport, NodeStatus } from '../../../src/wire/protocol.js';

export const addressOf = (id: number): string => `127.0.0.1:${7400 + id}`;

export function metricsOf(fields: Partial<NodeMetricsReport> = {}): NodeMetricsReport {
  return {
    proposalsInFlight: 0,
    commandsPending: 0,
    commandsProposed: 0,
    commandsApplied: 1000,
    commandsAppliedPerSecond: 100,
    commitLatency: { windowSeconds: 10, samples: 0, p50Micros: 0, p99Micros: 0, maxMicros: 0 },
    commitLatencyHistogram: { boundsMicros: [], counts: [], count: 0, sumMicros: 0 },
    fsyncs: 0,
    fsyncsPerSecond: 0,
    fsyncMicrosTotal: 0,
    fsyncLastMicros: 0,
    fsyncMeanMicros: 0,
    walRecordsWritten: 0,
    walBytesWritten: 0,
    leaderChanges: 1,
    peers: [],
    ...fields,
  };
}

export interface UpOptions extends Partial<Omit<NodeStatus, 'metrics'>> {
  metrics?: Partial<NodeMetricsReport>;
}

/** Node `id` answering; a leader by default when `role` says so, else following node 1. */
export function up(id: number, options: UpOptions = {}): NodeStatusReport {
  const { metrics, ...fields } = options;
  const leading = fields.role === 'leader';
  const status: NodeStatus = {
    id,
    address: addressOf(id),
    role: 'follower',
    leader: 1,
    ballot: '3.1',
    promised: '3.1',
    commitIndex: 500,
    lastChosen: 500,
    lastApplied: 500,
    appliedDigest: 'abc',
    walBytes: 3 * 1024 * 1024,
    lastSnapshot: 0,
    uptimeMs: 60_000,
    clusterId: 'c0ffee',
    peers: [1, 2, 3].filter((peer) => peer !== id).map((peer) => ({ id: peer, address: addressOf(peer), connected: true })),
    ...fields,
    metrics: metricsOf({
      ...(leading ? { commitLatency: { windowSeconds: 10, samples: 50, p50Micros: 1_800, p99Micros: 7_500, maxMicros: 9_000 } } : {}),
      ...metrics,
    }),
  };
  return { address: status.address, reachable: true, status };
}

export function down(id: number, error = `${addressOf(id)}: connect ECONNREFUSED ${addressOf(id)} (ECONNREFUSED)`): NodeStatusReport {
  return { address: addressOf(id), reachable: false, code: 'connect_failed', error };
}

/** A healthy cluster led by node 1 at ballot 3.1. */
export function healthy(overrides: { [id: number]: UpOptions } = {}): NodeStatusReport[] {
  return [
    up(1, { role: 'leader', ...overrides[1] }),
    up(2, overrides[2]),
    up(3, overrides[3]),
  ];
}
