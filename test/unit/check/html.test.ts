// The HTML report of `paxos check --html`: what data the page embeds, which
// operations it marks for a known violation, and that it is one file that
// needs nothing else. The browser test (test/integration/check-html.test.ts)
// checks what a real browser draws from it.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkHistory, parseHistory, type Operation } from '../../../src/check/index.js';
import { buildReportModel, renderReportPage, reportDataElementId, reportOperationsMax, reportValueCharsMax, ReportWriteError, writeReportFile, type ReportModel } from '../../../src/check/html/index.js';
import { reportScript } from '../../../src/check/html/browser.js';
import { renderViolation } from '../../../src/check/report.js';
import { historyText, read, staleReadHistory, write, type OperationSpec } from './histories.js';

const directory = mkdtempSync(path.join(tmpdir(), 'paxos-html-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function modelOf(specs: readonly OperationSpec[]): { model: ReportModel; operations: Operation[] } {
  const operations = parseHistory(historyText(specs));
  const result = checkHistory(operations);
  return { model: buildReportModel({ source: 'h.jsonl', operations, result, elapsedMs: 12 }), operations };
}

/** The invocation line of each operation index, as a person finds them in the file. */
function lines(model: ReportModel, indices: readonly number[]): number[] {
  return indices.map((index) => model.operations.invokeLine[index]);
}

/** The page's embedded model, read back as the page's script reads it. */
function embeddedModel(page: string): unknown {
  const match = new RegExp(`<script type="application/json" id="${reportDataElementId}">(.*?)</script>`, 's').exec(page);
  expect(match).not.toBeNull();
  return JSON.parse(match![1]);
}

describe('the report model of a violating history', () => {
  const { model, operations } = modelOf(staleReadHistory);
  const result = checkHistory(operations);

  it('opens on the violating key, though another key sorts first', () => {
    expect(model.keys).toEqual([
      { name: 'a', operations: 2, verdict: 'linearizable' },
      { name: 'x', operations: 6, verdict: 'violation' },
    ]);
    expect(model.keys[model.defaultKey].name).toBe('x');
    expect(model.verdict).toBe('violation');
  });

  it('marks exactly the operations the checker says cannot be ordered, and the one no order explains', () => {
    expect(model.violations).toHaveLength(1);
    const violation = model.violations[0];
    expect(model.keys[violation.key].name).toBe('x');
    expect(lines(model, violation.operations)).toEqual([1, 3, 11]);
    expect(lines(model, violation.unexplained)).toEqual([11]);
    expect(violation.completesAfterViolation).toEqual([]);
    expect(violation.minimal).toBe(true);
    // The same operations as the checker's explanation, by their lines.
    expect(result.violations[0].explanation?.operations.map((operation) => operation.invokeLine)).toEqual([1, 3, 11]);
  });

  it('shows the checker\'s own explanation text', () => {
    expect(model.violations[0].text).toEqual(renderViolation(result.violations[0]));
    expect(model.violations[0].text[0]).toBe('not linearizable: key "x": these 3 operations cannot be ordered (of 6 on the key)');
    expect(model.note).toMatch(/^Each operation takes effect at one instant/);
    expect(model.summary).toMatch(/^8 operations on 2 keys, 1 key not linearizable, \d+ states, checked in 0\.01 s$/);
  });

  it('embeds every operation with its process, key, function, outcome, times, value and lines', () => {
    const columns = model.operations;
    expect(columns.invoke).toHaveLength(8);
    expect(model.processes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    const row = (index: number) => ({
      process: model.processes[columns.process[index]],
      key: model.keys[columns.key[index]].name,
      f: ['read', 'write', 'cas'][columns.f[index]],
      outcome: ['ok', 'fail', 'info'][columns.outcome[index]],
      invoke: columns.invoke[index],
      complete: columns.complete[index],
      value: model.values[columns.value[index]],
      lines: [columns.invokeLine[index], columns.completeLine[index]],
    });
    expect(row(0)).toEqual({ process: '0', key: 'x', f: 'write', outcome: 'ok', invoke: 0, complete: 10, value: '"1"', lines: [1, 2] });
    expect(row(4)).toEqual({ process: '6', key: 'x', f: 'cas', outcome: 'fail', invoke: 45, complete: 58, value: '["1","3"]', lines: [8, 10] });
    expect(row(5)).toEqual({ process: '3', key: 'x', f: 'read', outcome: 'ok', invoke: 60, complete: 70, value: '"1"', lines: [11, 15] });
    expect(row(6)).toEqual({ process: '5', key: 'x', f: 'write', outcome: 'info', invoke: 61, complete: 65, value: '"9"', lines: [12, 13] });
    // Still in flight at the end: info, no completion.
    expect(row(7)).toEqual({ process: '7', key: 'a', f: 'write', outcome: 'info', invoke: 66, complete: -1, value: '"late"', lines: [14, -1] });
    expect(model.timeSpan).toBe(70);
    // Equal values are embedded once.
    expect(model.values.filter((text) => text === '"1"')).toHaveLength(1);
  });
});

describe('the report model', () => {
  it('of a linearizable history opens on the first key and marks nothing', () => {
    const { model } = modelOf([write(0, '1', 0, 10), { ...read(1, null, 2, 3), key: 'b' }]);
    expect(model).toMatchObject({ verdict: 'linearizable', defaultKey: 0, violations: [], note: null, undecided: [] });
    expect(model.keys.map((key) => key.name)).toEqual(['b', 'x']);
  });

  it('of an undecided history opens on the undecided key and says why', () => {
    const operations = parseHistory(historyText([{ ...write(0, '1', 0, 10), key: 'a' }, write(1, '2', 0, 10), read(2, '2', 20, 30)]));
    const result = checkHistory(operations, { searchStatesMax: 1 });
    const model = buildReportModel({ source: 'h', operations, result, elapsedMs: 0 });
    expect(model.verdict).toBe('unknown');
    expect(model.keys).toEqual([{ name: 'a', operations: 1, verdict: 'linearizable' }, { name: 'x', operations: 2, verdict: 'unknown' }]);
    expect(model.keys[model.defaultKey].name).toBe('x');
    expect(model.undecided[0]).toMatch(/^unknown: gave up on key "x" \(2 operations\)/);
  });

  it('keeps times relative to the earliest one, so large clocks stay small in the page', () => {
    const origin = 1_700_000_000_000_000;
    const { model } = modelOf([write(0, '1', origin + 5, origin + 9), read(1, '1', origin + 20, origin + 31)]);
    expect(model.timeOrigin).toBe(origin + 5);
    expect(model.operations.invoke).toEqual([0, 15]);
    expect(model.operations.complete).toEqual([4, 26]);
    expect(model.timeSpan).toBe(26);
  });

  it('cuts long values', () => {
    const long = 'v'.repeat(10_000);
    const { model } = modelOf([write(0, long, 0, 1)]);
    expect(model.values[0]).toBe(`"${long.slice(0, reportValueCharsMax - 1)}…`);
  });

  it('names processes given as strings after the numbered ones', () => {
    const operations = parseHistory(historyText([write(2, '1', 0, 1), write(10, '2', 2, 3)]).replace(/"process":2,/g, '"process":"worker",'));
    const model = buildReportModel({ source: 'h', operations, result: checkHistory(operations), elapsedMs: 0 });
    expect(model.processes).toEqual(['10', 'worker']);
  });

  it('refuses a history too large to draw, saying what to do', () => {
    const huge = { length: reportOperationsMax + 1 } as unknown as Operation[];
    expect(() => buildReportModel({ source: 'h', operations: huge, result: checkHistory([]), elapsedMs: 0 })).toThrow(/draws at most 1000000.*check a shorter history/);
  });
});

describe('the report page', () => {
  it('embeds the model as JSON and needs nothing from the network', () => {
    const { model } = modelOf(staleReadHistory);
    const page = renderReportPage(model);
    expect(embeddedModel(page)).toEqual(model);
    expect(page).not.toMatch(/\b(src|href)=|https?:\/\/|url\(|@import/);
    expect(page).toContain('<canvas id="timeline">');
    expect(page).toContain('<output id="status"');
  });

  it('carries a script that parses (the browser test runs it)', () => {
    expect(() => new Function(reportScript)).not.toThrow();
    expect(renderReportPage(modelOf(staleReadHistory).model)).toContain(reportScript);
  });

  it('keeps a value that looks like markup inside its script element', () => {
    const hostile = '</script><script>alert(1)</script><!--';
    const { model } = modelOf([write(0, hostile, 0, 1)]);
    const page = renderReportPage({ ...model, source: '<b>h</b>.jsonl' });
    expect(page.match(/<\/script>/g)).toHaveLength(2);
    expect((embeddedModel(page) as ReportModel).values).toEqual([JSON.stringify(hostile)]);
    expect(page).toContain('<title>paxos check: &#60;b&#62;h&#60;/b&#62;.jsonl</title>');
  });
});

describe('writeReportFile', () => {
  it('replaces the file whole and leaves no temporary file behind', async () => {
    const file = path.join(directory, 'report.html');
    writeFileSync(file, 'old');
    await writeReportFile(file, '<p>new</p>');
    expect(readFileSync(file, 'utf8')).toBe('<p>new</p>');
    expect(readdirSync(directory).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('says which file it could not write, and writes nothing', async () => {
    const file = path.join(directory, 'missing', 'report.html');
    const error = await writeReportFile(file, 'x').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ReportWriteError);
    expect((error as Error).message).toBe(`cannot write the HTML report ${file}: no such directory; the verdict above stands`);
    expect(existsSync(path.dirname(file))).toBe(false);
  });

  it('leaves the old file when the target is a directory', async () => {
    const target = path.join(directory, 'a-directory');
    await import('node:fs/promises').then((fs) => fs.mkdir(target));
    await expect(writeReportFile(target, 'x')).rejects.toThrow(/cannot write the HTML report .*a-directory/);
    expect(readdirSync(directory).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });
});
