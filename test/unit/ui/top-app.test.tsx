import React from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render } from 'ink-testing-library';
import { TopApp } from '../../../src/ui/top/TopApp.js';
import type { NodeStatusReport } from '../../../src/client/client.js';
import { down, healthy, up } from './fixtures.js';

afterEach(() => cleanup());

const plain = (frame: string | undefined): string => (frame ?? '').replace(/\u001B\[[0-9;]*m/g, '');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(check: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A cluster whose answers the test changes between polls; counts the polls. */
function scriptedCluster(initial: NodeStatusReport[]) {
  const cluster = {
    reports: initial,
    polls: 0,
    fail: false,
    fetchStatus: async (): Promise<NodeStatusReport[]> => {
      cluster.polls += 1;
      if (cluster.fail) throw new Error('boom');
      return cluster.reports;
    },
  };
  return cluster;
}

describe('TopApp', () => {
  it('polls and redraws as nodes go away and come back', async () => {
    const cluster = scriptedCluster(healthy());
    const { lastFrame } = render(<TopApp fetchStatus={cluster.fetchStatus} intervalMs={20} interactive />);
    const screen = () => plain(lastFrame());
    await waitFor(() => screen().includes('3/3 nodes up'), 'the first poll');

    cluster.reports = [down(1), up(2, { role: 'leader', ballot: '4.2' }), up(3, { ballot: '4.2' })];
    await waitFor(() => screen().includes('leader node 2'), 'the new leader');
    expect(screen()).toContain('node 1 down: connection refused');
    expect(screen()).toContain('2/3 nodes up');

    cluster.reports = [down(1), down(2), down(3)];
    await waitFor(() => screen().includes('0/3 nodes up'), 'every node down');
    expect(screen()).toContain('no leader');

    cluster.reports = healthy({ 1: { ballot: '5.1' } });
    await waitFor(() => screen().includes('3/3 nodes up'), 'every node back');
    expect(screen()).toContain('node 1 leads at ballot 5.1');
  });

  it('keeps the last screen when a fetch fails, and goes on polling', async () => {
    const cluster = scriptedCluster(healthy());
    const { lastFrame } = render(<TopApp fetchStatus={cluster.fetchStatus} intervalMs={20} interactive />);
    await waitFor(() => plain(lastFrame()).includes('3/3 nodes up'), 'the first poll');
    cluster.fail = true;
    const failedFrom = cluster.polls;
    await waitFor(() => cluster.polls > failedFrom + 2, 'more polls');
    expect(plain(lastFrame())).toContain('3/3 nodes up');
  });

  it('p pauses polling and resumes it; q stops it', async () => {
    const cluster = scriptedCluster(healthy());
    const { lastFrame, stdin } = render(<TopApp fetchStatus={cluster.fetchStatus} intervalMs={20} interactive />);
    await waitFor(() => plain(lastFrame()).includes('3/3 nodes up'), 'the first poll');

    stdin.write('p');
    await waitFor(() => plain(lastFrame()).includes('PAUSED'), 'the pause');
    const pausedAt = cluster.polls;
    await sleep(150);
    expect(cluster.polls).toBeLessThanOrEqual(pausedAt + 1); // at most the round already under way

    stdin.write('p');
    await waitFor(() => !plain(lastFrame()).includes('PAUSED') && cluster.polls > pausedAt + 2, 'polling again');

    stdin.write('q');
    await sleep(50);
    const quitAt = cluster.polls;
    await sleep(150);
    expect(cluster.polls).toBeLessThanOrEqual(quitAt + 1);
  });
});
