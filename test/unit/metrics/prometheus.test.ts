// The /metrics endpoint of an in-process node (HTTP methods and paths) and
// renderPrometheus on its own, read by the strict text-format parser in
// test/support. test/integration/metrics.test.ts reads a real three-node
// cluster's /metrics with curl and an npm parser.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PaxosClient } from '../../../src/client/client.js';
import { parseClusterAddresses } from '../../../src/client/options.js';
import type { Logger } from '../../../src/node/runtime/log.js';
import { prometheusContentType, renderPrometheus } from '../../../src/node/runtime/metrics-http.js';
import { startNode, type RunningNode } from '../../../src/node/runtime/node.js';
import type { NodeStatus } from '../../../src/wire/protocol.js';
import { checkHistogram, parsePrometheus, value, type Family } from '../../support/prometheus.js';
import { NodeMetrics } from '../../../src/node/runtime/metrics.js';
import type { CoreStatus } from '../../../src/node/core/node.js';

const coreStatus: CoreStatus = {
  id: 2,
  role: 'follower',
  leader: null,
  ballot: { round: 7, node: 3 },
  promised: { round: 7, node: 3 },
  commitIndex: 10,
  lastChosen: 11,
  lastApplied: 9,
  knownCommitIndex: 10,
  proposalsInFlight: 0,
  pendingCommands: 0,
  compactedTo: 0,
  rebuilding: false,
  tick: 1,
};

const nodes: RunningNode[] = [];
const dirs: string[] = [];
const clients: PaxosClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(nodes.splice(0).map((node) => node.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A logger that remembers the metrics URL the node logs at start. */
function urlCatcher(): { logger: Logger; url: () => string } {
  let url = '';
  const logger: Logger = {
    debug: () => undefined,
    info: (message, fields) => {
      if (message === 'serving metrics') url = String(fields?.url);
    },
    warn: () => undefined,
    error: () => undefined,
    child: () => logger,
  };
  return { logger, url: () => url };
}

/** A one-node cluster (it is its own majority) on free ports, with /metrics. */
async function startMetricsNode(): Promise<{ node: RunningNode; url: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'paxos-metrics-'));
  dirs.push(dataDir);
  const catcher = urlCatcher();
  const node = await startNode({
    id: 1,
    peers: new Map([[1, { host: '127.0.0.1', port: 0 }]]),
    dataDir,
    fsync: 'always',
    metricsPort: 0,
    log: catcher.logger,
  });
  nodes.push(node);
  return { node, url: catcher.url() };
}

async function submitSome(node: RunningNode, count: number): Promise<void> {
  const client = new PaxosClient({ addresses: parseClusterAddresses(`127.0.0.1:${node.address.port}`), timeoutMs: 10_000 });
  clients.push(client);
  for (let i = 0; i < count; i++) expect(await client.submit(['set', `k${i}`, String(i)])).toMatchObject({ status: 'applied' });
}

describe('GET /metrics of an in-process node', () => {
  it('answers 404 elsewhere and 405 to other methods, and a HEAD without a body', async () => {
    const { url } = await startMetricsNode();
    expect((await fetch(url.replace('/metrics', '/'))).status).toBe(404);
    expect((await fetch(url, { method: 'POST' })).status).toBe(405);
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('the status reply carries the same metrics object', async () => {
    const { node } = await startMetricsNode();
    await submitSome(node, 3);
    const client = new PaxosClient({ addresses: parseClusterAddresses(`127.0.0.1:${node.address.port}`), timeoutMs: 5_000 });
    clients.push(client);
    const report = await client.status(`127.0.0.1:${node.address.port}`);
    expect(report.reachable).toBe(true);
    if (!report.reachable) return;
    // Three writes and the client's session registration before them.
    expect(report.status.metrics).toMatchObject({ commandsProposed: 4, commitLatency: { samples: 4 } });
    expect(report.status.metrics?.commitLatency.p99Micros).toBeGreaterThan(0);
  });
});

describe('renderPrometheus', () => {
  const status: NodeStatus = {
    id: 2,
    address: '10.0.0.2:7401',
    role: 'follower',
    leader: null,
    ballot: '7.3',
    promised: '7.3',
    commitIndex: 10,
    lastChosen: 11,
    lastApplied: 9,
    appliedDigest: 'ab',
    walBytes: 1024,
    lastSnapshot: 0,
    uptimeMs: 1500,
    clusterId: 'we"ird\\cluster\nname',
    peers: [{ id: 1, address: '10.0.0.1:7401', connected: false }],
  };

  it('escapes label values and renders a node without metrics (an older node)', () => {
    const families = parsePrometheus(renderPrometheus(status));
    expect(families.get('paxos_node_info')?.samples[0].labels.cluster).toBe('we"ird\\cluster\nname');
    expect(value(families, 'paxos_ballot_round')).toBe(7);
    expect(value(families, 'paxos_leader_id')).toBe(0);
    expect(value(families, 'paxos_peer_connected', { peer: '1' })).toBe(0);
    expect(value(families, 'paxos_uptime_seconds')).toBe(1.5);
    expect(families.has('paxos_commit_latency_seconds')).toBe(false);
    // No configuration known: no membership gauges rather than made-up zeros.
    expect(families.has('paxos_configuration_voters')).toBe(false);
    expect(families.has('paxos_membership_role')).toBe(false);
  });

  it('renders the configuration: voters, learners, its slot, and this node as a learner', () => {
    const member = (id: number) => ({ id, incarnation: `i${id}`, address: `10.0.0.${id}:7401` });
    const families = parsePrometheus(
      renderPrometheus({ ...status, member: 'learner', changePending: true, configuration: { fromSlot: 300, voters: [member(1), member(3), member(4)], learners: [member(2)] } }),
    );
    expect(value(families, 'paxos_configuration_voters')).toBe(3);
    expect(value(families, 'paxos_configuration_learners')).toBe(1);
    expect(value(families, 'paxos_configuration_slot')).toBe(300);
    expect(value(families, 'paxos_configuration_change_pending')).toBe(1);
    expect(value(families, 'paxos_membership_role')).toBe(1);
    expect(value(parsePrometheus(renderPrometheus({ ...status, member: 'voter' })), 'paxos_membership_role')).toBe(2);
    expect(value(parsePrometheus(renderPrometheus({ ...status, member: 'none' })), 'paxos_membership_role')).toBe(0);
  });

  it('renders the fsync histogram as etcd does wal_fsync_duration_seconds, in seconds', () => {
    const metrics = new NodeMetrics(() => 0);
    for (const micros of [40, 40, 300, 2_000_000]) metrics.onFsync(micros);
    const report = metrics.report({ core: coreStatus, wal: { fsyncs: 4, fsyncMicrosTotal: 2_000_380, lastFsyncMicros: 2_000_000, recordsWritten: 4, bytesWritten: 400 }, peers: [] });
    const families = parsePrometheus(renderPrometheus({ ...status, metrics: report }));
    const fsync = families.get('paxos_fsync_duration_seconds') as Family;
    expect(fsync.type).toBe('histogram');
    checkHistogram(fsync);
    expect(value(families, 'paxos_fsync_duration_seconds', { le: '0.00005' }, 'paxos_fsync_duration_seconds_bucket')).toBe(2);
    expect(value(families, 'paxos_fsync_duration_seconds', { le: '0.0005' }, 'paxos_fsync_duration_seconds_bucket')).toBe(3);
    expect(value(families, 'paxos_fsync_duration_seconds', { le: '2.5' }, 'paxos_fsync_duration_seconds_bucket')).toBe(4);
    expect(value(families, 'paxos_fsync_duration_seconds', {}, 'paxos_fsync_duration_seconds_count')).toBe(4);
    expect(value(families, 'paxos_fsync_duration_seconds', {}, 'paxos_fsync_duration_seconds_sum')).toBeCloseTo(2.00038, 6);
  });
});
