// Leadership transfer (etcd's MsgTransferLeader / MsgTimeoutNow), scripted on
// real cores and drivers: the leader stops proposing, waits until the target
// holds every chosen slot, blesses it with timeout_now, and the target wins
// phase 1 at a higher ballot without pre-vote. Bounded by an election timeout.
import { describe, expect, it } from 'vitest';
import { compareBallots, type NodeId, type PeerMessage } from '../../../src/node/core/messages.js';
import { Cluster, command, incarnationOf, testLimits, where } from './cluster.js';

const bound = testLimits.electionTimeoutTicksMax!;

/** Ticks every node that is up and delivers everything, up to `rounds` times or until `until` holds. */
function run(cluster: Cluster, rounds: number, until?: () => boolean): number {
  for (let round = 0; round < rounds; round += 1) {
    for (const id of cluster.ids) if (cluster.isUp(id)) cluster.tick(id);
    cluster.deliverAll();
    if (until?.()) return round + 1;
  }
  return rounds;
}

function role(cluster: Cluster, id: NodeId): string {
  return cluster.node(id).status().role;
}

/** Every applied command key at `id`, without slots: each command must appear once. */
function appliedCommands(cluster: Cluster, id: NodeId): string[] {
  return cluster.appliedKeys(id).flatMap((key) => key.slice(key.indexOf(':') + 1).split('|')).filter((key) => key !== 'noop' && !key.startsWith('\u0000'));
}

describe('leader transfer', () => {
  it('moves leadership to a caught-up voter: it campaigns at a higher ballot at once, and the old leader reports it leading', () => {
    const cluster = new Cluster({ size: 3 });
    const old = cluster.elect(1);
    cluster.propose(1, command('a', 1), command('a', 2));
    cluster.deliverAll();
    cluster.spreadCommitIndex(1);
    const results = cluster.transferLeadership(1, 2);
    expect(results).toEqual([]);
    expect(cluster.node(1).status().transferringTo).toBe(2);
    const rounds = run(cluster, bound, () => results.length > 0);
    expect(results).toEqual([{ status: 'done', from: 1, to: 2, ballot: expect.any(String) }]);
    expect(rounds).toBeLessThan(bound);
    expect(role(cluster, 2)).toBe('leader');
    expect(role(cluster, 1)).toBe('follower');
    expect(compareBallots(cluster.node(2).status().ballot, old)).toBeGreaterThan(0);
    // The blessing, not an election timeout: node 2 never asked for pre-votes.
    expect(cluster.events.get(2)?.some((e) => e.kind === 'candidate')).toBe(true);
    expect(cluster.events.get(1)?.map((e) => e.kind)).toEqual(expect.arrayContaining(['transfer_started', 'transfer_blessed', 'transfer_done']));
    expect(cluster.node(1).status().transferringTo).toBeNull();
    cluster.chosen(); // throws on two values for one slot
  });

  it('a lagging target catches up first: timeout_now leaves only once it reports the leader\'s commit index', () => {
    const cluster = new Cluster({ size: 3 });
    cluster.elect(1);
    // Node 3 misses the accepts and heartbeats of three slots.
    for (let seq = 1; seq <= 3; seq += 1) {
      cluster.propose(1, command('lag', seq));
      cluster.take(where({ to: 3 }));
      cluster.deliverAll();
    }
    expect(cluster.node(3).status().commitIndex).toBeLessThan(cluster.node(1).status().commitIndex);
    const results = cluster.transferLeadership(1, 3);
    const blessings: PeerMessage[] = [];
    for (let round = 0; round < bound && results.length === 0; round += 1) {
      for (const id of cluster.ids) cluster.tick(id);
      for (;;) {
        const message = cluster.inFlight[0];
        if (message === undefined) break;
        if (message.type === 'timeout_now') {
          blessings.push(message);
          // At the moment it is blessed, the target holds every chosen slot.
          expect(cluster.node(3).status().commitIndex).toBe(cluster.node(1).status().commitIndex);
        }
        cluster.deliver();
      }
    }
    expect(blessings.length).toBeGreaterThan(0);
    expect(results).toMatchObject([{ status: 'done', to: 3 }]);
    expect(role(cluster, 3)).toBe('leader');
    expect(appliedCommands(cluster, 3)).toEqual(['lag#1', 'lag#2', 'lag#3']);
  });

  it('the target dies mid-transfer: after an election timeout the old leader resumes, proposes what queued meanwhile, and the request fails', () => {
    const cluster = new Cluster({ size: 3 });
    cluster.elect(1);
    // Node 2 misses a slot, then dies: the leader never hears it caught up, so it is never blessed.
    cluster.propose(1, command('before', 1));
    cluster.take(where({ to: 2 }));
    cluster.deliverAll();
    cluster.spreadCommitIndex(1);
    cluster.crash(2);
    const results = cluster.transferLeadership(1, 2);
    cluster.propose(1, command('queued', 1));
    // Proposals wait while the transfer is under way.
    expect(cluster.inFlight.some((m) => m.type === 'accept' && m.value.commands.some((c) => c.client === 'queued'))).toBe(false);
    run(cluster, bound + 2, () => results.length > 0);
    expect(results).toEqual([{ status: 'failed', code: 'timed_out', message: expect.stringContaining('resumed'), certain: true }]);
    expect(role(cluster, 1)).toBe('leader');
    run(cluster, 5);
    expect(appliedCommands(cluster, 1)).toContain('queued#1');
  });

  it('a target that was blessed and then died: the failure is not certain (the timeout_now may still arrive)', () => {
    const cluster = new Cluster({ size: 3 });
    cluster.elect(1);
    cluster.spreadCommitIndex(1);
    const results = cluster.transferLeadership(1, 2);
    for (let round = 0; round < bound && !cluster.inFlight.some((m) => m.type === 'timeout_now'); round += 1) {
      for (const id of cluster.ids) cluster.tick(id);
      cluster.deliverAll(where({ type: ['heartbeat', 'heartbeat_reply'] }));
    }
    expect(cluster.take(where({ type: 'timeout_now' }))).toHaveLength(1);
    cluster.crash(2);
    run(cluster, bound + 2, () => results.length > 0);
    expect(results).toMatchObject([{ status: 'failed', code: 'timed_out', certain: false }]);
    expect(role(cluster, 1)).toBe('leader');
  });

  it('refuses a learner, an unknown node, a second transfer, and redirects from a follower; the leader itself is already done', () => {
    const cluster = new Cluster({ size: 4, voters: [1, 2, 3], window: 4 });
    cluster.deliverAll(where({ type: ['join_query', 'join_reply'] }));
    cluster.elect(1);
    expect(cluster.changeMembership(1, { kind: 'set', member: { id: 4, incarnation: incarnationOf(4) }, role: 'learner' })).toEqual({ status: 'queued' });
    run(cluster, 30, () => cluster.node(4).status().member === 'learner' && cluster.node(1).status().configuration?.learners.length === 1);
    expect(cluster.transferLeadership(1, 4)).toEqual([{ status: 'failed', code: 'target_not_voter', message: expect.stringContaining('a learner'), certain: true }]);
    expect(cluster.transferLeadership(1, 9)).toEqual([{ status: 'failed', code: 'target_not_voter', message: expect.stringContaining('not a member'), certain: true }]);
    expect(cluster.transferLeadership(2, 3)).toMatchObject([{ status: 'redirect', leader: 1 }]);
    expect(cluster.transferLeadership(1, 1)).toMatchObject([{ status: 'done', from: 1, to: 1 }]);
    expect(cluster.node(1).status().transferringTo).toBeNull();
    expect(cluster.transferLeadership(1, 3)).toEqual([]);
    expect(cluster.transferLeadership(1, 2)).toMatchObject([{ status: 'failed', code: 'busy', certain: true }]);
    // No membership change while leadership moves.
    expect(cluster.changeMembership(1, { kind: 'remove', id: 4 })).toMatchObject({ status: 'refused', reason: expect.stringContaining('transferred') });
  });

  it('without a target it picks the most caught-up live voter', () => {
    const cluster = new Cluster({ size: 3 });
    cluster.elect(1);
    cluster.propose(1, command('x', 1));
    cluster.take(where({ to: 2 }));
    cluster.deliverAll();
    cluster.tick(1, testLimits.heartbeatTicks!);
    cluster.take(where({ to: 2 }));
    cluster.deliverAll();
    const results = cluster.transferLeadership(1, null);
    expect(cluster.node(1).status().transferringTo).toBe(3);
    run(cluster, bound, () => results.length > 0);
    expect(results).toMatchObject([{ status: 'done', to: 3 }]);
  });

  it('commands submitted during the transfer are retried by their client at the new leader and applied once', () => {
    const cluster = new Cluster({ size: 3 });
    cluster.elect(1);
    cluster.propose(1, command('c', 1));
    cluster.deliverAll();
    cluster.spreadCommitIndex(1);
    const results = cluster.transferLeadership(1, 3);
    cluster.propose(1, command('c', 2), command('d', 1));
    run(cluster, bound, () => results.length > 0);
    expect(results).toMatchObject([{ status: 'done', to: 3 }]);
    // The old leader answered them leader_changed (indeterminate); the client retries the same seqs at the new leader.
    cluster.propose(3, command('c', 2), command('d', 1));
    run(cluster, 10);
    for (const id of cluster.ids) expect(appliedCommands(cluster, id).sort()).toEqual(['c#1', 'c#2', 'd#1']);
    cluster.chosen();
  });

  it('a leader whose removal took effect hands over before it steps down, instead of leaving the cluster leaderless for an election timeout', () => {
    const cluster = new Cluster({ size: 4, window: 4 });
    cluster.elect(1);
    cluster.spreadCommitIndex(1);
    expect(cluster.changeMembership(1, { kind: 'remove', id: 1 })).toEqual({ status: 'queued' });
    let leaderless = 0;
    run(cluster, 60, () => {
      if (!cluster.ids.some((id) => role(cluster, id) === 'leader')) leaderless += 1;
      return cluster.events.get(1)?.some((e) => e.kind === 'transfer_done') === true;
    });
    const events = cluster.events.get(1) ?? [];
    expect(events).toContainEqual(expect.objectContaining({ kind: 'transfer_started', why: 'removal' }));
    expect(events).toContainEqual(expect.objectContaining({ kind: 'transfer_done' }));
    const leader = cluster.ids.find((id) => role(cluster, id) === 'leader');
    expect(leader).not.toBe(1);
    expect(leader).toBeDefined();
    // The new leader took over at once, not after followers' election timeouts.
    expect(leaderless).toBeLessThan(testLimits.electionTimeoutTicksMin!);
    run(cluster, 20);
    expect(cluster.node(leader!).status().configuration?.voters.map((m) => m.id)).toEqual([2, 3, 4]);
  });
});
