// Linearizable reads without the log (src/node/core/reads.ts, the driver's
// query path): scripted on real cores and the real driver, the test deciding
// when each heartbeat and each answer arrives.
import { describe, expect, it } from 'vitest';
import type { HeartbeatMessage, PeerMessage } from '../../../src/node/core/messages.js';
import { ReadTracker } from '../../../src/node/core/reads.js';
import { VoterQuorums, type Configuration } from '../../../src/node/core/membership.js';
import type { ClientResponse } from '../../../src/wire/protocol.js';
import { Cluster, command, incarnationOf, testLimits, where } from './cluster.js';

const readRound = (message: PeerMessage): message is HeartbeatMessage => message.type === 'heartbeat' && message.round > 0;
const answers = (replies: ClientResponse[]) => replies.filter((reply) => reply.type === 'query_reply');

/**
 * Node `next` takes over while node `cut` hears nothing of it (every message to
 * or from it is lost): the others' clocks run until their leader looks dead.
 */
function electWithout(cluster: Cluster, next: number, cut: number, hold: (m: PeerMessage) => boolean = () => false): PeerMessage[] {
  const involvesCut = (m: PeerMessage) => m.to === cut || m.from === cut;
  const others = cluster.ids.filter((id) => id !== cut && cluster.isUp(id));
  const held: PeerMessage[] = [];
  for (let i = 0; i < 200 && cluster.node(next).status().role !== 'leader'; i += 1) {
    for (const id of others) if (id !== next || cluster.node(next).status().role === 'follower') cluster.tick(id);
    cluster.take(involvesCut);
    cluster.deliverAll((m) => !involvesCut(m) && !hold(m) && (m.type !== 'prevote' || m.from === next) && (m.type !== 'prepare' || m.from === next));
    cluster.take(involvesCut);
    held.push(...cluster.take(hold));
  }
  expect(cluster.node(next).status().role).toBe('leader');
  return held;
}

/** The writer's session: registered at slot 1, position 0. */
const writer = 'w@1.0';

/** A three-node cluster led by node 1 with x = 1 applied everywhere (slot 1), and nothing in flight. */
function ledCluster(limits = testLimits): Cluster {
  const cluster = new Cluster({ size: 3, limits });
  cluster.elect(1);
  // The writer's session is registered in the same slot as its first write (position 0 names it).
  cluster.propose(1, command('w', 0, null), command(writer, 1, ['set', 'x', '1']));
  cluster.deliverAll();
  cluster.spreadCommitIndex(1);
  return cluster;
}

describe('linearizable reads (ReadIndex)', () => {
  it('is answered only after a majority answers a heartbeat round that started after the read arrived', () => {
    const cluster = ledCluster();
    const replies = cluster.query(1, ['get', 'x']);
    cluster.collect([1]);
    expect(replies).toEqual([]);
    const round = cluster.inFlight.filter(readRound);
    expect(round.map((m) => m.to).sort()).toEqual([2, 3]);
    expect(new Set(round.map((m) => m.round)).size).toBe(1);
    // The heartbeat reaches node 2, which answers; nothing is answered before its ack is back.
    cluster.deliver(where({ type: 'heartbeat', to: 2 }));
    expect(replies).toEqual([]);
    cluster.deliver(where({ type: 'heartbeat_reply', from: 2 }));
    expect(replies).toEqual([{ type: 'query_reply', id: expect.any(Number), ok: true, result: '1', error: null, appliedSlot: 1, consistency: 'linearizable', knownChosenSlot: 1 }]);
    // Nothing was written for the read.
    expect(cluster.collect([1]).get(1)?.records).toEqual([]);
  });

  it('a read that arrives while a round is in flight waits for the next round', () => {
    const cluster = ledCluster();
    const first = cluster.query(1, ['get', 'x']);
    cluster.collect([1]);
    const second = cluster.query(1, ['get', 'x']);
    cluster.collect([1]);
    const firstRound = cluster.inFlight.filter(readRound);
    expect(firstRound).toHaveLength(2); // one round only, to nodes 2 and 3
    cluster.deliver(where({ type: 'heartbeat', to: 2 }));
    cluster.deliver(where({ type: 'heartbeat_reply', from: 2 }));
    expect(answers(first)).toHaveLength(1);
    expect(second).toEqual([]);
    // The round that confirmed the first left before the second arrived; the next one serves it.
    const next = cluster.inFlight.filter((m) => readRound(m) && m.round > firstRound[0].round);
    expect(next.map((m) => m.to).sort()).toEqual([2, 3]);
    cluster.deliver((m) => readRound(m) && m.to === 2 && m.round > firstRound[0].round);
    cluster.deliver(where({ type: 'heartbeat_reply', from: 2 }));
    expect(answers(second)).toHaveLength(1);
  });

  it('an answer to a round that started before the read arrived does not confirm it', () => {
    const cluster = ledCluster();
    const first = cluster.query(1, ['get', 'x']);
    cluster.collect([1]);
    cluster.deliver(where({ type: 'heartbeat', to: 2 }));
    cluster.deliver(where({ type: 'heartbeat', to: 3 }));
    // Both acks of round 1 are on their way back when the second read arrives.
    const second = cluster.query(1, ['get', 'x']);
    cluster.collect([1]);
    cluster.deliver(where({ type: 'heartbeat_reply', from: 2 }));
    cluster.deliver(where({ type: 'heartbeat_reply', from: 3 }));
    expect(answers(first)).toHaveLength(1);
    expect(second).toEqual([]);
  });

  it('one round serves every read waiting when it starts', () => {
    const cluster = ledCluster();
    const replies = Array.from({ length: 20 }, (_, i) => cluster.query(1, ['get', i % 2 === 0 ? 'x' : 'y']));
    cluster.collect([1]);
    expect(cluster.inFlight.filter(readRound)).toHaveLength(2);
    cluster.deliver(where({ type: 'heartbeat', to: 3 }));
    cluster.deliver(where({ type: 'heartbeat_reply', from: 3 }));
    expect(replies.map((r) => answers(r).map((a) => (a.type === 'query_reply' ? a.result : undefined)))).toEqual(
      Array.from({ length: 20 }, (_, i) => [i % 2 === 0 ? '1' : null]),
    );
  });

  it('a deposed leader that has not heard of its successor never answers: the round meets the higher promise and fails the read as retryable', () => {
    const cluster = ledCluster();
    // Node 2 takes over while node 1 hears nothing of it, and writes x = 2.
    const toOrFrom1 = (m: PeerMessage) => m.to === 1 || m.from === 1;
    electWithout(cluster, 2, 1);
    cluster.propose(2, command(writer, 2, ['set', 'x', '2']));
    cluster.deliverAll((m) => !toOrFrom1(m));
    cluster.take(toOrFrom1);
    expect(cluster.node(1).status().role).toBe('leader'); // still thinks it leads
    const replies = cluster.query(1, ['get', 'x']);
    cluster.collect([1]);
    cluster.deliverAll();
    expect(answers(replies)).toEqual([]);
    expect(replies).toEqual([expect.objectContaining({ type: 'error', code: 'leader_changed', indeterminate: false })]);
    expect(cluster.node(1).status().role).not.toBe('leader');
  });

  it('a new leader waits for the slots it re-proposed on taking over before it answers', () => {
    const cluster = ledCluster();
    // x = 3 is chosen at slot 2 (nodes 1 and 2 accepted), but only node 1 learns it; then node 1 stops.
    cluster.propose(1, command(writer, 3, ['set', 'x', '3']));
    cluster.deliverAll(where({ type: ['accept', 'accepted'], from: [1, 2], to: [1, 2] }));
    cluster.take(() => true);
    cluster.crash(1);
    // Node 2 re-proposes slot 2; hold the acceptances back.
    const held = electWithout(cluster, 2, 1, where({ type: 'accepted' }));
    held.push(...cluster.take(where({ type: 'accepted' })));
    expect(cluster.node(2).status().commitIndex).toBe(1);
    const replies = cluster.query(2, ['get', 'x']);
    cluster.collect([2]);
    cluster.deliverAll(where({ type: ['heartbeat', 'heartbeat_reply'] }));
    expect(replies).toEqual([]); // confirmed, but slot 3 is not applied yet
    cluster.send(...held);
    cluster.deliverAll();
    expect(answers(replies)).toEqual([expect.objectContaining({ result: '3', appliedSlot: 2 })]);
  });

  it('a follower redirects a linearizable read and answers a local one at once, saying how far it knows the log goes', () => {
    const cluster = ledCluster();
    expect(cluster.query(2, ['get', 'x'])).toEqual([{ type: 'redirect', id: expect.any(Number), leader: 1, address: null }]);
    // A write node 3 does not hear of yet: its local read is behind, and it says so once it learns the commit index.
    cluster.propose(1, command(writer, 4, ['set', 'x', '4']));
    cluster.deliverAll(where({ type: ['accept', 'accepted'], from: [1, 2], to: [1, 2] }));
    cluster.take(where({ to: 3 }));
    cluster.tick(1, testLimits.heartbeatTicks ?? 2);
    cluster.take(where({ type: 'accept', to: 3 }));
    cluster.deliverAll(where({ type: 'heartbeat', to: 3 }));
    cluster.take(where({ type: 'chosen_request' }));
    const local = cluster.query(3, ['get', 'x'], 'local');
    expect(local).toEqual([{ type: 'query_reply', id: expect.any(Number), ok: true, result: '1', error: null, appliedSlot: 1, consistency: 'local', knownChosenSlot: 2 }]);
  });

  it('says busy beyond readsWaitingMax, and refuses a verb that is not a read', () => {
    const cluster = ledCluster({ ...testLimits, readsWaitingMax: 2 });
    cluster.query(1, ['get', 'x']);
    cluster.query(1, ['get', 'x']);
    expect(cluster.query(1, ['get', 'x'])).toEqual([expect.objectContaining({ type: 'error', code: 'overloaded', indeterminate: false })]);
    cluster.collect([1]);
    cluster.deliverAll();
    const write = cluster.query(1, ['set', 'x', '9']);
    cluster.collect([1]);
    cluster.deliverAll();
    expect(write).toEqual([expect.objectContaining({ type: 'query_reply', ok: false, error: expect.stringMatching(/set is not a read/) })]);
  });

  it('a leader cut off from the others gives its reads up after readWaitTicksMax, as retryable', () => {
    const limits = { ...testLimits, readWaitTicksMax: 6 };
    const cluster = ledCluster(limits);
    const replies = cluster.query(1, ['get', 'x']);
    cluster.collect([1]);
    cluster.take(() => true);
    for (let i = 0; i < 6; i += 1) {
      cluster.tick(1);
      cluster.take(() => true);
    }
    expect(replies).toEqual([expect.objectContaining({ type: 'error', code: 'read_expired', indeterminate: false })]);
    expect(cluster.node(1).status().readsWaiting).toBe(0);
  });

  it('waits for no fsync: a leader whose disk never finishes answers reads of what a majority chose', () => {
    const cluster = ledCluster();
    cluster.stallDisk(1);
    cluster.propose(1, command(writer, 5, ['set', 'x', '5']));
    cluster.deliverAll();
    expect(cluster.stalledAppends(1)).toBeGreaterThan(0);
    const replies = cluster.query(1, ['get', 'x']);
    cluster.collect([1]);
    cluster.deliverAll();
    expect(answers(replies)).toEqual([expect.objectContaining({ result: '5', appliedSlot: 2 })]);
  });
});

/** A configuration of voters 1..n, node i's incarnation `i<i>`. */
const votersUpTo = (n: number): Configuration => ({ voters: Array.from({ length: n }, (_, i) => ({ id: i + 1, incarnation: `i${i + 1}` })), learners: [] });
const three = () => new VoterQuorums([votersUpTo(3)]);
const five = () => new VoterQuorums([votersUpTo(5)]);
const self = { id: 1, incarnation: 'i1' };

describe('reads under membership', () => {
  /** Ticks every node that is up and delivers everything, `rounds` times. */
  const run = (cluster: Cluster, rounds: number, until?: () => boolean) => {
    for (let round = 0; round < rounds && until?.() !== true; round += 1) {
      for (const id of cluster.ids) if (cluster.isUp(id)) cluster.tick(id);
      cluster.deliverAll();
    }
  };

  it("a learner's answer does not confirm a read: only a majority of the voters does", () => {
    const cluster = new Cluster({ size: 4, voters: [1, 2, 3], window: 4 });
    cluster.deliverAll(where({ type: ['join_query', 'join_reply'] }));
    cluster.elect(1);
    const learner = { kind: 'set' as const, member: { id: 4, incarnation: incarnationOf(4) }, role: 'learner' as const };
    expect(cluster.changeMembership(1, learner)).toEqual({ status: 'queued' });
    run(cluster, 40, () => cluster.node(4).status().member === 'learner' && !cluster.node(1).status().changePending);
    expect(cluster.node(4).status().member).toBe('learner');
    expect(cluster.node(1).status().role).toBe('leader');
    cluster.collect(cluster.ids);
    cluster.deliverAll();
    const replies = cluster.query(1, ['get', 'x']);
    cluster.collect([1]);
    const round = cluster.inFlight.filter(readRound);
    // The round goes to the learner too (it is a member), but its answer is not a voter's.
    expect(round.map((m) => m.to).sort()).toEqual([2, 3, 4]);
    cluster.deliver(where({ type: 'heartbeat', to: 4 }));
    cluster.deliver(where({ type: 'heartbeat_reply', from: 4 }));
    expect(answers(replies)).toEqual([]);
    expect(cluster.node(1).status().readsWaiting).toBe(1);
    // One voter's answer, with the leader's own, is a majority of the three voters.
    cluster.deliver(where({ type: 'heartbeat', to: 2 }));
    cluster.deliver(where({ type: 'heartbeat_reply', from: 2 }));
    expect(answers(replies)).toEqual([expect.objectContaining({ ok: true })]);
  });

  it('a removed leader gives up its waiting reads as retryable', () => {
    const cluster = new Cluster({ size: 3, window: 4 });
    cluster.elect(1);
    expect(cluster.changeMembership(1, { kind: 'remove', id: 1 })).toEqual({ status: 'queued' });
    cluster.collect([1]);
    cluster.deliverAll();
    // The change is chosen; the reads that wait when the leader's removal takes effect fail.
    const replies = cluster.query(1, ['get', 'x']);
    cluster.collect([1]);
    cluster.take(readRound);
    run(cluster, 40, () => cluster.node(1).status().role !== 'leader');
    expect(cluster.node(1).status().role).not.toBe('leader');
    expect(cluster.node(1).status().readsWaiting).toBe(0);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ type: 'error', indeterminate: false });
  });
});

describe('ReadTracker', () => {
  it('counts only answers to the round in flight, and the leader itself', () => {
    const reads = new ReadTracker(10);
    reads.lead(0);
    expect(reads.add(1, 5, 0, 1)).toBe(true);
    const round = reads.startRound(three, self, 0, 4);
    expect(round).toBe(1);
    expect(reads.ack(2, `i2`, 0)).toEqual([]);
    expect(reads.add(2, 6, 0, 1)).toBe(true);
    expect(reads.startRound(three, self, 1, 4)).toBeNull(); // one round at a time
    expect(reads.ack(3, `i3`, 1)).toEqual([{ id: 1, slot: 5 }]);
    expect(reads.startRound(three, self, 2, 4)).toBe(2);
    expect(reads.failAll('not_leader')).toEqual([{ id: 2, reason: 'not_leader' }]);
    expect(reads.size).toBe(0);
  });

  it('restarts an overdue round with its reads and the waiting ones', () => {
    const reads = new ReadTracker(10);
    reads.add(1, 1, 0, 1);
    reads.startRound(five, self, 0, 4);
    reads.add(2, 1, 1, 1);
    expect(reads.startRound(five, self, 3, 4)).toBeNull();
    expect(reads.startRound(five, self, 4, 4)).toBe(2);
    expect(reads.ack(2, `i2`, 1)).toEqual([]); // the old round is gone
    reads.ack(2, `i2`, 2);
    expect(reads.ack(3, `i3`, 2)).toEqual([{ id: 1, slot: 1 }, { id: 2, slot: 1 }]);
  });

  it("counts neither a learner's nor a stale incarnation's answer, and needs a majority of every configuration given", () => {
    const reads = new ReadTracker(10);
    reads.add(1, 1, 0, 1);
    const withLearner: Configuration = { ...votersUpTo(3), learners: [{ id: 4, incarnation: 'i4' }] };
    reads.startRound(() => new VoterQuorums([withLearner]), self, 0, 4);
    expect(reads.ack(4, 'i4', 1)).toEqual([]); // a learner
    expect(reads.ack(2, 'i2-wiped', 1)).toEqual([]); // node 2's new incarnation, not the one the configuration names
    expect(reads.ack(5, 'i5', 1)).toEqual([]); // not a member
    expect(reads.ack(2, 'i2', 1)).toEqual([{ id: 1, slot: 1 }]);
    // A change chosen and not yet in effect: {1,2,3} then {1,2,3,4,5}; 1, 4 and 5 are a majority of the second only.
    reads.add(2, 1, 1, 1);
    reads.startRound(() => new VoterQuorums([votersUpTo(3), votersUpTo(5)]), self, 1, 4);
    expect(reads.ack(4, 'i4', 2)).toEqual([]);
    expect(reads.ack(5, 'i5', 2)).toEqual([]);
    expect(reads.ack(2, 'i2', 2)).toEqual([{ id: 2, slot: 1 }]);
  });

  it("asks for the quorum of the slots from the oldest read's first open slot", () => {
    const reads = new ReadTracker(10);
    reads.add(1, 9, 0, 7);
    reads.add(2, 9, 0, 4);
    const asked: number[] = [];
    reads.startRound((firstOpen) => (asked.push(firstOpen), three()), self, 0, 4);
    expect(asked).toEqual([4]);
  });

  it('stamps reads with the slot a new leadership recovered up to until its commit index passes it', () => {
    const reads = new ReadTracker(10);
    reads.lead(7);
    expect(reads.readSlot(3)).toBe(7);
    expect(reads.readSlot(9)).toBe(9);
  });
});
