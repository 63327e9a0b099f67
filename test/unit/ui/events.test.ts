import { describe, expect, it } from 'vitest';
import { statusRows } from '../../../src/client/status-report.js';
import { clusterLeader, compareBallotText, deriveEvents, laggingSlotsMin, type ClusterEvent } from '../../../src/ui/top/events.js';
import type { NodeStatusReport } from '../../../src/client/client.js';
import { addressOf, down, healthy, up } from './fixtures.js';

const ids = new Map([1, 2, 3].map((id) => [addressOf(id), id]));

function events(previous: NodeStatusReport[] | null, current: NodeStatusReport[]): Pick<ClusterEvent, 'kind' | 'text'>[] {
  return deriveEvents({ previous: previous === null ? null : statusRows(previous), current: statusRows(current), idsByAddress: ids, atMs: 1_000 }).map(
    ({ kind, text }) => ({ kind, text }),
  );
}

describe('deriveEvents', () => {
  it('on the first poll, says who leads and which nodes are down', () => {
    expect(events(null, [up(1, { role: 'leader' }), up(2), down(3)])).toEqual([
      { kind: 'leader', text: 'node 1 leads at ballot 3.1' },
      { kind: 'down', text: 'node 3 down: connection refused' },
    ]);
  });

  it('says nothing when nothing changed', () => {
    expect(events(healthy(), healthy())).toEqual([]);
  });

  it('reports a new leader with the one it replaced, and the old leader going down', () => {
    const after = [down(1), up(2, { role: 'leader', ballot: '4.2' }), up(3, { ballot: '4.2' })];
    expect(events(healthy(), after)).toEqual([
      { kind: 'leader', text: 'node 2 leads at ballot 4.2 (was node 1)' },
      { kind: 'down', text: 'node 1 down: connection refused' },
    ]);
  });

  it('reports a re-election of the same leader at a higher ballot', () => {
    expect(events(healthy(), healthy({ 1: { ballot: '5.1' } }))).toEqual([{ kind: 'leader', text: 'node 1 re-elected at ballot 5.1' }]);
  });

  it('reports the loss of the leader while an election runs', () => {
    expect(events(healthy(), [up(1, { role: 'candidate' }), up(2), up(3)])).toEqual([{ kind: 'no_leader', text: 'node 1 no longer leads: no leader' }]);
  });

  it('reports a node coming back, a restart between polls and a snapshot', () => {
    const before = [up(1, { role: 'leader' }), down(2), up(3, { uptimeMs: 60_000 })];
    const after = [up(1, { role: 'leader', lastSnapshot: 400 }), up(2, { uptimeMs: 2_000, lastApplied: 480 }), up(3, { uptimeMs: 1_000 })];
    expect(events(before, after)).toEqual([
      { kind: 'snapshot', text: 'node 1 took a snapshot at slot 400' },
      { kind: 'up', text: 'node 2 back (up 2s, applied slot 480)' },
      { kind: 'restart', text: 'node 3 restarted between polls' },
    ]);
  });

  it('reports a node that falls behind and catches up again, once each', () => {
    const behind = healthy({ 3: { lastApplied: 500 - laggingSlotsMin } });
    expect(events(healthy(), behind)).toEqual([{ kind: 'lagging', text: `node 3 lagging ${laggingSlotsMin} slots` }]);
    expect(events(behind, behind)).toEqual([]);
    expect(events(behind, healthy())).toEqual([{ kind: 'caught_up', text: 'node 3 caught up' }]);
  });

  it('reports a node whose applied digest differs from the others\' at the same slot, once', () => {
    const diverged = healthy({ 2: { appliedDigest: 'f00d' } });
    const expected = [{ kind: 'diverged', text: "node 2 diverged: its applied digest at slot 500 differs from other nodes' (the state machine is not deterministic; try paxos sim)" }];
    expect(events(healthy(), diverged)).toEqual(expected);
    expect(events(diverged, diverged)).toEqual([]);
  });

  it('reports a node that comes back behind as back and lagging', () => {
    const before = [up(1, { role: 'leader' }), up(2), down(3)];
    const after = [up(1, { role: 'leader' }), up(2), up(3, { lastApplied: 10 })];
    expect(events(before, after).map((event) => event.kind)).toEqual(['up', 'lagging']);
  });

  it('names a node it never reached by its address, and shortens timeouts', () => {
    const current = [up(1, { role: 'leader' }), down(2, `${addressOf(2)}: no answer within 1000ms`), down(9)];
    const derived = deriveEvents({ previous: null, current: statusRows(current), idsByAddress: new Map(), atMs: 5 });
    expect(derived.map((event) => event.text)).toEqual(['node 1 leads at ballot 3.1', `${addressOf(2)} down: no answer within 1000ms`, `${addressOf(9)} down: connection refused`]);
    expect(derived.every((event) => event.atMs === 5)).toBe(true);
  });
});

describe('clusterLeader', () => {
  it('prefers the highest ballot when a deposed leader still thinks it leads', () => {
    const rows = statusRows([up(1, { role: 'leader', ballot: '3.1' }), up(2, { role: 'leader', ballot: '10.2' }), down(3)]);
    expect(clusterLeader(rows)).toEqual({ id: 2, address: addressOf(2), ballot: '10.2' });
    expect(clusterLeader(statusRows([down(1), up(2, { role: 'candidate' })]))).toBeNull();
  });

  it('compares ballots as numbers, round first', () => {
    expect(compareBallotText('10.1', '9.3')).toBeGreaterThan(0);
    expect(compareBallotText('4.1', '4.2')).toBeLessThan(0);
    expect(compareBallotText('4.2', '4.2')).toBe(0);
  });
});
