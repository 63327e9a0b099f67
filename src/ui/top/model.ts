// What `paxos top` knows, built from successive polls of every node: the
// latest rows, each node's throughput history, the cluster's, and the events.
// `advanceTopState` folds one poll in; `dashboardView` turns the state into
// the plain props the components draw. Both pure, so they test without a
// terminal or a cluster.
import type { NodeStatusReport } from '../../client/client.js';
import { statusRows, type StatusRow } from '../../client/status-report.js';
import type { NodeId } from '../../node/core/messages.js';
import { clusterLeader, deriveEvents, isLagging, type ClusterEvent, type ClusterLeader } from './events.js';

/** Throughput samples kept per node (one per poll): more than the widest sparkline draws. */
export const sparklineSamplesMax = 120;
/** Events kept for the events pane; older ones scroll away. */
export const eventsKeptMax = 200;

interface NodeHistory {
  address: string;
  /** The id from the last answer, so a node that is down keeps its name. */
  id: NodeId | null;
  opsHistory: (number | null)[];
  /** When the node stopped answering (client clock), null while it answers. */
  downSinceMs: number | null;
}

export interface TopState {
  polls: number;
  lastPollAtMs: number | null;
  rows: StatusRow[];
  nodes: NodeHistory[];
  clusterOpsHistory: (number | null)[];
  events: ClusterEvent[];
}

export const emptyTopState: TopState = Object.freeze({
  polls: 0,
  lastPollAtMs: null,
  rows: [],
  nodes: [],
  clusterOpsHistory: [],
  events: [],
}) as TopState;

/** Folds one poll (a report per node, in cluster order) taken at `atMs` into the state. */
export function advanceTopState(state: TopState, reports: readonly NodeStatusReport[], atMs: number): TopState {
  const rows = statusRows(reports);
  const idsByAddress = new Map<string, NodeId>();
  for (const node of state.nodes) if (node.id !== null) idsByAddress.set(node.address, node.id);
  const events = deriveEvents({ previous: state.polls === 0 ? null : state.rows, current: rows, idsByAddress, atMs });
  const nodes = rows.map((row) => advanceNode(state, row, atMs));
  return {
    polls: state.polls + 1,
    lastPollAtMs: atMs,
    rows,
    nodes,
    clusterOpsHistory: keepLast([...state.clusterOpsHistory, clusterOps(rows, nodes)], sparklineSamplesMax),
    events: keepLast([...state.events, ...events], eventsKeptMax),
  };
}

function advanceNode(state: TopState, row: StatusRow, atMs: number): NodeHistory {
  const index = state.rows.findIndex((old) => old.address === row.address);
  const history = state.nodes[index] as NodeHistory | undefined;
  const previousRow = state.rows[index] as StatusRow | undefined;
  const ops = opsPerSecond(previousRow, row);
  return {
    address: row.address,
    id: row.reachable ? row.id : (history?.id ?? null),
    opsHistory: keepLast([...(history?.opsHistory ?? []), ops], sparklineSamplesMax),
    downSinceMs: row.reachable ? null : (history?.downSinceMs ?? atMs),
  };
}

/**
 * Commands applied per second since the previous poll, timed by the node's own
 * uptime so network delay does not distort it. After a restart, or on the
 * first answer, the node's own recent rate stands in.
 */
export function opsPerSecond(previous: StatusRow | undefined, current: StatusRow): number | null {
  if (!current.reachable || current.metrics === undefined) return null;
  const before = previous?.reachable === true ? previous.metrics : undefined;
  const elapsedMs = previous?.reachable === true ? current.uptimeMs - previous.uptimeMs : 0;
  if (before === undefined || elapsedMs <= 0 || current.metrics.commandsApplied < before.commandsApplied) {
    return current.metrics.commandsAppliedPerSecond;
  }
  return (current.metrics.commandsApplied - before.commandsApplied) / (elapsedMs / 1000);
}

/**
 * Every replica applies every command, so the leader's rate is the cluster's.
 * Without a leader nothing commits: a follower still applying (catching up
 * after a restart) is not cluster throughput, so there is no figure.
 */
function clusterOps(rows: readonly StatusRow[], nodes: readonly NodeHistory[]): number | null {
  const leader = clusterLeader(rows);
  const index = leader === null ? -1 : rows.findIndex((row) => row.address === leader.address);
  if (index < 0) return null;
  const history = nodes[index].opsHistory;
  return history[history.length - 1] ?? null;
}

function keepLast<T>(items: T[], max: number): T[] {
  return items.length > max ? items.slice(items.length - max) : items;
}

// ---------------------------------------------------------------------------
// The view: plain data for the components.

/** How a row is drawn; one colour each (see conditionStyle in the components). */
export type NodeCondition = 'leader' | 'follower' | 'candidate' | 'rebuilding' | 'lagging' | 'down';

export interface NodeRowView {
  key: string;
  address: string;
  id: NodeId | null;
  condition: NodeCondition;
  /** role as the node says it, or `down` */
  role: string;
  ballot: string | null;
  chosen: number | null;
  applied: number | null;
  lag: number | null;
  opsPerSecond: number | null;
  opsHistory: readonly (number | null)[];
  p50Micros: number | null;
  p99Micros: number | null;
  walBytes: number | null;
  /** Links to the other nodes that are up, as this node sees them. */
  peersConnected: number | null;
  peersTotal: number | null;
  uptimeMs: number | null;
  downForMs: number | null;
}

export interface ClusterView {
  clusterId: string | null;
  leader: ClusterLeader | null;
  opsPerSecond: number | null;
  opsHistory: readonly (number | null)[];
  nodesUp: number;
  nodesTotal: number;
  lastPollAtMs: number | null;
}

export interface DashboardView {
  cluster: ClusterView;
  nodes: NodeRowView[];
  events: readonly ClusterEvent[];
}

export function dashboardView(state: TopState, nowMs: number): DashboardView {
  const nodes = state.rows.map((row, index) => nodeRowView(row, state.nodes[index], nowMs));
  const firstUp = state.rows.find((row): row is Extract<StatusRow, { reachable: true }> => row.reachable);
  return {
    cluster: {
      clusterId: firstUp?.clusterId ?? null,
      leader: clusterLeader(state.rows),
      opsPerSecond: state.clusterOpsHistory[state.clusterOpsHistory.length - 1] ?? null,
      opsHistory: state.clusterOpsHistory,
      nodesUp: state.rows.filter((row) => row.reachable).length,
      nodesTotal: state.rows.length,
      lastPollAtMs: state.lastPollAtMs,
    },
    nodes,
    events: state.events,
  };
}

function nodeRowView(row: StatusRow, history: NodeHistory, nowMs: number): NodeRowView {
  const common = { key: row.address, address: row.address, opsHistory: history.opsHistory };
  if (!row.reachable) {
    return {
      ...common,
      ...emptyFigures,
      id: history.id,
      condition: 'down',
      role: 'down',
      downForMs: history.downSinceMs === null ? null : Math.max(0, nowMs - history.downSinceMs),
    };
  }
  const latency = row.metrics?.commitLatency;
  const leading = row.role === 'leader';
  return {
    ...common,
    id: row.id,
    // A rebuilding node does not vote yet (an empty data dir learning what it may have promised).
    condition: row.rebuilding === true ? 'rebuilding' : isLagging(row) ? 'lagging' : row.role,
    // A learner and a node outside the configuration do not vote either; say which, as `paxos status` MEMBER does.
    role: row.rebuilding === true ? nonVoterRole(row.member) : row.role,
    ballot: row.ballot,
    chosen: row.commitIndex,
    applied: row.lastApplied,
    lag: row.lag,
    opsPerSecond: history.opsHistory[history.opsHistory.length - 1] ?? null,
    // Only a leader proposes, so only a leader's latency means anything.
    p50Micros: leading && latency !== undefined && latency.samples > 0 ? latency.p50Micros : null,
    p99Micros: leading && latency !== undefined && latency.samples > 0 ? latency.p99Micros : null,
    walBytes: row.walBytes,
    peersConnected: row.peers.filter((peer) => peer.connected).length,
    peersTotal: row.peers.length,
    uptimeMs: row.uptimeMs,
    downForMs: null,
  };
}

function nonVoterRole(member: string | undefined): string {
  if (member === 'learner') return 'learner';
  if (member === 'none') return 'nonmember';
  return 'rebuilding';
}

const emptyFigures = {
  ballot: null,
  chosen: null,
  applied: null,
  lag: null,
  opsPerSecond: null,
  p50Micros: null,
  p99Micros: null,
  walBytes: null,
  peersConnected: null,
  peersTotal: null,
  uptimeMs: null,
} as const;
