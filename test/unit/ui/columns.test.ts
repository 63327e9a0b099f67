import { describe, expect, it } from 'vitest';
import { columnGapChars, columnsAlwaysShown, columnsByPriority, fitCell, layoutColumns, trendCharsMax, trendCharsMin, type LaidColumn } from '../../../src/ui/top/columns.js';
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

  it('shrinks a required address, keeping its end, rather than push LAG off a 40-column line', () => {
    const columns = layoutColumns(40, { addressChars: 14, addressRequired: true });
    expect(columns.map((column) => column.id)).toEqual(['node', 'address', 'role', 'chosen', 'lag']);
    expect(widthOf(columns)).toBeLessThanOrEqual(40);
    const address = columns.find((column) => column.id === 'address')!;
    expect(fitCell('127.0.0.1:7403', address)).toBe('…7403');
    expect(fitCell('ADDRESS', address, false)).toBe('ADDR…');
  });
});

const widthOf = (columns: LaidColumn[]): number => columns.reduce((sum, column) => sum + column.width, 0) + columnGapChars * (columns.length - 1);

describe.each([
  { addressChars: 15, addressRequired: false },
  { addressChars: 21, addressRequired: false },
  { addressChars: 14, addressRequired: true },
  { addressChars: 21, addressRequired: true },
])('layoutColumns from 30 to 200 columns (%o)', (options) => {
  const widths = Array.from({ length: 171 }, (_, i) => 30 + i);
  const layouts = widths.map((width) => ({ width, columns: layoutColumns(width, options) }));
  const always = options.addressRequired ? [...columnsAlwaysShown, 'address'] : [...columnsAlwaysShown];
  /** The narrowest line the columns always shown fit in: 33 columns, 40 with a required address. */
  const fitsFrom = options.addressRequired ? 40 : 33;

  it('is monotonic: a column shown at some width is shown at every greater width', () => {
    for (let i = 1; i < layouts.length; i += 1) {
      const before = layouts[i - 1].columns.map((column) => column.id);
      const after = layouts[i].columns.map((column) => column.id);
      for (const id of before) expect(after, `${id} shown at ${layouts[i - 1].width} but not at ${layouts[i].width}`).toContain(id);
    }
  });

  it('always shows node, role, chosen and lag (and a required address), and fits the line from the narrowest it can', () => {
    for (const { width, columns } of layouts) {
      const ids = columns.map((column) => column.id);
      for (const id of always) expect(ids, `${id} at ${width}`).toContain(id);
      if (width >= fitsFrom) expect(widthOf(columns), `line at ${width}`).toBeLessThanOrEqual(width);
    }
  });

  it('drops the others in one fixed order, and keeps the display order', () => {
    const displayOrder = layoutColumns(1_000, options).map((column) => column.id);
    for (const { width, columns } of layouts) {
      const ids = columns.map((column) => column.id);
      const optional = columnsByPriority.filter((id) => !always.includes(id));
      const shown = optional.filter((id) => ids.includes(id));
      expect(shown, `at ${width}`).toEqual(optional.slice(0, shown.length));
      expect(ids, `at ${width}`).toEqual(displayOrder.filter((id) => ids.includes(id)));
    }
  });

  it('gives the trend 8 to 30 characters whenever it is shown, and widens it before the next column comes', () => {
    for (const { columns } of layouts) {
      const trend = columns.find((column) => column.id === 'trend');
      if (trend !== undefined) expect(trend.width).toBeGreaterThanOrEqual(trendCharsMin);
      if (trend !== undefined) expect(trend.width).toBeLessThanOrEqual(trendCharsMax);
    }
    const trendAt = (width: number) => layoutColumns(width, options).find((column) => column.id === 'trend')?.width ?? 0;
    for (let i = 1; i < layouts.length; i += 1) {
      const width = layouts[i].width;
      if (layouts[i].columns.length === layouts[i - 1].columns.length) expect(trendAt(width)).toBeGreaterThanOrEqual(trendAt(width - 1));
    }
  });
});

describe('cells', () => {

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
