// The client side of `paxos member ...` and `paxos node start --join`: ask
// the nodes for their status, find the leader, send it a member request,
// follow redirects, and wait until the change is chosen and in effect
// (docs/membership.md). Exit codes as SPEC says: 0 chosen and in effect, 4
// certainly not made (with the reason), 5 unknown.
import type { NodeId } from '../node/core/messages.js';
import type { MemberAction, NodeStatus, StatusConfiguration } from '../wire/protocol.js';
import { NodeConnection, errorMessage } from './connection.js';
import { formatAddress, parseAddress, type ClusterAddress } from './options.js';

export const memberExitCodes = Object.freeze({ inEffect: 0, usage: 2, notMade: 4, unknown: 5 });

/** One member as `paxos member list` shows it. */
export interface MemberRow {
  id: NodeId;
  address: string | null;
  role: 'voter' | 'learner';
  incarnation: string | null;
  /** The leader heard from this incarnation lately (or it is the leader). */
  reachable: boolean;
  /** Its commit index as the leader last heard it (the leader's own for itself). */
  applied: number | null;
  lag: number | null;
  leader: boolean;
}

/** Every node's status that answered, and the addresses that did not. */
async function statuses(addresses: readonly ClusterAddress[], timeoutMs: number): Promise<{ address: string; status: NodeStatus | null; error: string | null }[]> {
  return Promise.all(
    addresses.map(async (address) => {
      const text = formatAddress(address);
      try {
        const connection = await NodeConnection.open({ address, connectTimeoutMs: timeoutMs });
        try {
          const response = await connection.request({ type: 'status' }, timeoutMs);
          if (response.type !== 'status_reply') return { address: text, status: null, error: `answered ${response.type}` };
          return { address: text, status: response.status, error: null };
        } finally {
          connection.close();
        }
      } catch (error) {
        return { address: text, status: null, error: errorMessage(error) };
      }
    }),
  );
}

/** The leader's status if any node at `addresses` leads (or names the leader at an address we can reach), else null. */
export async function leaderStatus(addresses: readonly ClusterAddress[], timeoutMs: number): Promise<{ status: NodeStatus; address: string } | null> {
  const answers = await statuses(addresses, timeoutMs);
  const leader = answers.find((answer) => answer.status?.role === 'leader');
  if (leader?.status) return { status: leader.status, address: leader.address };
  // Ask the node the others name as leader, at the address they dial it at (it may be a member added since).
  for (const answer of answers) {
    const named = answer.status?.leader;
    const peer = answer.status?.peers.find((p) => p.id === named);
    if (peer === undefined) continue;
    const [again] = await statuses([parseAddress(peer.address)], timeoutMs);
    if (again.status?.role === 'leader') return { status: again.status, address: again.address };
  }
  return null;
}

/** `paxos member list`: the members as the leader sees them. Null when no leader answered. */
export async function listMembers(addresses: readonly ClusterAddress[], timeoutMs: number): Promise<MemberRow[] | null> {
  const found = await leaderStatus(addresses, timeoutMs);
  if (found === null || found.status.configuration === undefined) return null;
  return memberRows(found.status);
}

export function memberRows(leader: NodeStatus): MemberRow[] {
  const config = leader.configuration as StatusConfiguration;
  const progress = new Map((leader.progress ?? []).map((p) => [p.id, p]));
  const aliveMs = 2_000;
  const row = (role: 'voter' | 'learner') => (m: StatusConfiguration['voters'][number]): MemberRow => {
    const self = m.id === leader.id;
    const heard = progress.get(m.id);
    const current = self || (heard !== undefined && (m.incarnation === null || heard.incarnation === m.incarnation));
    const applied = self ? leader.commitIndex : current && heard !== undefined ? heard.commitIndex : null;
    return {
      id: m.id,
      address: m.address,
      role,
      incarnation: m.incarnation,
      reachable: self || (current && heard !== undefined && heard.agoMs <= aliveMs),
      applied,
      lag: applied === null ? null : Math.max(0, leader.commitIndex - applied),
      leader: self,
    };
  };
  return [...config.voters.map(row('voter')), ...config.learners.map(row('learner'))].sort((a, b) => a.id - b.id);
}

export function renderMemberRows(rows: readonly MemberRow[]): string[] {
  const header = ['ID', 'ADDRESS', 'ROLE', 'REACHABLE', 'APPLIED', 'LAG', ''];
  const cells = rows.map((r) => [String(r.id), r.address ?? '-', r.role, r.reachable ? 'yes' : 'no', r.applied === null ? '-' : String(r.applied), r.lag === null ? '-' : String(r.lag), r.leader ? '*leader' : '']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  return [header, ...cells].map((line) => line.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
}

export interface MemberChangeRequest {
  action: MemberAction;
  node: NodeId;
  address: string | null;
  learner: boolean;
  force: boolean;
}

export interface MemberChangeResult {
  exitCode: number;
  message: string;
  /** The members once in effect (null unless exit code 0). */
  members: MemberRow[] | null;
}

/**
 * Sends the change to the leader (following redirects) and waits, up to
 * `waitMs`, until it is chosen and in effect (the leader's next open slot's
 * configuration shows it and no change is pending).
 */
export async function changeMember(addresses: readonly ClusterAddress[], request: MemberChangeRequest, options: { timeoutMs: number; waitMs: number }): Promise<MemberChangeResult> {
  const before = await leaderStatus(addresses, options.timeoutMs);
  if (before === null) return { exitCode: memberExitCodes.notMade, message: 'no leader answered at the cluster addresses (is a majority of the voters up?)', members: null };
  const oldIncarnation = findIn(before.status.configuration, request.node)?.incarnation ?? null;
  let address = before.address;
  for (let hop = 0; hop < 3; hop += 1) {
    let reply;
    try {
      const connection = await NodeConnection.open({ address: parseAddress(address), connectTimeoutMs: options.timeoutMs });
      try {
        reply = await connection.request({ type: 'member', ...request }, options.timeoutMs);
      } finally {
        connection.close();
      }
    } catch (error) {
      // A request that may have left could have been proposed.
      return { exitCode: memberExitCodes.unknown, message: `the leader at ${address} did not answer: ${errorMessage(error)}`, members: null };
    }
    if (reply.type !== 'member_reply') return { exitCode: memberExitCodes.notMade, message: `the node answered ${reply.type}; is it older than membership changes?`, members: null };
    if (reply.status === 'refused') return { exitCode: memberExitCodes.notMade, message: `refused: ${reply.message}`, members: null };
    if (reply.status === 'redirect') {
      if (reply.address === null) return { exitCode: memberExitCodes.notMade, message: `not proposed: ${reply.message}`, members: null };
      address = reply.address;
      continue;
    }
    return waitInEffect(addresses, address, request, oldIncarnation, options);
  }
  return { exitCode: memberExitCodes.notMade, message: 'not proposed: leadership kept moving', members: null };
}

async function waitInEffect(
  addresses: readonly ClusterAddress[],
  leaderAddress: string,
  request: MemberChangeRequest,
  oldIncarnation: string | null,
  options: { timeoutMs: number; waitMs: number },
): Promise<MemberChangeResult> {
  const deadline = Date.now() + options.waitMs;
  while (Date.now() < deadline) {
    const found = (await leaderStatus([parseAddress(leaderAddress)], options.timeoutMs)) ?? (await leaderStatus(addresses, options.timeoutMs));
    if (found !== null && found.status.changePending === false && inEffect(found.status.configuration, request, oldIncarnation)) {
      return { exitCode: memberExitCodes.inEffect, message: `${describe(request)}: chosen and in effect from slot ${found.status.configuration?.fromSlot}`, members: memberRows(found.status) };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { exitCode: memberExitCodes.unknown, message: `${describe(request)} was proposed, but is not seen in effect within ${options.waitMs} ms: it may still be chosen; check \`paxos member list\``, members: null };
}

function findIn(config: StatusConfiguration | undefined, id: NodeId): (StatusConfiguration['voters'][number] & { role: 'voter' | 'learner' }) | null {
  if (config === undefined) return null;
  const voter = config.voters.find((m) => m.id === id);
  if (voter !== undefined) return { ...voter, role: 'voter' };
  const learner = config.learners.find((m) => m.id === id);
  return learner === undefined ? null : { ...learner, role: 'learner' };
}

function inEffect(config: StatusConfiguration | undefined, request: MemberChangeRequest, oldIncarnation: string | null): boolean {
  const member = findIn(config, request.node);
  switch (request.action) {
    case 'add':
      return member !== null && member.role === (request.learner ? 'learner' : 'voter');
    case 'promote':
      return member !== null && member.role === 'voter';
    case 'remove':
      return member === null;
    case 'replace':
      return member !== null && (oldIncarnation === null || member.incarnation !== oldIncarnation) && (request.address === null || member.address === request.address);
  }
}

function describe(request: MemberChangeRequest): string {
  if (request.action === 'add') return `node ${request.node} added as a ${request.learner ? 'learner' : 'voter'}`;
  if (request.action === 'promote') return `node ${request.node} promoted to voter`;
  if (request.action === 'remove') return `node ${request.node} removed`;
  return `node ${request.node} replaced`;
}

/**
 * `node start --join ADDRS`: the cluster's id and where to dial each member,
 * from the first member that answers (its configuration, the addresses it
 * dials its peers at, and the address it answered on).
 */
export async function joinPlan(addresses: readonly ClusterAddress[], self: NodeId, timeoutMs: number): Promise<{ clusterId: string; peers: Map<NodeId, string> }> {
  const answers = await statuses(addresses, timeoutMs);
  const answered = answers.find((answer) => answer.status?.configuration !== undefined) ?? answers.find((answer) => answer.status !== null);
  if (answered?.status == null) {
    throw new Error(`no node answered at ${addresses.map(formatAddress).join(', ')}: ${answers.map((a) => `${a.address}: ${a.error}`).join('; ')}`);
  }
  const status = answered.status;
  const peers = new Map<NodeId, string>();
  for (const peer of status.peers) peers.set(peer.id, peer.address);
  peers.set(status.id, answered.address);
  for (const member of [...(status.configuration?.voters ?? []), ...(status.configuration?.learners ?? [])]) {
    if (member.address !== null && member.id !== status.id && !peers.has(member.id)) peers.set(member.id, member.address);
  }
  peers.delete(self);
  return { clusterId: status.clusterId, peers };
}
