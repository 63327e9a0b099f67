// What a leader makes of `paxos member ...` (a MemberRequest): the change to
// propose, or why it certainly will not be made. The checks an operator would
// want before a change (SPEC, issue 12): a learner is promoted only once it has
// caught up; a removal (or a replace, which leaves the old incarnation a dead
// acceptor) that would leave the voters without a live majority is refused
// unless forced; a change while another is in flight is refused by the core.
import type { CoreStatus } from '../core/node.js';
import type { Configuration, Member, MembershipChange } from '../core/membership.js';
import type { PeerProgress } from '../core/leader.js';
import type { NodeId, Slot } from '../core/messages.js';
import type { MemberRequest } from '../../wire/protocol.js';

export interface MemberContext {
  self: NodeId;
  status: CoreStatus;
  progress: ReadonlyMap<NodeId, PeerProgress>;
  /** Ticks within which a peer heard from counts as alive. */
  aliveTicks: number;
  /** How far behind the leader's commit index a learner may be and still count as caught up. */
  caughtUpSlots: Slot;
}

export type MemberDecision = { change: MembershipChange } | { refused: string };

export function decideMemberChange(request: MemberRequest, context: MemberContext): MemberDecision {
  const config = context.status.configuration;
  if (config === null) return { refused: 'this node belongs to no cluster yet' };
  const placed = findMember(config, request.node);
  const withAddress = (member: Member, address: string | null): Member => (address === null ? { ...member } : { ...member, address });
  switch (request.action) {
    case 'add': {
      if (placed !== null) return { refused: `node ${request.node} is already a ${placed.role}; use \`paxos member promote\` or \`paxos member replace\`` };
      if (request.address === null) return { refused: 'member add needs --address, where the new node listens' };
      if (!request.learner) {
        // A voter added with no incarnation counts for nothing until the leader binds it, which takes a
        // change of its own: the voters already bound must be a live majority of the larger configuration,
        // or nothing more is chosen (a one-voter cluster adding a second voter would wait forever).
        const size = config.voters.length + 1;
        const advice = `its vote counts only once it has joined; add it with --learner, start it, then \`paxos member promote ${request.node}\` once it has caught up`;
        const refusal = liveMajorityRefusal(config.voters, context, `adding node ${request.node} as a voter`, size, advice);
        if (refusal !== null) return { refused: refusal };
      }
      return { change: { kind: 'set', member: { id: request.node, incarnation: null, address: request.address }, role: request.learner ? 'learner' : 'voter' } };
    }
    case 'promote': {
      if (placed === null) return { refused: `node ${request.node} is not a member; add it first with \`paxos member add --learner\`` };
      if (placed.role === 'voter') return { refused: `node ${request.node} is already a voter` };
      const heard = context.progress.get(request.node);
      if (heard === undefined || context.status.tick - heard.atTick > context.aliveTicks) return { refused: `node ${request.node} is not reachable from the leader (started with \`node start --join\`?)` };
      if (heard.commitIndex + context.caughtUpSlots < context.status.commitIndex) {
        return { refused: `node ${request.node} has not caught up: it has slot ${heard.commitIndex} of ${context.status.commitIndex}; try again once it has` };
      }
      return { change: { kind: 'set', member: withAddress({ id: request.node, incarnation: heard.incarnation }, request.address ?? placed.member.address ?? null), role: 'voter' } };
    }
    case 'remove': {
      if (placed === null) return { refused: `node ${request.node} is not a member` };
      if (placed.role === 'voter') {
        const left = config.voters.filter((m) => m.id !== request.node);
        if (left.length === 0) return { refused: 'the last voter cannot be removed' };
        const refusal = request.force ? null : liveMajorityRefusal(left, context, `removing node ${request.node}`);
        if (refusal !== null) return { refused: refusal };
      }
      return { change: { kind: 'remove', id: request.node } };
    }
    case 'replace': {
      if (placed === null) return { refused: `node ${request.node} is not a member; use \`paxos member add\`` };
      if (placed.role === 'voter' && !request.force) {
        // The old incarnation is a dead acceptor until the new one joins: the others must be a live majority.
        const others = config.voters.filter((m) => m.id !== request.node);
        const refusal = liveMajorityRefusal(others, context, `replacing node ${request.node}`, config.voters.length);
        if (refusal !== null) return { refused: refusal };
      }
      const address = request.address ?? placed.member.address ?? null;
      return { change: { kind: 'set', member: withAddress({ id: request.node, incarnation: null }, address), role: placed.role } };
    }
  }
}

function findMember(config: Configuration, id: NodeId): { member: Member; role: 'voter' | 'learner' } | null {
  const voter = config.voters.find((m) => m.id === id);
  if (voter !== undefined) return { member: voter, role: 'voter' };
  const learner = config.learners.find((m) => m.id === id);
  return learner === undefined ? null : { member: learner, role: 'learner' };
}

/** Null when the voters `counted` (among `size` voters) include a live majority; else why not. */
function liveMajorityRefusal(counted: Member[], context: MemberContext, what: string, size = counted.length, advice = 'bring the others back first, or use --force'): string | null {
  const alive = counted.filter((m) => {
    if (m.id === context.self) return true;
    const heard = context.progress.get(m.id);
    return heard !== undefined && heard.incarnation === m.incarnation && context.status.tick - heard.atTick <= context.aliveTicks;
  });
  const needed = Math.floor(size / 2) + 1;
  if (alive.length >= needed) return null;
  return `${what} would leave ${alive.length} live voter(s) (${alive.map((m) => m.id).join(', ') || 'none'}) where ${needed} are needed; ${advice}`;
}
