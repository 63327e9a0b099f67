import { describe, expect, it } from 'vitest';
import { columnGapChars, fitCell, layoutColumns, trendCharsMax, trendCharsMin } from '../../../src/ui/top/columns.js';
import { sparkline } from '../../../src/ui/sparkline.js';

const totalWidth = (width: number): number => {
  const columns = layoutColumns(width, { addressChars: 15 });
  return columns.reduce((sum, column) => sum + column.width, 0) + columnGapChars * (columns.length - 1);
};

describe('layoutColumns', () => {
  it('shows every column on a wide terminal, with the widest trend', () => {
    const columns = layoutColumns(200, { addressChars: 15 });
    expect(columns.map((column) => column.id)).toEqual(['node', 'address', 'role', 'links', 'ballot', 'chosen', 'applied', 'lag', 'ops', 'trend', 'p50', 'p99', 'wal', 'uptime']);
    expect(columns.find((column) => column.id === 'trend')?.width).toBe(trendCharsMax);
  });

  it.each([160, 130, 120, 100, 80, 60, 40])('fits %i columns, dropping the least important first', (width) => {
    expect(totalWidth(width)).toBeLessThanOrEqual(width);
    const ids = layoutColumns(width, { addressChars: 15 }).map((column) => column.id);
    for (const always of ['node', 'role', 'chosen', 'lag']) expect(ids).toContain(always);
  });

  it('drops uptime, ballot and applied before the address, and keeps ops/s, trend and p99 on 80 columns', () => {
    const ids = layoutColumns(120, { addressChars: 15 }).map((column) => column.id);
    expect(ids).toContain('address');
    expect(ids).not.toContain('uptime');
    const narrow = layoutColumns(80, { addressChars: 15 }).map((column) => column.id);
    expect(narrow).toEqual(expect.arrayContaining(['ops', 'trend', 'p99', 'links']));
    expect(layoutColumns(80, { addressChars: 15 }).find((column) => column.id === 'trend')?.width).toBeGreaterThanOrEqual(trendCharsMin);
  });

  it('keeps the address when a node has no id yet (it was never reached)', () => {
    expect(layoutColumns(80, { addressChars: 15 }).map((column) => column.id)).not.toContain('address');
    expect(layoutColumns(80, { addressChars: 15, addressRequired: true }).map((column) => column.id)).toContain('address');
  });

  it('pads or cuts a cell to its column', () => {
    const [node] = layoutColumns(200, { addressChars: 15 });
    expect(fitCell('*1', node)).toBe('*1  ');
    const ops = layoutColumns(200, { addressChars: 15 }).find((column) => column.id === 'ops');
    expect(fitCell('12', ops!)).toBe('    12');
    expect(fitCell('a-very-long-value', ops!)).toBe('a-ver…');
  });
});

describe('sparkline', () => {
  it('scales to the largest sample, zero as the lowest bar and a gap for missing samples', () => {
    expect(sparkline([0, 50, 100, null, 100], 5)).toBe('▁▅█ █');
  });

  it('pads short histories on the left and keeps the newest on the right', () => {
    expect(sparkline([1], 4)).toBe('   █');
    expect(sparkline([1, 2, 3, 4, 5, 6], 3)).toBe('▆▇█');
    expect(sparkline([], 0)).toBe('');
  });

  it('draws an idle node as a baseline', () => {
    expect(sparkline([0, 0, 0], 3)).toBe('▁▁▁');
  });
});
