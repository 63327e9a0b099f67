import { describe, expect, it } from 'vitest';
import { statusRows } from '../../../src/client/status-report.js';
import { advanceTopState, dashboardView, emptyTopState, eventsKeptMax, opsPerSecond, sparklineSamplesMax, type TopState } from '../../../src/ui/top/model.js';
import type { NodeStatusReport } from '../../../src/client/client.js';
import { down, healthy, up } from './fixtures.js';

/** Folds polls taken one second apart, starting at t = 1000 ms. */
function fold(...polls: NodeStatusReport[][]): TopState {
  return polls.reduce((state, reports, index) => advanceTopState(state, reports, 1_000 * (index + 1)), emptyTopState);
}

describe('opsPerSecond', () => {
  const row = (report: NodeStatusReport) => statusRows([report])[0];

  it('divides the applied commands between two answers by the node\'s own time between them', () => {
    const before = row(up(2, { uptimeMs: 10_000, metrics: { commandsApplied: 1_000 } }));
    const after = row(up(2, { uptimeMs: 12_000, metrics: { commandsApplied: 1_500 } }));
    expect(opsPerSecond(before, after)).toBe(250);
  });

  it('uses the node\'s own rate on its first answer and after a restart', () => {
    const first = row(up(2, { metrics: { commandsAppliedPerSecond: 42 } }));
    expect(opsPerSecond(undefined, first)).toBe(42);
    const restarted = row(up(2, { uptimeMs: 500, metrics: { commandsApplied: 10, commandsAppliedPerSecond: 7 } }));
    expect(opsPerSecond(first, restarted)).toBe(7);
  });

  it('has nothing for a node that is down or sends no metrics', () => {
    expect(opsPerSecond(undefined, row(down(2)))).toBeNull();
    const old = up(2);
    if (old.reachable) delete old.status.metrics;
    expect(opsPerSecond(undefined, row(old))).toBeNull();
  });
});

describe('advanceTopState', () => {
  it('keeps a throughput history per node, with gaps while a node is down', () => {
    const state = fold(healthy(), [up(1, { role: 'leader' }), down(2), up(3)], healthy());
    expect(state.nodes.map((node) => node.opsHistory.map((ops) => ops !== null))).toEqual([
      [true, true, true],
      [true, false, true],
      [true, true, true],
    ]);
  });

  it('remembers the id of a node that went down, and since when', () => {
    const state = fold(healthy(), [up(1, { role: 'leader' }), down(2), up(3)], [up(1, { role: 'leader' }), down(2), up(3)]);
    expect(state.nodes[1]).toMatchObject({ id: 2, downSinceMs: 2_000 });
    expect(dashboardView(state, 5_000).nodes[1]).toMatchObject({ id: 2, condition: 'down', downForMs: 3_000 });
  });

  it('survives every node going away and coming back', () => {
    const state = fold(healthy(), [down(1), down(2), down(3)], [down(1), down(2), down(3)], healthy());
    const view = dashboardView(state, 5_000);
    expect(view.cluster).toMatchObject({ nodesUp: 3, nodesTotal: 3, leader: { id: 1 } });
    expect(state.events.map((event) => event.kind)).toEqual(['leader', 'no_leader', 'down', 'down', 'down', 'leader', 'up', 'up', 'up']);
  });

  it('bounds the histories and the events it keeps', () => {
    let state = emptyTopState;
    for (let poll = 0; poll < sparklineSamplesMax + eventsKeptMax; poll++) {
      state = advanceTopState(state, poll % 2 === 0 ? healthy() : [up(1, { role: 'leader' }), down(2), up(3)], poll * 1_000);
    }
    expect(state.nodes[0].opsHistory).toHaveLength(sparklineSamplesMax);
    expect(state.clusterOpsHistory).toHaveLength(sparklineSamplesMax);
    expect(state.events).toHaveLength(eventsKeptMax);
  });
});

describe('dashboardView', () => {
  it('gives each node its condition: leader, follower, lagging, candidate or down', () => {
    const reports = [up(1, { role: 'leader' }), up(2, { lastApplied: 10 }), up(3, { role: 'candidate' }), down(4)];
    expect(dashboardView(fold(reports), 1_000).nodes.map((node) => node.condition)).toEqual(['leader', 'lagging', 'candidate', 'down']);
  });

  it('shows commit latency only at the leader, where commands are proposed', () => {
    const nodes = dashboardView(fold(healthy()), 1_000).nodes;
    expect(nodes.map((node) => node.p99Micros)).toEqual([7_500, null, null]);
  });

  it('takes the cluster throughput from the leader, and has none without one', () => {
    // Node 2 applies faster because it is catching up; the cluster commits at the leader's pace.
    const led = healthy({ 1: { metrics: { commandsAppliedPerSecond: 300 } }, 2: { metrics: { commandsAppliedPerSecond: 900 } } });
    expect(dashboardView(fold(led), 1_000).cluster.opsPerSecond).toBe(300);
    const leaderless = [up(1, { role: 'candidate', metrics: { commandsAppliedPerSecond: 5 } }), up(2, { metrics: { commandsAppliedPerSecond: 9 } }), down(3)];
    expect(dashboardView(fold(leaderless), 1_000).cluster).toMatchObject({ opsPerSecond: null, leader: null, nodesUp: 2 });
  });

  it('counts the links each node has up', () => {
    const reports = healthy({ 2: { peers: [{ id: 1, address: 'a', connected: true }, { id: 3, address: 'b', connected: false }] } });
    expect(dashboardView(fold(reports), 1_000).nodes[1]).toMatchObject({ peersConnected: 1, peersTotal: 2 });
  });
});

describe('dashboardView: a node that rebuilds', () => {
  it('shows a node on an empty data dir that does not vote yet as rebuilding, in its own colour condition', () => {
    const view = dashboardView(fold([up(1, { role: 'leader' }), up(2, { role: 'follower', rebuilding: true }), up(3)]), 1_000);
    expect(view.nodes.map((node) => [node.role, node.condition])).toEqual([
      ['leader', 'leader'],
      ['rebuilding', 'rebuilding'],
      ['follower', 'follower'],
    ]);
  });

  it('names a learner and a node outside the configuration in ROLE (they do not vote either)', () => {
    const view = dashboardView(fold([up(1, { role: 'leader', member: 'voter' }), up(2, { rebuilding: true, member: 'learner' }), up(3, { rebuilding: true, member: 'none' })]), 1_000);
    expect(view.nodes.map((node) => [node.role, node.condition])).toEqual([
      ['leader', 'leader'],
      ['learner', 'rebuilding'],
      ['nonmember', 'rebuilding'],
    ]);
  });
});
