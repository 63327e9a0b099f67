// Prometheus metrics as a scraper gets them (issue 4): `curl` of each node's
// /metrics on a real three-node cluster, read by parse-prometheus-text-format
// (the npm parser of the text format, ported from the Prometheus Python
// client) and by the strict parser in test/support, which also refuses what
// the lenient npm parser lets through.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { checkHistogram, parsePrometheus, type Family } from '../support/prometheus.js';
import { runCli, TestCluster } from './support.js';

const run = promisify(execFile);

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

/** What parse-prometheus-text-format gives (prom2json's shape: values are strings). */
interface ParsedFamily {
  name: string;
  help: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }[];
}

const parse = parsePrometheusTextFormat as unknown as (text: string) => ParsedFamily[];

/** The URL node `id` logged when it began serving metrics (--metrics-port 0 picks a free port). */
function metricsUrl(c: TestCluster, id: number): string {
  for (const line of c.nodes.get(id)!.log) {
    if (!line.includes('"serving metrics"')) continue;
    return String((JSON.parse(line) as { url: string }).url);
  }
  throw new Error(`node ${id} did not log a metrics URL`);
}

/** GET with curl, as a scraper would: the body, and the Content-Type curl saw. */
async function curl(url: string): Promise<{ body: string; contentType: string }> {
  const { stdout } = await run('curl', ['--silent', '--show-error', '--fail', '--max-time', '5', '--write-out', '\n%{content_type}', url]);
  const cut = stdout.lastIndexOf('\n');
  return { body: stdout.slice(0, cut), contentType: stdout.slice(cut + 1) };
}

function sampleValue(families: ParsedFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.find((f) => f.name === name);
  const metric = family?.metrics.find((m) => Object.entries(labels).every(([key, want]) => m.labels?.[key] === want));
  return metric?.value === undefined ? undefined : Number(metric.value);
}

describe('curl of /metrics on a three-node cluster', () => {
  it('serves every node\'s figures, per-peer series for both peers, in the Prometheus text format', async () => {
    cluster = await TestCluster.create(3, ['--metrics-port', '0']);
    await cluster.startAll();
    const input = Array.from({ length: 20 }, (_, i) => `set k${i} ${i}`).join('\n');
    const written = await runCli(['submit', '--cluster', cluster.addresses, '--stdin'], { input, timeoutMs: 60_000 });
    expect(written.code, written.stderr).toBe(0);
    const rows = await cluster.waitFor((r) => r.every((row) => row.reachable && row.lastApplied === r[0].lastApplied && (row.lastApplied ?? 0) >= 20));
    const leader = rows.find((row) => row.role === 'leader')!.id!;
    // paxos status --json carries the fsync percentiles and histogram too.
    for (const row of rows) {
      const metrics = row.metrics as { fsyncs: number; fsyncLatency: { samples: number; p50Micros: number; p99Micros: number; maxMicros: number }; fsyncLatencyHistogram: { count: number } };
      expect(metrics.fsyncLatency.samples, `node ${row.id}`).toBeGreaterThan(0);
      expect(metrics.fsyncLatency.p50Micros).toBeGreaterThan(0);
      expect(metrics.fsyncLatency.p99Micros).toBeGreaterThanOrEqual(metrics.fsyncLatency.p50Micros);
      expect(metrics.fsyncLatency.maxMicros).toBeGreaterThanOrEqual(metrics.fsyncLatency.p99Micros);
      expect(metrics.fsyncLatencyHistogram.count).toBe(metrics.fsyncs);
    }

    for (const id of [1, 2, 3]) {
      const { body, contentType } = await curl(metricsUrl(cluster, id));
      expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
      const families = parse(body);
      const strict = parsePrometheus(body);
      expect(families.map((family) => family.name)).toEqual([...strict.keys()]);

      for (const family of families) {
        expect(family.name).toMatch(/^paxos_/);
        expect(family.help.length, family.name).toBeGreaterThan(0);
        if (family.type === 'COUNTER') expect(family.name).toMatch(/_total$/);
      }
      expect(families.find((family) => family.name === 'paxos_node_info')?.metrics[0].labels).toMatchObject({ node: String(id) });
      expect(sampleValue(families, 'paxos_slot_applied')).toBe(rows[id - 1].lastApplied);
      expect(sampleValue(families, 'paxos_role', { role: id === leader ? 'leader' : 'follower' })).toBe(1);
      expect(sampleValue(families, 'paxos_leader_id')).toBe(leader);
      // The configuration as this node sees it: three founding voters, none a learner, and this node a voter (2).
      expect(sampleValue(families, 'paxos_configuration_voters')).toBe(3);
      expect(sampleValue(families, 'paxos_configuration_learners')).toBe(0);
      expect(sampleValue(families, 'paxos_configuration_slot')).toBe(rows[id - 1].configuration?.fromSlot);
      expect(sampleValue(families, 'paxos_membership_role')).toBe(2);
      expect(sampleValue(families, 'paxos_wal_size_bytes')).toBeGreaterThan(0);
      // etcd's wal_fsync_duration_seconds: a histogram of every fsync of the log.
      const fsync = families.find((family) => family.name === 'paxos_fsync_duration_seconds')!;
      expect(fsync.type).toBe('HISTOGRAM');
      checkHistogram(strict.get('paxos_fsync_duration_seconds') as Family);
      expect(countOf(families, 'paxos_fsync_duration_seconds')).toBeGreaterThan(0);
      expect(Number(fsync.metrics[0].buckets?.['+Inf'])).toBe(countOf(families, 'paxos_fsync_duration_seconds'));

      // Every per-peer family has a series for each of the other two nodes, and traffic flowed both ways.
      const peers = [1, 2, 3].filter((peer) => peer !== id).map(String);
      for (const name of ['paxos_peer_connected', 'paxos_peer_sent_frames_total', 'paxos_peer_received_frames_total', 'paxos_peer_sent_bytes_total', 'paxos_peer_received_bytes_total', 'paxos_peer_dropped_frames_total']) {
        const family = families.find((f) => f.name === name);
        expect(family?.metrics.map((metric) => metric.labels?.peer).sort(), `${name} on node ${id}`).toEqual(peers);
      }
      for (const peer of peers) {
        expect(sampleValue(families, 'paxos_peer_connected', { peer }), `node ${id} to ${peer}`).toBe(1);
        expect(sampleValue(families, 'paxos_peer_sent_frames_total', { peer })).toBeGreaterThan(0);
        expect(sampleValue(families, 'paxos_peer_received_bytes_total', { peer })).toBeGreaterThan(0);
      }

      const latency = families.find((family) => family.name === 'paxos_commit_latency_seconds')!;
      expect(latency.type).toBe('HISTOGRAM');
      checkHistogram(strict.get('paxos_commit_latency_seconds') as Family);
      if (id === leader) {
        // The 20 sets and the submit's session registration before them.
        expect(Number(latency.metrics[0].count)).toBe(21);
        expect(Number(latency.metrics[0].buckets?.['+Inf'])).toBe(21);
        expect(sampleValue(families, 'paxos_commands_proposed_total')).toBe(21);
      } else {
        expect(Number(latency.metrics[0].count)).toBe(0);
      }
    }
  }, 60_000);
});

/** A summary's _count, as parse-prometheus-text-format gives it. */
function countOf(families: ParsedFamily[], name: string): number | undefined {
  const count = families.find((family) => family.name === name)?.metrics[0]?.count;
  return count === undefined ? undefined : Number(count);
}
