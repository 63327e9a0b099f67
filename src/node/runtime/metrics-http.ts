// The node's figures in the Prometheus text format (version 0.0.4) over HTTP
// at /metrics, for `--metrics-port`: the convention etcd and most cluster
// software follow. The page is a rendering of the same NodeStatus a status
// request returns, so the two can never disagree.
import http from 'node:http';
import type { NodeStatus, PeerTrafficReport } from '../../wire/protocol.js';
import type { Logger } from './log.js';
import type { Endpoint } from './transport.js';

/** Scrapers are few (Prometheus, a curl); more than this at once is a mistake or an attack. */
export const metricsConnectionsMax = 64;
/** A scrape is one small GET; a client that takes longer than this to send it is dropped. */
export const metricsRequestMsMax = 5_000;

export const prometheusContentType = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricsServer {
  readonly address: Endpoint;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  host: string;
  port: number;
  /** The node's status at the moment of the scrape; may throw while the node starts or stops. */
  status: () => NodeStatus;
  log: Logger;
}

/** Listens on host:port and serves GET /metrics; rejects with the OS error (e.g. EADDRINUSE). */
export async function serveMetrics(options: MetricsServerOptions): Promise<MetricsServer> {
  const server = http.createServer((request, response) => answer(request, response, options));
  server.maxConnections = metricsConnectionsMax;
  server.requestTimeout = metricsRequestMsMax;
  server.headersTimeout = metricsRequestMsMax;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => options.log.error('metrics listener failed', { error: error.message }));
  const bound = server.address() as { address: string; port: number };
  options.log.info('serving metrics', { url: `http://${formatHost(bound.address)}:${bound.port}/metrics` });
  return {
    address: { host: bound.address, port: bound.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function answer(request: http.IncomingMessage, response: http.ServerResponse, options: MetricsServerOptions): void {
  const path = (request.url ?? '/').split('?')[0];
  if (path !== '/metrics') return plain(response, 404, 'not found: the metrics are at /metrics\n');
  if (request.method !== 'GET' && request.method !== 'HEAD') return plain(response, 405, 'only GET and HEAD\n', { allow: 'GET, HEAD' });
  let body: string;
  try {
    body = renderPrometheus(options.status());
  } catch (error) {
    // The node is starting or stopping: say so rather than serve half a page.
    return plain(response, 503, `metrics unavailable: ${(error as Error).message}\n`);
  }
  response.writeHead(200, { 'content-type': prometheusContentType, 'content-length': Buffer.byteLength(body) });
  response.end(request.method === 'HEAD' ? undefined : body);
}

function plain(response: http.ServerResponse, code: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  response.end(text);
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

// ---------------------------------------------------------------------------
// The text format: `# HELP`, `# TYPE`, then one `name{labels} value` per series.

type MetricType = 'gauge' | 'counter' | 'histogram' | 'summary';
type Labels = Record<string, string | number>;

interface Family {
  name: string;
  type: MetricType;
  help: string;
  samples: { suffix?: string; labels?: Labels; value: number }[];
}

const roles: readonly NodeStatus['role'][] = ['leader', 'follower', 'candidate'];

/** Every figure of a status reply as Prometheus metric families, in Paxos words with units last. */
export function renderPrometheus(status: NodeStatus): string {
  const families = [...stateFamilies(status), ...(status.metrics === undefined ? [] : metricFamilies(status))];
  return families.map(renderFamily).join('');
}

/** This node in its configuration, as a number a dashboard can plot: 0 none (not yet founded or removed), 1 learner, 2 voter. */
const membershipRoleValues: Readonly<Record<NonNullable<NodeStatus['member']>, number>> = { pristine: 0, none: 0, learner: 1, voter: 2 };

/**
 * The configuration of this node's next open slot: how many voters and
 * learners, from which slot it governs, and this node's place in it. Absent
 * before the node belongs to a cluster (and from older nodes), so a scraper
 * sees no made-up zeros for a configuration that does not exist.
 */
function membershipFamilies(status: NodeStatus): Family[] {
  const one = (value: number) => [{ value }];
  const families: Family[] = [];
  if (status.member !== undefined) {
    families.push({ name: 'paxos_membership_role', type: 'gauge', help: 'This node in its configuration: 0 none (no cluster yet, or removed), 1 learner, 2 voter.', samples: one(membershipRoleValues[status.member]) });
  }
  const configuration = status.configuration;
  if (configuration === undefined) return families;
  families.push(
    { name: 'paxos_configuration_voters', type: 'gauge', help: 'Voters in the configuration of this node\'s next open slot.', samples: one(configuration.voters.length) },
    { name: 'paxos_configuration_learners', type: 'gauge', help: 'Learners in the configuration of this node\'s next open slot.', samples: one(configuration.learners.length) },
    { name: 'paxos_configuration_slot', type: 'gauge', help: 'The slot from which that configuration governs.', samples: one(configuration.fromSlot) },
    { name: 'paxos_configuration_change_pending', type: 'gauge', help: '1 while a membership change is proposed and not chosen, or chosen and not yet in effect.', samples: one(status.changePending === true ? 1 : 0) },
  );
  return families;
}

function stateFamilies(status: NodeStatus): Family[] {
  const one = (value: number) => [{ value }];
  return [
    {
      name: 'paxos_node_info',
      type: 'gauge',
      help: 'Always 1; the labels name this node, its cluster and its address.',
      samples: [{ labels: { node: status.id, cluster: status.clusterId, address: status.address }, value: 1 }],
    },
    {
      name: 'paxos_role',
      type: 'gauge',
      help: '1 for the role this node has now (leader, follower or candidate), 0 for the others.',
      samples: roles.map((role) => ({ labels: { role }, value: role === status.role ? 1 : 0 })),
    },
    ...membershipFamilies(status),
    { name: 'paxos_leader_id', type: 'gauge', help: 'The node this node takes as leader; 0 when it knows none.', samples: one(status.leader ?? 0) },
    { name: 'paxos_ballot_round', type: 'gauge', help: 'Round of the ballot this node leads or follows.', samples: one(ballotRound(status.ballot)) },
    { name: 'paxos_promised_round', type: 'gauge', help: 'Round of the highest ballot this acceptor promised.', samples: one(ballotRound(status.promised)) },
    { name: 'paxos_slot_chosen', type: 'gauge', help: 'Commit index: every slot up to it is chosen.', samples: one(status.commitIndex) },
    { name: 'paxos_slot_chosen_highest', type: 'gauge', help: 'The highest slot known chosen (there may be gaps below it).', samples: one(status.lastChosen) },
    { name: 'paxos_slot_applied', type: 'gauge', help: 'The last slot applied to the state machine.', samples: one(status.lastApplied) },
    { name: 'paxos_slot_snapshot', type: 'gauge', help: 'The slot of the last snapshot; 0 when there is none.', samples: one(status.lastSnapshot) },
    { name: 'paxos_wal_size_bytes', type: 'gauge', help: 'Bytes in all write-ahead log segments.', samples: one(status.walBytes) },
    { name: 'paxos_uptime_seconds', type: 'gauge', help: 'Seconds since this node started.', samples: one(status.uptimeMs / 1000) },
    {
      name: 'paxos_peer_connected',
      type: 'gauge',
      help: '1 when this node\'s connection to the peer is up.',
      samples: status.peers.map((peer) => ({ labels: { peer: peer.id }, value: peer.connected ? 1 : 0 })),
    },
  ];
}

function metricFamilies(status: NodeStatus): Family[] {
  const metrics = status.metrics;
  if (metrics === undefined) return [];
  const one = (value: number) => [{ value }];
  return [
    { name: 'paxos_proposals_in_flight', type: 'gauge', help: 'Slots proposed by this leader and not chosen yet.', samples: one(metrics.proposalsInFlight) },
    { name: 'paxos_commands_pending', type: 'gauge', help: 'Client commands queued at this leader while its window is full.', samples: one(metrics.commandsPending) },
    { name: 'paxos_commands_proposed_total', type: 'counter', help: 'Client commands this node proposed as leader.', samples: one(metrics.commandsProposed) },
    { name: 'paxos_commands_applied_total', type: 'counter', help: 'Client commands applied to the state machine.', samples: one(metrics.commandsApplied) },
    {
      name: 'paxos_commit_latency_seconds',
      type: 'histogram',
      help: 'Time from proposing a client command to applying it, at the leader that proposed it.',
      samples: histogramSamples(metrics.commitLatencyHistogram),
    },
    ...fsyncFamilies(metrics),
    { name: 'paxos_fsync_last_duration_seconds', type: 'gauge', help: 'Time the last fsync took.', samples: one(metrics.fsyncLastMicros / 1e6) },
    { name: 'paxos_wal_written_bytes_total', type: 'counter', help: 'Bytes appended to the write-ahead log.', samples: one(metrics.walBytesWritten) },
    { name: 'paxos_wal_written_records_total', type: 'counter', help: 'Records appended to the write-ahead log.', samples: one(metrics.walRecordsWritten) },
    { name: 'paxos_leader_changes_total', type: 'counter', help: 'Times this node saw the leadership move to a new leader.', samples: one(metrics.leaderChanges) },
    ...peerFamilies(metrics.peers),
  ];
}

const peerCounters: readonly { name: string; help: string; field: keyof Omit<PeerTrafficReport, 'id'> }[] = [
  { name: 'paxos_peer_received_frames_total', help: 'Frames received from the peer.', field: 'framesIn' },
  { name: 'paxos_peer_sent_frames_total', help: 'Frames sent to the peer.', field: 'framesOut' },
  { name: 'paxos_peer_received_bytes_total', help: 'Bytes received from the peer.', field: 'bytesIn' },
  { name: 'paxos_peer_sent_bytes_total', help: 'Bytes sent to the peer.', field: 'bytesOut' },
  { name: 'paxos_peer_dropped_frames_total', help: 'Frames to the peer dropped while its link was slow or down.', field: 'framesDropped' },
];

function peerFamilies(peers: readonly PeerTrafficReport[]): Family[] {
  return peerCounters.map(({ name, help, field }) => ({
    name,
    type: 'counter' as const,
    help,
    samples: peers.map((peer) => ({ labels: { peer: peer.id }, value: peer[field] })),
  }));
}

/** etcd's wal_fsync_duration_seconds: a histogram of the write-ahead log's fsyncs (every node of this version reports it). */
function fsyncFamilies(metrics: NonNullable<NodeStatus['metrics']>): Family[] {
  if (metrics.fsyncLatencyHistogram === undefined) return [];
  return [{ name: 'paxos_fsync_duration_seconds', type: 'histogram', help: 'Time spent in fsync of the write-ahead log.', samples: histogramSamples(metrics.fsyncLatencyHistogram) }];
}

function histogramSamples(histogram: NonNullable<NodeStatus['metrics']>['commitLatencyHistogram']): Family['samples'] {
  return [
    ...histogram.boundsMicros.map((bound, i) => ({ suffix: '_bucket', labels: { le: formatValue(bound / 1e6) }, value: histogram.counts[i] })),
    { suffix: '_bucket', labels: { le: '+Inf' }, value: histogram.count },
    { suffix: '_sum', value: histogram.sumMicros / 1e6 },
    { suffix: '_count', value: histogram.count },
  ];
}

/** "12.3" (round 12 of node 3) → 12. */
function ballotRound(ballot: string): number {
  const round = Number(ballot.split('.')[0]);
  return Number.isFinite(round) ? round : 0;
}

function renderFamily(family: Family): string {
  const lines = [`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`];
  for (const sample of family.samples) lines.push(`${family.name}${sample.suffix ?? ''}${renderLabels(sample.labels)} ${formatValue(sample.value)}`);
  return `${lines.join('\n')}\n`;
}

function renderLabels(labels: Labels | undefined): string {
  if (labels === undefined) return '';
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabel(String(value))}"`);
  return `{${pairs.join(',')}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}
