// The node table with colours on, as a colour terminal gets it: a test that
// fails if a row stops being drawn in its condition's style. Ink's chalk
// decides on colour when it is loaded, so FORCE_COLOR is set before any import.
import { vi } from 'vitest';

const colourSetting = vi.hoisted(() => {
  const before = process.env.FORCE_COLOR;
  process.env.FORCE_COLOR = '1';
  return before;
});

import React from 'react';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cleanup, render } from 'ink-testing-library';
import { NodeTable } from '../../../src/ui/top/Dashboard.js';
import { advanceTopState, dashboardView, emptyTopState } from '../../../src/ui/top/model.js';
import type { NodeStatusReport } from '../../../src/client/client.js';
import { down, healthy, up } from './fixtures.js';

afterEach(() => cleanup());
afterAll(() => {
  if (colourSetting === undefined) delete process.env.FORCE_COLOR;
  else process.env.FORCE_COLOR = colourSetting;
});

const sgr = {
  bold: '\u001B[1m',
  red: '\u001B[31m',
  green: '\u001B[32m',
  yellow: '\u001B[33m',
  magenta: '\u001B[35m',
  cyan: '\u001B[36m',
};

function table(polls: NodeStatusReport[][]): string[] {
  const state = polls.reduce((s, reports, index) => advanceTopState(s, reports, Date.UTC(2026, 0, 1, 12, 0, index)), emptyTopState);
  const view = dashboardView(state, Date.UTC(2026, 0, 1, 12, 0, polls.length));
  return (render(<NodeTable nodes={view.nodes} width={140} />).lastFrame() ?? '').split('\n');
}

/** The line of node `id`'s row, escape codes and all. */
function rowOf(lines: string[], id: number): string {
  const row = lines.find((line) => new RegExp(`^(\\u001B\\[[0-9;]*m)*[ *]${id} `).test(line));
  if (row === undefined) throw new Error(`no row for node ${id} in\n${lines.join('\n')}`);
  return row;
}

/** The escape codes a line starts with: the style its whole text is drawn in. */
function openingCodes(line: string): string {
  return /^(\u001B\[[0-9;]*m)*/.exec(line)![0];
}

describe('NodeTable in colour', () => {
  it('is really in colour here (else the checks below would prove nothing)', () => {
    expect(table([healthy()]).join('\n')).toContain('\u001B[');
  });

  it('draws the leader green and bold, a lagging node yellow, a down node red, a candidate magenta, a follower plain', () => {
    const lines = table([healthy(), [up(1, { role: 'leader' }), up(2, { lastApplied: 100 }), down(3)], [up(1, { role: 'candidate' }), up(2), down(3)]]);
    const candidate = openingCodes(rowOf(lines, 1));
    expect(candidate).toContain(sgr.magenta);
    expect(openingCodes(rowOf(lines, 3))).toContain(sgr.red);
    expect(openingCodes(rowOf(lines, 2))).toBe('');

    const leading = table([healthy({ 2: { lastApplied: 100 } })]);
    expect(openingCodes(rowOf(leading, 1))).toContain(sgr.green);
    expect(openingCodes(rowOf(leading, 1))).toContain(sgr.bold);
    expect(openingCodes(rowOf(leading, 2))).toContain(sgr.yellow);
    expect(openingCodes(rowOf(leading, 3))).toBe('');
  });

  it('draws a rebuilding node cyan', () => {
    const lines = table([healthy({ 3: { rebuilding: true } })]);
    expect(openingCodes(rowOf(lines, 3))).toContain(sgr.cyan);
  });
});
