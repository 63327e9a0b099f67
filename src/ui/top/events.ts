// The dashboard's events (leader changes, nodes going down and coming back,
// restarts, snapshots, lagging), derived by comparing two successive polls.
// Pure: the same two polls always give the same events.
import type { NodeId } from '../../node/core/messages.js';
import type { StatusRow } from '../../client/status-report.js';

/** A follower this many slots behind the cluster's commit index is shown as lagging. */
export const laggingSlotsMin = 64;

export type ClusterEventKind = 'leader' | 'no_leader' | 'down' | 'up' | 'restart' | 'snapshot' | 'lagging' | 'caught_up' | 'diverged';

export interface ClusterEvent {
  atMs: number;
  kind: ClusterEventKind;
  text: string;
}

export interface ClusterLeader {
  id: NodeId;
  address: string;
  ballot: string;
}

type ReachableRow = Extract<StatusRow, { reachable: true }>;

/**
 * The node leading the cluster: the reachable node that says it leads, the
 * one with the highest ballot if several do (an old leader cut off from the
 * majority may not know yet that it was deposed).
 */
export function clusterLeader(rows: readonly StatusRow[]): ClusterLeader | null {
  const leaders = rows.filter((row): row is ReachableRow => row.reachable && row.role === 'leader');
  if (leaders.length === 0) return null;
  const best = leaders.reduce((a, b) => (compareBallotText(b.ballot, a.ballot) > 0 ? b : a));
  return { id: best.id, address: best.address, ballot: best.ballot };
}

/** Ballots travel as "round.node"; compare them as numbers, round first. */
export function compareBallotText(a: string, b: string): number {
  const [roundA, nodeA] = a.split('.').map(Number);
  const [roundB, nodeB] = b.split('.').map(Number);
  return roundA !== roundB ? roundA - roundB : nodeA - nodeB;
}

export function isLagging(row: StatusRow): boolean {
  return row.reachable && row.role !== 'leader' && row.lag >= laggingSlotsMin;
}

export interface EventInputs {
  /** The previous poll, or null for the first one. */
  previous: readonly StatusRow[] | null;
  current: readonly StatusRow[];
  /** Node ids learned from earlier polls, so a node that is down is still named by its id. */
  idsByAddress: ReadonlyMap<string, NodeId>;
  atMs: number;
}

/** What changed from one poll to the next, oldest first. */
export function deriveEvents(inputs: EventInputs): ClusterEvent[] {
  const name = (row: StatusRow): string => nodeName(row, inputs.idsByAddress);
  const texts: [ClusterEventKind, string][] = [
    ...leaderChange(inputs.previous === null ? undefined : clusterLeader(inputs.previous), clusterLeader(inputs.current), inputs.current.length),
    ...inputs.current.flatMap((row) => nodeChanges(inputs.previous?.find((old) => old.address === row.address), row, name(row))),
  ];
  return texts.map(([kind, text]) => ({ atMs: inputs.atMs, kind, text }));
}

/** `previous` undefined means there was no previous poll: say who leads now. */
function leaderChange(previous: ClusterLeader | null | undefined, current: ClusterLeader | null, nodes: number): [ClusterEventKind, string][] {
  if (current === null) {
    if (previous === null) return [];
    return [['no_leader', previous === undefined ? `no leader among ${nodes} nodes` : `node ${previous.id} no longer leads: no leader`]];
  }
  if (previous === undefined || previous === null) return [['leader', `node ${current.id} leads at ballot ${current.ballot}`]];
  if (previous.id !== current.id) return [['leader', `node ${current.id} leads at ballot ${current.ballot} (was node ${previous.id})`]];
  if (previous.ballot !== current.ballot) return [['leader', `node ${current.id} re-elected at ballot ${current.ballot}`]];
  return [];
}

function nodeChanges(previous: StatusRow | undefined, current: StatusRow, name: string): [ClusterEventKind, string][] {
  if (!current.reachable) {
    return previous === undefined || previous.reachable ? [['down', `${name} down: ${shortError(current.error)}`]] : [];
  }
  const lagging: [ClusterEventKind, string] = ['lagging', `${name} lagging ${current.lag} slots`];
  if (previous === undefined) return isLagging(current) ? [lagging] : [];
  if (!previous.reachable) {
    const back: [ClusterEventKind, string] = ['up', `${name} back (up ${Math.round(current.uptimeMs / 1000)}s, applied slot ${current.lastApplied})`];
    return isLagging(current) ? [back, lagging] : [back];
  }
  const changes: [ClusterEventKind, string][] = [];
  // Said once, when it is first seen: nodes at the same slot with different applied digests (paxos status marks them too).
  if (current.digestDiffers && !(previous.digestDiffers ?? false)) {
    changes.push(['diverged', `${name} diverged: its applied digest at slot ${current.lastApplied} differs from other nodes' (the state machine is not deterministic; try paxos sim)`]);
  }
  if (current.uptimeMs < previous.uptimeMs) changes.push(['restart', `${name} restarted between polls`]);
  if (current.lastSnapshot > previous.lastSnapshot) changes.push(['snapshot', `${name} took a snapshot at slot ${current.lastSnapshot}`]);
  if (isLagging(current) && !isLagging(previous)) changes.push(lagging);
  if (!isLagging(current) && isLagging(previous)) changes.push(['caught_up', `${name} caught up`]);
  return changes;
}

export function nodeName(row: StatusRow, idsByAddress: ReadonlyMap<string, NodeId>): string {
  const id = row.reachable ? row.id : idsByAddress.get(row.address);
  return id === undefined ? row.address : `node ${id}`;
}

/** The client's errors repeat the address and end with the OS code; the code alone says enough. */
function shortError(error: string): string {
  const code = /\((E[A-Z]+)\)/.exec(error);
  if (code !== null) return code[1] === 'ECONNREFUSED' ? 'connection refused' : code[1];
  const withoutAddress = error.replace(/^[^\s:]+:\d+:\s*/, '');
  const errorCharsMax = 60;
  return withoutAddress.length > errorCharsMax ? `${withoutAddress.slice(0, errorCharsMax - 1)}…` : withoutAddress;
}
