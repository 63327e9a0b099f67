// Scripted scenarios for the pure Multi-Paxos core, in the spirit of etcd's
// raft_paper_test.go: each test is named after the sentence of the protocol it
// checks ("Paxos Made Simple" = PMS, "Paxos Made Moderately Complex" = PMMC),
// and drives a few PaxosNode instances by hand, delivering, dropping and
// reordering messages on purpose.
import { describe, expect, it } from 'vitest';
import { PaxosNode, recoverState } from '../../../src/node/core/node.js';
import { foundingState } from '../../../src/node/core/membership.js';
import { Prng } from '../../../src/node/core/prng.js';
import { compareBallots, noopValue, type NodeId, type PeerMessage, type Ready, type WalRecord } from '../../../src/node/core/messages.js';
import { ballot, Cluster, command, incarnationOf, not, testLimits, valueKey, valueOf, where } from './cluster.js';

const x = command('a', 1);
const y = command('b', 1);
const z = command('c', 1);

function messagesOf(ready: Ready | undefined, type?: PeerMessage['type']): PeerMessage[] {
  return (ready?.messages ?? []).filter((m) => type === undefined || m.type === type);
}

function slotsOf(ready: Ready | undefined): number[] {
  return (ready?.apply ?? []).map((e) => e.slot);
}

describe('acceptor (PMS phase 1b and 2b)', () => {
  it('"An acceptor can accept a proposal numbered n iff it has not responded to a prepare request having a number greater than n": a lower accept is refused with a nack naming the promise', () => {
    const cluster = new Cluster({ size: 3 });
    cluster.step({ type: 'prepare', from: 3, to: 2, ballot: ballot(2, 3), fromSlot: 1 });
    const ready = cluster.step({ type: 'accept', from: 1, to: 2, ballot: ballot(1, 1), slot: 1, value: valueOf(x), commitIndex: 0 });
    expect(ready?.records).toEqual([]);
    expect(ready?.messages).toEqual([{ type: 'nack', from: 2, to: 1, ballot: ballot(1, 1), promised: ballot(2, 3) }]);
    expect(cluster.node(2).acceptedEntry(1)).toBeUndefined();
  });

  it('"If an acceptor receives a prepare request with number n greater than that of any prepare request to which it has already responded, it responds with a promise": a lower prepare gets a nack', () => {
    const cluster = new Cluster({ size: 3 });
    cluster.step({ type: 'prepare', from: 3, to: 2, ballot: ballot(2, 3), fromSlot: 1 });
    const ready = cluster.step({ type: 'prepare', from: 1, to: 2, ballot: ballot(2, 1), fromSlot: 1 });
    expect(ready?.records).toEqual([]);
    expect(ready?.messages).toEqual([{ type: 'nack', from: 2, to: 1, ballot: ballot(2, 1), promised: ballot(2, 3) }]);
  });

  it('"a promise never goes down": lower prepares and accepts leave it where it is; a higher accept raises it', () => {
    const cluster = new Cluster({ size: 3 });
    const inputs: PeerMessage[] = [
      { type: 'prepare', from: 2, to: 1, ballot: ballot(2, 2), fromSlot: 1 },
      { type: 'prepare', from: 3, to: 1, ballot: ballot(1, 3), fromSlot: 1 },
      { type: 'accept', from: 3, to: 1, ballot: ballot(3, 3), slot: 1, value: valueOf(x), commitIndex: 0 },
      { type: 'prepare', from: 3, to: 1, ballot: ballot(2, 3), fromSlot: 1 },
      { type: 'accept', from: 2, to: 1, ballot: ballot(2, 2), slot: 2, value: valueOf(y), commitIndex: 0 },
    ];
    const promised = inputs.map((message) => {
      cluster.step(message);
      return cluster.node(1).status().promised;
    });
    expect(promised).toEqual([ballot(2, 2), ballot(2, 2), ballot(3, 3), ballot(3, 3), ballot(3, 3)]);
    expect(cluster.node(1).acceptedEntry(2)).toBeUndefined();
  });

  it('"a lost promise message gets answered again": repeating a prepare for the same ballot is answered again without a new record', () => {
    const cluster = new Cluster({ size: 3 });
    const prepare: PeerMessage = { type: 'prepare', from: 3, to: 2, ballot: ballot(1, 3), fromSlot: 1 };
    const first = cluster.step(prepare);
    const second = cluster.step(prepare);
    expect(first?.records).toEqual([{ type: 'promise', ballot: ballot(1, 3) }]);
    expect(second?.records).toEqual([]);
    expect(messagesOf(second)).toEqual(messagesOf(first));
    expect(messagesOf(second, 'promise')).toHaveLength(1);
  });

  it('"its response to a prepare includes the proposal with the highest number that it has accepted": a promise reports the accepted values from fromSlot on', () => {
    const cluster = new Cluster({
      size: 3,
      disks: { 2: [{ type: 'accept', slot: 1, ballot: ballot(1, 1), value: valueOf(x) }, { type: 'accept', slot: 3, ballot: ballot(1, 1), value: valueOf(y) }] },
    });
    const ready = cluster.step({ type: 'prepare', from: 3, to: 2, ballot: ballot(2, 3), fromSlot: 2 });
    const [promise] = messagesOf(ready, 'promise');
    expect(promise).toMatchObject({ ballot: ballot(2, 3), fromSlot: 2, accepted: [{ slot: 3, ballot: ballot(1, 1), value: valueOf(y) }] });
  });
});

describe('leader election and phase 1 (PMS, PMMC)', () => {
  it('"a new leader re-proposes the value accepted at the highest ballot for each open slot" and fills holes with no-ops before new commands', () => {
    const cluster = new Cluster({
      size: 3,
      disks: {
        1: [{ type: 'promise', ballot: ballot(2, 1) }],
        2: [
          { type: 'accept', slot: 1, ballot: ballot(1, 2), value: valueOf(x) },
          { type: 'accept', slot: 3, ballot: ballot(1, 2), value: valueOf(z) },
        ],
        3: [{ type: 'accept', slot: 1, ballot: ballot(2, 3), value: valueOf(y) }],
      },
    });
    const leaderBallot = cluster.campaign(1);
    expect(leaderBallot).toEqual(ballot(3, 1));
    // Only the promises of 2 and 3 make the majority, so the leader must combine them.
    cluster.deliverAll(where({ type: 'prepare', to: [2, 3] }));
    cluster.deliverAll(where({ type: 'promise', from: [2, 3] }));
    expect(cluster.node(1).status().role).toBe('leader');
    const proposed = cluster.inFlight
      .filter(where({ type: 'accept', to: 2 }))
      .map((m) => (m.type === 'accept' ? [m.slot, valueKey(m.value), compareBallots(m.ballot, leaderBallot)] : []));
    expect(proposed).toEqual([
      [1, valueKey(valueOf(y)), 0],
      [2, valueKey(noopValue), 0],
      [3, valueKey(valueOf(z)), 0],
    ]);
    cluster.propose(1, command('d', 1));
    expect(cluster.inFlight.filter(where({ type: 'accept', to: 2, slot: 4 }))).toHaveLength(1);
  });

  it('"A node back from a partition must not depose a healthy leader": a follower ignores a prepare while it hears a live leader', () => {
    const cluster = new Cluster({ size: 3 });
    cluster.elect(1);
    const prepare: PeerMessage = { type: 'prepare', from: 3, to: 2, ballot: ballot(5, 3), fromSlot: 1 };
    const limits = cluster.node(2).limits;
    cluster.tick(2, limits.electionTimeoutTicksMin - 1);
    const ignored = cluster.step(prepare);
    expect(ignored?.messages).toEqual([]);
    expect(ignored?.records).toEqual([]);
    expect(cluster.node(2).status().promised).toEqual(ballot(1, 1));
  });

  it('pre-vote (Raft thesis 9.6): a node whose leader went quiet only for it asks first, is told no, and never raises its ballot or nacks the leader', () => {
    const cluster = new Cluster({ size: 3 });
    const leaderBallot = cluster.elect(1);
    const limits = cluster.node(3).limits;
    // Node 3 hears nothing from the leader (a restart, a one-way partition); the others do.
    for (let tick = 0; tick < limits.electionTimeoutTicksMax * 3; tick += 1) {
      cluster.tick(1);
      cluster.tick(3);
      cluster.take(where({ from: 1, to: 3 }));
      cluster.deliverAll();
    }
    expect(cluster.node(3).status().role).toBe('follower');
    expect(cluster.node(3).status().promised).toEqual(leaderBallot);
    expect(cluster.node(1).status().role).toBe('leader');
    expect(cluster.node(1).status().ballot).toEqual(leaderBallot);
    // Once the leader is heard again, nothing happens: no nack, no election.
    cluster.tick(1, limits.heartbeatTicks);
    cluster.deliverAll();
    expect(cluster.node(1).status().ballot).toEqual(leaderBallot);
  });

  it('pre-vote: once the leader is gone for everyone, a majority grants it and the node campaigns', () => {
    const cluster = new Cluster({ size: 3 });
    const leaderBallot = cluster.elect(1);
    cluster.crash(1);
    const limits = cluster.node(2).limits;
    for (let tick = 0; tick < limits.electionTimeoutTicksMax * 4 && cluster.node(2).status().role !== 'leader' && cluster.node(3).status().role !== 'leader'; tick += 1) {
      cluster.tick(2);
      cluster.tick(3);
      cluster.deliverAll();
    }
    const roles = [cluster.node(2).status().role, cluster.node(3).status().role];
    expect(roles).toContain('leader');
    expect(compareBallots(cluster.node(2).status().promised, leaderBallot)).toBeGreaterThan(0);
  });

  it('"…and answers it once the leader has been silent longer than the election timeout"', () => {
    const cluster = new Cluster({ size: 3 });
    cluster.elect(1);
    const limits = cluster.node(2).limits;
    let silentTicks = 0;
    while (cluster.node(2).status().leader !== null) {
      cluster.tick(2);
      silentTicks += 1;
    }
    expect(silentTicks).toBe(limits.electionTimeoutTicksMin);
    const ready = cluster.step({ type: 'prepare', from: 3, to: 2, ballot: ballot(5, 3), fromSlot: 1 });
    expect(ready?.records).toEqual([{ type: 'promise', ballot: ballot(5, 3) }]);
    expect(messagesOf(ready, 'promise')).toMatchObject([{ to: 3, ballot: ballot(5, 3) }]);
  });

  describe('"a leader that learns of a higher ballot is preempted" (PMMC): it steps down and says so', () => {
    const higher = ballot(4, 3);
    const cases: [string, PeerMessage, number | null][] = [
      ['a nack', { type: 'nack', from: 2, to: 1, ballot: ballot(1, 1), promised: higher }, null],
      ['a heartbeat', { type: 'heartbeat', from: 3, to: 1, ballot: higher, commitIndex: 0 }, 3],
      ['an accept', { type: 'accept', from: 3, to: 1, ballot: higher, slot: 1, value: valueOf(x), commitIndex: 0 }, 3],
    ];
    it.each(cases)('on %s', (_, message, leaderAfter) => {
      const cluster = new Cluster({ size: 3 });
      const own = cluster.elect(1);
      cluster.propose(1, y);
      const ready = cluster.step(message);
      expect(ready?.events).toContainEqual({ kind: 'preempted', ballot: own, by: higher });
      const status = cluster.node(1).status();
      expect(status.role).toBe('follower');
      expect(status.leader).toBe(leaderAfter);
      expect(status.proposalsInFlight).toBe(0);
      expect(cluster.node(1).propose(z)).toEqual({ status: 'redirect', leader: leaderAfter });
    });
  });

  it('"a deposed leader learns of the higher ballot from the acceptors": a heartbeat below the promise gets a nack, and the leader steps down', () => {
    const cluster = new Cluster({ size: 3 });
    const own = cluster.elect(1);
    cluster.step({ type: 'accept', from: 2, to: 3, ballot: ballot(2, 2), slot: 1, value: valueOf(x), commitIndex: 0 });
    cluster.inFlight = [];
    cluster.tick(1, cluster.node(1).limits.heartbeatTicks);
    const answer = cluster.deliver(where({ type: 'heartbeat', to: 3 }));
    expect(answer?.messages).toEqual([{ type: 'nack', from: 3, to: 1, ballot: own, promised: ballot(2, 2) }]);
    const ready = cluster.deliver(where({ type: 'nack' }));
    expect(ready?.events).toContainEqual({ kind: 'preempted', ballot: own, by: ballot(2, 2) });
    expect(cluster.node(1).status().role).toBe('follower');
  });

  it('PMMC: "a leader ignores a preempted ballot\'s late messages": an accepted for an older ballot is not counted', () => {
    const cluster = new Cluster({ size: 3, disks: { 1: [{ type: 'promise', ballot: ballot(3, 1) }] } });
    expect(cluster.elect(1)).toEqual(ballot(4, 1));
    cluster.propose(1, x);
    cluster.take(where({ type: 'accept', to: [2, 3] }));
    cluster.step({ type: 'accepted', from: 2, to: 1, ballot: ballot(2, 2), slot: 1 });
    cluster.step({ type: 'accepted', from: 3, to: 1, ballot: ballot(2, 2), slot: 1 });
    expect(cluster.node(1).chosenValue(1)).toBeUndefined();
    expect(cluster.node(1).status().proposalsInFlight).toBe(1);
  });
});

describe('phase 2: choosing and learning (PMS)', () => {
  it('"A value is chosen when a single proposal with that value has been accepted by a majority of the acceptors", and the chosen record comes with (before) the apply', () => {
    const cluster = new Cluster({ size: 3 });
    cluster.elect(1);
    cluster.propose(1, x);
    cluster.deliverAll(where({ type: 'accept' }));
    const fromSelf = cluster.take(where({ type: 'accepted', from: 1 }))[0];
    const first = cluster.step(fromSelf);
    expect(first?.records).toEqual([]);
    const duplicate = cluster.step(fromSelf);
    expect(duplicate?.records).toEqual([]);
    expect(cluster.node(1).chosenValue(1)).toBeUndefined();
    const second = cluster.deliver(where({ type: 'accepted', from: 2 }));
    expect(second?.records).toEqual([{ type: 'chosen', slot: 1, value: valueOf(x) }]);
    expect(second?.apply).toEqual([{ slot: 1, value: valueOf(x) }]);
    const third = cluster.deliver(where({ type: 'accepted', from: 3 }));
    expect(third?.records).toEqual([]);
    expect(third?.apply).toEqual([]);
  });

  it('"persisted BEFORE messages are sent": an accepted message only ever leaves together with its accept record', () => {
    const cluster = new Cluster({ size: 3 });
    const ready = cluster.step({ type: 'accept', from: 1, to: 2, ballot: ballot(1, 1), slot: 1, value: valueOf(x), commitIndex: 0 });
    expect(ready?.records).toEqual([{ type: 'accept', slot: 1, ballot: ballot(1, 1), value: valueOf(x) }]);
    expect(ready?.messages).toEqual([{ type: 'accepted', from: 2, to: 1, incarnation: 'n2.0', ballot: ballot(1, 1), slot: 1, commitIndex: 0 }]);

    // And over a longer run: elections, commands, a lost message, a restart.
    cluster.elect(3);
    cluster.propose(3, y, z);
    cluster.take(where({ type: 'accept', to: 1 }));
    cluster.deliverAll();
    cluster.restart(2);
    cluster.spreadCommitIndex(3);
    cluster.propose(3, command('d', 1));
    cluster.tick(3, cluster.node(3).limits.resendTicks);
    cluster.deliverAll();
    expect(cluster.checkedMessages).toBeGreaterThanOrEqual(8);
    expect(cluster.orderViolations).toEqual([]);
  });

  it('PMMC: "replicas apply slots strictly in order", even when they are chosen out of order', () => {
    const cluster = new Cluster({ size: 3, limits: { ...testLimits, batchCommandsMax: 1 } });
    cluster.elect(1);
    cluster.propose(1, x, y);
    cluster.deliverAll(where({ type: 'accept' }));
    cluster.deliver(where({ type: 'accepted', from: 2, slot: 2 }));
    const slot2 = cluster.deliver(where({ type: 'accepted', from: 3, slot: 2 }));
    expect(slot2?.records).toEqual([{ type: 'chosen', slot: 2, value: valueOf(y) }]);
    expect(slot2?.apply).toEqual([]);
    expect(cluster.node(1).status()).toMatchObject({ lastChosen: 2, commitIndex: 0, lastApplied: 0 });
    expect(cluster.appliedKeys(1)).toEqual([]);
    cluster.deliverAll(where({ type: 'accepted', slot: 1 }));
    expect(cluster.appliedKeys(1)).toEqual(['1:a#1', '2:b#1']);
  });

  it('a follower learns a chosen value from the piggybacked commit index when it accepted it at that leader\'s ballot, and asks (chosen_request) for the rest', () => {
    const cluster = new Cluster({ size: 3 });
    cluster.elect(1);
    cluster.propose(1, x);
    cluster.take(where({ type: 'accept', to: 3, slot: 1 })); // lost
    cluster.deliverAll(where({ type: ['accept', 'accepted'], slot: 1 }));
    expect(cluster.node(1).status().commitIndex).toBe(1);
    cluster.propose(1, y);
    expect(cluster.inFlight.find(where({ type: 'accept', to: 2, slot: 2 }))).toMatchObject({ commitIndex: 1 });

    const atTwo = cluster.deliver(where({ type: 'accept', to: 2, slot: 2 }));
    expect(atTwo?.records).toContainEqual({ type: 'chosen', slot: 1, value: valueOf(x) });
    expect(slotsOf(atTwo)).toEqual([1]);

    const atThree = cluster.deliver(where({ type: 'accept', to: 3, slot: 2 }));
    expect(atThree?.records.filter((r) => r.type === 'chosen')).toEqual([]);
    expect(cluster.node(3).status()).toMatchObject({ commitIndex: 0, knownCommitIndex: 1 });
    const [request] = messagesOf(cluster.tick(3)[0], 'chosen_request');
    expect(request).toEqual({ type: 'chosen_request', from: 3, to: 1, fromSlot: 1, toSlot: 1 });
    cluster.deliverAll(where({ type: ['chosen_request', 'chosen_reply'] }));
    expect(cluster.node(3).chosenValue(1)).toEqual(valueOf(x));
    expect(cluster.appliedKeys(3)).toEqual(['1:a#1']);
  });

  it('a value a follower accepted at an older ballot is not learned from a newer leader\'s commit index: it asks for the chosen one', () => {
    // Node 3 accepted x at slot 1 from an old leader at 1.1; that x was never chosen.
    const cluster = new Cluster({ size: 3, disks: { 3: [{ type: 'accept', slot: 1, ballot: ballot(1, 1), value: valueOf(x) }] } });
    cluster.campaign(2);
    cluster.take(where({ to: 3 }));
    cluster.deliverAll();
    expect(cluster.node(2).status()).toMatchObject({ role: 'leader', ballot: ballot(1, 2) });
    cluster.propose(2, y);
    cluster.take(where({ to: 3 }));
    cluster.deliverAll();
    expect(cluster.node(2).chosenValue(1)).toEqual(valueOf(y));

    cluster.tick(2, cluster.node(2).limits.heartbeatTicks);
    const heard = cluster.deliver(where({ type: 'heartbeat', to: 3 }));
    expect(heard?.records).toEqual([]);
    expect(cluster.node(3).chosenValue(1)).toBeUndefined();
    cluster.tick(3);
    cluster.deliverAll(where({ type: ['chosen_request', 'chosen_reply'] }));
    expect(cluster.node(3).chosenValue(1)).toEqual(valueOf(y));
    expect(cluster.appliedKeys(3)).toEqual(['1:b#1']);
  });

  it('"a proposal not yet chosen is sent again after resendTicks": a lost accept is resent', () => {
    const cluster = new Cluster({ size: 3 });
    cluster.elect(1);
    const { resendTicks } = cluster.node(1).limits;
    cluster.propose(1, x);
    cluster.take(where({ type: 'accept', to: [2, 3] }));
    cluster.deliverAll();
    cluster.tick(1, resendTicks - 1);
    expect(cluster.inFlight.filter(where({ type: 'accept' }))).toEqual([]);
    cluster.tick(1);
    expect(cluster.inFlight.filter(where({ type: 'accept' })).map((m) => m.to)).toEqual([2, 3]);
    cluster.deliverAll();
    expect(cluster.node(1).chosenValue(1)).toEqual(valueOf(x));
  });
});

describe('the leader\'s window and queue (PMMC WINDOW, limits)', () => {
  it('a leader keeps at most slotsInFlightMax slots in flight and batches up to batchCommandsMax pending commands into one slot', () => {
    const cluster = new Cluster({ size: 3, limits: { ...testLimits, slotsInFlightMax: 2, batchCommandsMax: 3 } });
    cluster.elect(1);
    const commands = Array.from({ length: 10 }, (_, i) => command('w', i + 1));
    cluster.propose(1, ...commands);
    const toSelf = () => cluster.inFlight.filter(where({ type: 'accept', to: 1 })).map((m) => (m.type === 'accept' ? `${m.slot}=${valueKey(m.value)}` : ''));
    expect(toSelf()).toEqual(['1=w#1|w#2|w#3', '2=w#4|w#5|w#6']);
    expect(cluster.node(1).status()).toMatchObject({ proposalsInFlight: 2, pendingCommands: 4 });

    cluster.deliverAll(where({ type: ['accept', 'accepted'], slot: 1 }));
    cluster.collect([1]);
    expect(toSelf()).toEqual(['2=w#4|w#5|w#6', '3=w#7|w#8|w#9']);
    expect(cluster.node(1).status()).toMatchObject({ proposalsInFlight: 2, pendingCommands: 1 });

    cluster.deliverAll();
    expect(cluster.node(1).status()).toMatchObject({ commitIndex: 4, proposalsInFlight: 0, pendingCommands: 0 });
  });

  it('propose on a follower returns a redirect naming the leader it hears (or null)', () => {
    const cluster = new Cluster({ size: 3 });
    expect(cluster.node(2).propose(x)).toEqual({ status: 'redirect', leader: null });
    cluster.elect(1);
    expect(cluster.node(2).propose(x)).toEqual({ status: 'redirect', leader: 1 });
    while (cluster.node(2).status().leader !== null) cluster.tick(2);
    expect(cluster.node(2).propose(x)).toEqual({ status: 'redirect', leader: null });
  });

  it('propose beyond pendingCommandsMax returns busy', () => {
    const cluster = new Cluster({ size: 3, limits: { ...testLimits, pendingCommandsMax: 2 } });
    cluster.elect(1);
    const leader = cluster.node(1);
    expect(leader.propose(command('q', 1))).toEqual({ status: 'queued' });
    expect(leader.propose(command('q', 2))).toEqual({ status: 'queued' });
    expect(leader.propose(command('q', 3))).toEqual({ status: 'busy', pendingCommandsMax: 2 });
    cluster.tick(1); // the driver takes the next Ready: the queue moves into a slot
    expect(leader.propose(command('q', 3))).toEqual({ status: 'queued' });
  });
});

describe('starting a brand-new cluster (etcd\'s --initial-cluster-state; Paxos Made Live 5.1 for the rest)', () => {
  /** Ticks the nodes that are up and delivers everything, until one of them leads. */
  function runUntilLeader(cluster: Cluster, ids: NodeId[], ticksMax = 400): NodeId | undefined {
    for (let tick = 0; tick < ticksMax; tick += 1) {
      for (const id of ids) cluster.tick(id);
      cluster.deliverAll();
      const leader = ids.find((id) => cluster.node(id).status().role === 'leader');
      if (leader !== undefined) return leader;
    }
    return undefined;
  }

  it('default (unanimous): fresh nodes found a cluster only once every node in --peers answered and all agree on every incarnation; with one down they wait', () => {
    const cluster = new Cluster({ size: 3, start: 'unanimous' });
    cluster.crash(3);
    expect(runUntilLeader(cluster, [1, 2])).toBeUndefined();
    expect([cluster.node(1).status().member, cluster.node(2).status().member]).toEqual(['pristine', 'pristine']);
    const waiting = cluster.events.get(1)?.filter((e) => e.kind === 'waiting') ?? [];
    expect(waiting.map((e) => (e.kind === 'waiting' ? e.why : '')).at(-1)).toContain('waiting for node(s) 3 to answer');
    cluster.restart(3);
    const leader = runUntilLeader(cluster, [1, 2, 3]);
    expect(leader).toBeDefined();
    for (const id of cluster.ids) {
      expect(cluster.node(id).status().member).toBe('voter');
      expect(cluster.node(id).status().configuration?.voters).toEqual([1, 2, 3].map((n) => ({ id: n, incarnation: incarnationOf(n) })));
    }
  });

  it('new (majority): two of three fresh nodes found after a grace period, naming the silent one with no incarnation; it joins later and the leader binds it to its incarnation once it has caught up', () => {
    const cluster = new Cluster({ size: 3, start: 'majority', window: 4 });
    cluster.take(where({ from: 3 })); // node 3's first questions are lost: nobody learns its incarnation
    cluster.crash(3);
    const leader = runUntilLeader(cluster, [1, 2]);
    expect(leader).toBeDefined();
    expect(cluster.node(1).status().configuration?.voters).toEqual([
      { id: 1, incarnation: incarnationOf(1) },
      { id: 2, incarnation: incarnationOf(2) },
      { id: 3, incarnation: null },
    ]);
    cluster.propose(leader!, x);
    cluster.deliverAll();
    cluster.restart(3);
    for (let tick = 0; tick < 200 && cluster.node(3).status().member !== 'voter'; tick += 1) {
      for (const id of cluster.ids) cluster.tick(id);
      cluster.deliverAll();
    }
    expect(cluster.node(3).status().member).toBe('voter');
    expect(cluster.node(leader!).status().configuration?.voters[2]).toEqual({ id: 3, incarnation: incarnationOf(3) });
    expect(cluster.appliedKeys(3)).toContain(`1:${valueKey(valueOf(x))}`);
  });

  it('a data dir that holds its identity (incarnation) but no record is not a lost disk: restarted empty, it rejoins as the same member and votes at once (no deadlock)', () => {
    const cluster = new Cluster({ size: 3, start: 'unanimous' });
    const leader = runUntilLeader(cluster, [1, 2, 3]);
    expect(leader).toBeDefined();
    const others = cluster.ids.filter((id) => id !== leader);
    // Both followers lose every record (as if they crashed before their first fsync) but keep identity.json.
    for (const id of others) {
      cluster.crash(id);
      cluster.disks.set(id, []);
    }
    cluster.crash(leader!);
    for (const id of cluster.ids) cluster.restart(id);
    const next = runUntilLeader(cluster, cluster.ids);
    expect(next).toBeDefined();
    for (const id of cluster.ids) expect(cluster.node(id).status().member).toBe('voter');
  });
});

describe('recovery (PMS: "an acceptor must remember this information even if it fails and then restarts")', () => {
  it('recoverState rebuilds promised (the max of promise and accept ballots), accepted (highest ballot per slot) and chosen', () => {
    const records: WalRecord[] = [
      { type: 'promise', ballot: ballot(1, 1) },
      { type: 'accept', slot: 1, ballot: ballot(1, 1), value: valueOf(x) },
      { type: 'accept', slot: 1, ballot: ballot(3, 2), value: valueOf(y) },
      { type: 'accept', slot: 2, ballot: ballot(2, 1), value: valueOf(z) },
      { type: 'chosen', slot: 1, value: valueOf(y) },
    ];
    const state = recoverState(records);
    expect(state.promised).toEqual(ballot(3, 2));
    expect([...state.accepted.values()]).toEqual([
      { slot: 1, ballot: ballot(3, 2), value: valueOf(y) },
      { slot: 2, ballot: ballot(2, 1), value: valueOf(z) },
    ]);
    expect([...state.chosen]).toEqual([[1, valueOf(y)]]);
    expect(recoverState([...records, { type: 'promise', ballot: ballot(4, 3) }]).promised).toEqual(ballot(4, 3));
    expect(recoverState([]).promised).toEqual(ballot(0, 0));
  });

  it('a restarted node keeps its promise: a prepare below it gets a nack', () => {
    const founding = foundingState([1, 2, 3].map((id) => ({ id, incarnation: incarnationOf(id) })), 256);
    const recovered = recoverState([{ type: 'membership', state: founding }, { type: 'accept', slot: 1, ballot: ballot(3, 1), value: valueOf(x) }]);
    const node = new PaxosNode({ id: 2, incarnation: incarnationOf(2), seed: 1, limits: testLimits, recovered });
    node.step({ type: 'prepare', from: 3, to: 2, ballot: ballot(2, 3), fromSlot: 1 });
    expect(node.takeReady().messagesAfterAppend).toEqual([{ type: 'nack', from: 2, to: 3, ballot: ballot(2, 3), promised: ballot(3, 1) }]);
  });

  it('a node restarted from recoverState applies its chosen log again from slot 1, without new chosen records', () => {
    const cluster = new Cluster({ size: 3 });
    cluster.elect(1);
    cluster.propose(1, x);
    cluster.deliverAll();
    cluster.propose(1, y, z);
    cluster.deliverAll();
    cluster.spreadCommitIndex(1);
    expect(cluster.appliedKeys(2)).toEqual(['1:a#1', '2:b#1|c#1']);
    const ready = cluster.restart(2);
    expect(ready.records).toEqual([]);
    expect(cluster.appliedKeys(2)).toEqual(['1:a#1', '2:b#1|c#1']);
    expect(cluster.node(2).status()).toMatchObject({ commitIndex: 2, lastApplied: 2, role: 'follower' });
  });

  it('PMS: "each proposer remembers (in stable storage) the highest-numbered proposal it has tried to issue": a restarted leader never reuses its ballot, whatever order its own messages were delivered in', () => {
    const cluster = new Cluster({ size: 3 });
    const first = cluster.campaign(1);
    // The Ready contract says only that a message to oneself is delivered locally
    // after the Ready's records are durable; here the replies of 2 and 3 come first.
    cluster.take(where({ from: 1, to: 1 }));
    cluster.deliverAll(where({ type: ['prepare', 'promise'] }));
    expect(cluster.node(1).status().role).toBe('leader');
    cluster.propose(1, x);
    cluster.take(where({ type: 'accept', to: [1, 3] }));
    cluster.deliverAll(where({ type: 'accept', to: 2 })); // node 2 accepts x at the first ballot
    cluster.restart(1); // before node 1 stepped its own prepare and accept

    const second = cluster.campaign(1);
    expect.soft(compareBallots(second, first), `ballot ${JSON.stringify(second)} after a restart reuses ${JSON.stringify(first)}`).toBeGreaterThan(0);

    // Why it matters: the new incarnation proposes y where the old one proposed x.
    cluster.deliverAll(not(where({ from: 2 }))); // node 2's promise (carrying x) is slow
    cluster.propose(1, y);
    cluster.deliverAll(not(where({ to: 2 })));
    cluster.inFlight = [];
    cluster.spreadCommitIndex(1);
    expect(() => cluster.chosen()).not.toThrow();
    expect(cluster.appliedKeys(2)).toEqual(cluster.appliedKeys(3));
  });
});

describe('duelling candidates (PMMC: "two leaders can keep preempting each other")', () => {
  it('two leaders at once: the lower ballot\'s value is refused, only one value is chosen, and the lower leader steps down', () => {
    const cluster = new Cluster({ size: 3 });
    const b1 = cluster.campaign(1);
    const b2 = cluster.campaign(2);
    expect(compareBallots(b2, b1)).toBeGreaterThan(0);
    // Node 3 promises 1 first, then 2; neither candidate hears the other's prepare yet.
    const crossed = cluster.take(where({ type: 'prepare', from: [1, 2], to: [1, 2] }));
    const own = crossed.filter((m) => m.from === m.to);
    cluster.send(...own);
    cluster.deliverAll(where({ type: 'prepare', from: 1 }));
    cluster.deliverAll(where({ type: 'prepare', from: 2 }));
    cluster.deliverAll(where({ type: 'promise' }));
    expect([cluster.node(1).status().role, cluster.node(2).status().role]).toEqual(['leader', 'leader']);

    cluster.propose(1, x);
    cluster.propose(2, y);
    cluster.send(...crossed.filter((m) => m.from !== m.to));
    cluster.deliverAll();
    expect(cluster.events.get(1)).toContainEqual({ kind: 'preempted', ballot: b1, by: b2 });
    expect(cluster.node(1).status().role).toBe('follower');
    expect(cluster.node(2).status().role).toBe('leader');
    expect(cluster.chosen()).toEqual(new Map([[1, 'b#1']]));
    expect(cluster.chosenByAcceptors()).toEqual(new Map([[1, new Set(['b#1'])]]));
  });

  it.each([1, 2, 3, 4, 5])('two nodes campaign at once and, driven tick by tick, one ends up leading; nothing is chosen twice (order seed %i)', (seed) => {
    const cluster = new Cluster({ size: 3, seed });
    const order = new Prng(seed);
    cluster.campaign(1);
    cluster.campaign(2);
    let seq = 0;
    for (let round = 0; round < 300; round += 1) {
      for (const id of cluster.ids) cluster.tick(id);
      for (const id of cluster.ids) {
        if (cluster.node(id).status().role === 'leader') cluster.propose(id, command(`n${id}`, (seq += 1)));
      }
      // For the first 160 rounds the network loses one message in ten, and everything
      // for 15 rounds out of 40, so that followers time out together and duel again.
      // Then it is calm. Messages arrive in a seeded random order.
      if (round < 160) cluster.take(() => round % 40 < 15 || order.chance(0.1));
      cluster.deliverAll(undefined, (count) => order.int(0, count));
      cluster.chosen(); // throws if two nodes learned different values for one slot
    }
    const preempted = [...cluster.events.values()].flat().filter((event) => event.kind === 'preempted');
    expect(preempted.length).toBeGreaterThan(0);
    const leaders = cluster.ids.filter((id) => cluster.node(id).status().role === 'leader');
    expect(leaders).toHaveLength(1);
    for (const id of cluster.ids) expect(cluster.node(id).status().leader).toBe(leaders[0]);
    for (const values of cluster.chosenByAcceptors().values()) expect(values.size).toBe(1);
    const applied = cluster.ids.map((id) => cluster.appliedKeys(id));
    const shortest = Math.min(...applied.map((a) => a.length));
    expect(shortest).toBeGreaterThan(0);
    for (const a of applied) expect(a.slice(0, shortest)).toEqual(applied[0].slice(0, shortest));
  });
});
