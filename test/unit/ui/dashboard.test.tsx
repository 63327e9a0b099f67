import React from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render } from 'ink-testing-library';
import { conditionStyle, Dashboard, type DashboardProps } from '../../../src/ui/top/Dashboard.js';
import { advanceTopState, dashboardView, emptyTopState } from '../../../src/ui/top/model.js';
import type { NodeStatusReport } from '../../../src/client/client.js';
import { down, healthy, up } from './fixtures.js';

afterEach(() => cleanup());

/** ANSI colour codes off, so assertions read the text. */
const plain = (frame: string | undefined): string => (frame ?? '').replace(/\u001B\[[0-9;]*m/g, '');

function props(polls: NodeStatusReport[][], overrides: Partial<DashboardProps> = {}): DashboardProps {
  const state = polls.reduce((s, reports, index) => advanceTopState(s, reports, Date.UTC(2026, 0, 1, 12, 0, index)), emptyTopState);
  return { view: dashboardView(state, Date.UTC(2026, 0, 1, 12, 0, polls.length)), width: 140, height: 30, paused: false, interactive: true, intervalMs: 1000, ...overrides };
}

function rowOf(frame: string, id: number): string {
  const row = frame.split('\n').find((line) => new RegExp(`^[ *]${id} `).test(line));
  if (row === undefined) throw new Error(`no row for node ${id} in\n${frame}`);
  return row;
}

describe('Dashboard', () => {
  it('draws the header, one row per node with its figures, the events and the keys', () => {
    const { lastFrame } = render(<Dashboard {...props([healthy(), healthy({ 1: { uptimeMs: 61_000, metrics: { commandsApplied: 1_250 } } })])} />);
    const frame = plain(lastFrame());
    expect(frame).toContain('leader node 1 (127.0.0.1:7401)');
    expect(frame).toContain('ballot 3.1');
    expect(frame).toContain('3/3 nodes up');
    expect(frame).toMatch(/NODE +ADDRESS +ROLE +LINKS +BALLOT +CHOSEN +APPLIED +LAG +OPS\/S +TREND +P50 +P99 +WAL +UPTIME/);
    expect(rowOf(frame, 1)).toMatch(/^\*1 +127\.0\.0\.1:7401 +leader +2\/2 up +3\.1 +500 +500 +0 +250 +\S+ +1\.8ms +7\.5ms +3\.0 MiB +1m01s$/);
    expect(rowOf(frame, 2)).toMatch(/^ 2 +127\.0\.0\.1:7402 +follower +2\/2 up .* - +- +3\.0 MiB/);
    expect(frame).toContain('EVENTS');
    expect(frame).toContain('node 1 leads at ballot 3.1');
    expect(frame).toContain('q quit  p pause');
  });

  it('marks the leader with a star and draws it green and bold', () => {
    const frame = plain(render(<Dashboard {...props([healthy()])} />).lastFrame());
    expect(rowOf(frame, 1).startsWith('*1')).toBe(true);
    expect(rowOf(frame, 2).startsWith(' 2')).toBe(true);
    expect(conditionStyle('leader')).toEqual({ color: 'green', bold: true });
  });

  it('shows a down node as down, for how long, in red, without figures', () => {
    const polls = [healthy(), [up(1, { role: 'leader' }), up(2), down(3)], [up(1, { role: 'leader' }), up(2), down(3)]];
    const frame = plain(render(<Dashboard {...props(polls)} />).lastFrame());
    expect(rowOf(frame, 3)).toMatch(/^ 3 +127\.0\.0\.1:7403 +down +down 2s +- +- +- +- +-/);
    expect(frame).toContain('2/3 nodes up');
    expect(frame).toContain('node 3 down: connection refused');
    expect(conditionStyle('down')).toEqual({ color: 'red' });
  });

  it('shows a lagging node as lagging in its own colour', () => {
    const frame = plain(render(<Dashboard {...props([healthy({ 2: { lastApplied: 100 } })])} />).lastFrame());
    expect(rowOf(frame, 2)).toMatch(/^ 2 +127\.0\.0\.1:7402 +lagging .* 400 /);
    expect(conditionStyle('lagging')).toEqual({ color: 'yellow' });
    const colours = (['leader', 'follower', 'candidate', 'lagging', 'down'] as const).map((condition) => conditionStyle(condition).color);
    expect(new Set(colours).size).toBe(colours.length);
  });

  it('says when there is no leader and when it is paused', () => {
    const frame = plain(render(<Dashboard {...props([[up(1, { role: 'candidate' }), down(2), down(3)]], { paused: true })} />).lastFrame());
    expect(frame).toContain('no leader');
    expect(frame).toContain('1/3 nodes up');
    expect(frame).toContain('PAUSED');
    expect(frame).toContain('p resume');
  });

  it('fits a narrow terminal: no line wider than it, the essential columns kept', () => {
    const frame = plain(render(<Dashboard {...props([healthy(), [up(1, { role: 'leader' }), up(2), down(3)]], { width: 60 })} />).lastFrame());
    for (const line of frame.split('\n')) expect([...line].length).toBeLessThanOrEqual(60);
    expect(frame).toMatch(/NODE +ROLE/);
    expect(rowOf(frame, 1)).toMatch(/^\*1 +leader/);
    expect(rowOf(frame, 3)).toMatch(/^ 3 +down/);
    expect(frame).not.toContain('UPTIME');
  });

  it('names a node it never reached by its address, even on a narrow terminal', () => {
    const frame = plain(render(<Dashboard {...props([[down(1), down(2), down(3)]], { width: 80 })} />).lastFrame());
    expect(frame).toMatch(/^ \? +127\.0\.0\.1:7403 +down/m);
    expect(frame).toContain('0/3 nodes up');
    expect(frame).toContain('127.0.0.1:7403 down: connection refused');
  });

  it('keeps LAG on a 40-column terminal when a node never reached forces the address on', () => {
    const frame = plain(render(<Dashboard {...props([[up(1, { role: 'leader' }), up(2), down(3)]], { width: 40 })} />).lastFrame());
    for (const line of frame.split('\n')) expect([...line].length).toBeLessThanOrEqual(40);
    expect(frame).toMatch(/^NODE +ADDR… +ROLE +CHOSEN +LAG$/m);
    expect(frame).toMatch(/^ \? +…7403 +down +- +-$/m);
    expect(rowOf(frame, 1)).toMatch(/^\*1 +…7401 +leader +500 +0$/);
  });

  it('shows as many recent events as the height allows, never overflowing it', () => {
    const flapping = Array.from({ length: 30 }, (_, index) => (index % 2 === 0 ? healthy() : [up(1, { role: 'leader' }), up(2), down(3)]));
    const frame = plain(render(<Dashboard {...props(flapping, { height: 20 })} />).lastFrame());
    expect(frame.split('\n').length).toBeLessThanOrEqual(19);
    expect(frame).toContain('node 3 back'); // the newest event is shown
  });

  it('says how to quit when the keys cannot work', () => {
    const frame = plain(render(<Dashboard {...props([healthy()], { interactive: false })} />).lastFrame());
    expect(frame).toContain('Ctrl-C quits');
  });
});
