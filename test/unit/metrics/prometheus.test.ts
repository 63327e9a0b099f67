// /metrics of a real node, read over HTTP and parsed by a strict parser of the
// Prometheus text format (version 0.0.4) written here from the format's
// description, so the test does not trust the renderer's own idea of it.
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

// ---------------------------------------------------------------------------
// A strict parser of the text format.

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const types = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const suffixesOf: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'] };

function parsePrometheus(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map<string, Family>();
  let current: Family | null = null;
  for (const [index, line] of text.slice(0, -1).split('\n').entries()) {
    const where = `line ${index + 1}: ${line}`;
    if (line.startsWith('# HELP ')) {
      const [, name, ...help] = line.split(' ').slice(1);
      if (!metricName.test(name)) throw new Error(`bad metric name in ${where}`);
      if (families.has(name)) throw new Error(`family ${name} appears twice (${where})`);
      current = { name, type: 'untyped', help: help.join(' '), samples: [] };
      families.set(name, current);
    } else if (line.startsWith('# TYPE ')) {
      const [name, type] = line.split(' ').slice(2);
      if (current?.name !== name || current.samples.length > 0) throw new Error(`TYPE must follow its HELP, before samples (${where})`);
      if (!types.has(type)) throw new Error(`unknown type in ${where}`);
      current.type = type;
    } else if (line.startsWith('#') || line === '') {
      throw new Error(`unexpected comment or blank line: ${where}`);
    } else {
      if (current === null) throw new Error(`sample before any family: ${where}`);
      const sample = parseSample(line, where);
      const suffix = sample.name.slice(current.name.length);
      if (!sample.name.startsWith(current.name) || !(suffixesOf[current.type] ?? ['']).includes(suffix)) {
        throw new Error(`sample ${sample.name} does not belong to ${current.type} ${current.name} (${where})`);
      }
      current.samples.push(sample);
    }
  }
  return families;
}

function parseSample(line: string, where: string): Sample {
  const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
  if (match === null) throw new Error(`malformed sample: ${where}`);
  return { name: match[1], labels: parseLabels(match[3] ?? '', where), value: parseValue(match[4], where) };
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const match = /^([^=]+)="((?:[^"\\]|\\.)*)"(,|$)/.exec(rest);
    if (match === null || !labelName.test(match[1])) throw new Error(`malformed labels: ${where}`);
    if (match[1] in labels) throw new Error(`label ${match[1]} twice: ${where}`);
    labels[match[1]] = match[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(match[0].length);
  }
  return labels;
}

function parseValue(text: string, where: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return Number.NaN;
  if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value: ${where}`);
  return Number(text);
}

/** What the format requires of a histogram: buckets with `le`, cumulative, +Inf last and equal to _count. */
function checkHistogram(family: Family): void {
  const buckets = family.samples.filter((sample) => sample.name.endsWith('_bucket'));
  const bounds = buckets.map((bucket) => parseValue(bucket.labels.le, `${family.name} le`));
  for (let i = 1; i < buckets.length; i++) {
    expect(bounds[i]).toBeGreaterThan(bounds[i - 1]);
    expect(buckets[i].value).toBeGreaterThanOrEqual(buckets[i - 1].value);
  }
  expect(bounds[bounds.length - 1]).toBe(Infinity);
  const count = family.samples.find((sample) => sample.name === `${family.name}_count`);
  expect(buckets[buckets.length - 1].value).toBe(count?.value);
}

function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}, sampleName = name): number | undefined {
  const family = families.get(name);
  const sample = family?.samples.find((s) => s.name === sampleName && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return sample?.value;
}

// ---------------------------------------------------------------------------

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

describe('GET /metrics of a real node', () => {
  it('serves the Prometheus text format that a strict parser accepts, with the figures of the status reply', async () => {
    const { node, url } = await startMetricsNode();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    await submitSome(node, 20);

    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(prometheusContentType);
    const families = parsePrometheus(await response.text());

    for (const family of families.values()) {
      expect(family.name).toMatch(/^paxos_/);
      expect(family.help.length).toBeGreaterThan(0);
      if (family.type === 'counter') expect(family.name).toMatch(/_total$/);
    }
    checkHistogram(families.get('paxos_commit_latency_seconds') as Family);

    const status = node.status();
    expect(value(families, 'paxos_role', { role: 'leader' })).toBe(1);
    expect(value(families, 'paxos_role', { role: 'follower' })).toBe(0);
    expect(value(families, 'paxos_leader_id')).toBe(1);
    expect(value(families, 'paxos_slot_chosen')).toBe(status.commitIndex);
    expect(value(families, 'paxos_slot_applied')).toBe(status.lastApplied);
    expect(value(families, 'paxos_commands_applied_total')).toBeGreaterThanOrEqual(20);
    expect(value(families, 'paxos_commands_proposed_total')).toBe(20);
    expect(value(families, 'paxos_commit_latency_seconds', {}, 'paxos_commit_latency_seconds_count')).toBe(20);
    expect(value(families, 'paxos_commit_latency_seconds', {}, 'paxos_commit_latency_seconds_sum')).toBeGreaterThan(0);
    expect(value(families, 'paxos_fsync_duration_seconds', {}, 'paxos_fsync_duration_seconds_count')).toBeGreaterThanOrEqual(20);
    expect(value(families, 'paxos_wal_size_bytes')).toBeGreaterThan(0);
    expect(value(families, 'paxos_uptime_seconds')).toBeGreaterThan(0);
    expect(value(families, 'paxos_leader_changes_total')).toBe(1);
    expect(families.get('paxos_node_info')?.samples[0].labels).toMatchObject({ node: '1', cluster: status.clusterId });
  });

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
    expect(report.status.metrics).toMatchObject({ commandsProposed: 3, commitLatency: { samples: 3 } });
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
  });
});
