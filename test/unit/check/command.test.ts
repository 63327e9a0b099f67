// `paxos check` run in-process as oclif would: what it prints and the exit code.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import Check from '../../../src/commands/check.js';
import { historyText, read, write } from './histories.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const directory = mkdtempSync(path.join(tmpdir(), 'paxos-check-'));

afterEach(() => vi.restoreAllMocks());
afterAll(() => rmSync(directory, { recursive: true, force: true }));

interface Run {
  stdout: string[];
  stderr: string[];
  exitCode: number;
}

/** Runs `paxos check ARGV`; the exit code comes from this.error or process.exitCode. */
async function run(argv: string[]): Promise<Run> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => void stdout.push(String(line)));
  vi.spyOn(console, 'error').mockImplementation((line: unknown) => void stderr.push(String(line)));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => (stderr.push(String(chunk).trimEnd()), true));
  const exitCodeBefore = process.exitCode;
  let exitCode = 0;
  try {
    await Check.run(argv, root);
    exitCode = typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    exitCode = (error as { oclif?: { exit?: number } }).oclif?.exit ?? 1;
    stderr.push((error as Error).message);
  } finally {
    process.exitCode = exitCodeBefore;
    vi.restoreAllMocks();
  }
  return { stdout, stderr, exitCode };
}

function historyFile(name: string, text: string): string {
  const file = path.join(directory, name);
  writeFileSync(file, text);
  return file;
}

const good = historyText([write(0, '1', 0, 10), read(1, '1', 20, 30)]);
const stale = historyText([write(0, '1', 0, 10), write(1, '2', 20, 30), read(2, '1', 40, 50)]);

describe('paxos check', () => {
  it('prints linearizable and a summary, and exits 0', async () => {
    const { stdout, exitCode } = await run([historyFile('good.jsonl', good)]);
    expect(exitCode).toBe(0);
    expect(stdout[0]).toBe('linearizable');
    expect(stdout[1]).toMatch(/^2 operations on 1 key, \d+ states, checked in \d+\.\d\d s$/);
  });

  it('explains a violation and exits 1', async () => {
    const { stdout, exitCode } = await run([historyFile('stale.jsonl', stale)]);
    expect(exitCode).toBe(1);
    expect(stdout[0]).toBe('not linearizable: key "x": these 3 operations cannot be ordered (of 3 on the key)');
    expect(stdout.join('\n')).toContain('read → "1"');
  });

  it('returns the result as JSON with --json, keeping the exit code', async () => {
    const { stdout, exitCode } = await run([historyFile('stale.jsonl', stale), '--json']);
    expect(exitCode).toBe(1);
    const result = JSON.parse(stdout.join('\n')) as Record<string, unknown>;
    expect(result).toMatchObject({ verdict: 'violation', operations: 3, keys: 1, violations: [{ key: 'x', keyOperations: 3 }] });
    expect(typeof result.elapsedMs).toBe('number');
  });

  it('reads stdin for -', async () => {
    vi.spyOn(process, 'stdin', 'get').mockReturnValue(Readable.from([good]) as typeof process.stdin);
    const { stdout, exitCode } = await run(['-']);
    expect([exitCode, stdout[0]]).toEqual([0, 'linearizable']);
  });

  it('exits 2 naming the line of a malformed history, also under --json', async () => {
    const file = historyFile('bad.jsonl', `${good}{"process":9,"type":"ok","time":99}\n`);
    const { stderr, exitCode } = await run([file]);
    expect(exitCode).toBe(2);
    expect(stderr.join('\n')).toContain('line 5: a completion ("ok") for process 9, which has no operation in flight');
    expect((await run([file, '--json'])).exitCode).toBe(2);
  });

  it('exits 2 when the file cannot be read', async () => {
    const { stderr, exitCode } = await run([path.join(directory, 'missing.jsonl')]);
    expect(exitCode).toBe(2);
    expect(stderr.join('\n')).toMatch(/cannot read history .*missing\.jsonl: no such file/);
  });

  it('writes the HTML report with --html, keeping the verdict and the exit code', async () => {
    const page = path.join(directory, 'stale.html');
    const { stdout, stderr, exitCode } = await run([historyFile('stale.jsonl', stale), '--html', page]);
    expect(exitCode).toBe(1);
    expect(stdout[0]).toBe('not linearizable: key "x": these 3 operations cannot be ordered (of 3 on the key)');
    expect(stderr.join('\n')).toMatch(/wrote .*stale\.html \(0\.0 MB\)/);
    expect(readFileSync(page, 'utf8')).toContain('<canvas id="timeline">');
    const json = await run([historyFile('good.jsonl', good), '--html', page, '--json']);
    expect(json.exitCode).toBe(0);
    expect(JSON.parse(json.stdout.join('\n'))).toMatchObject({ verdict: 'linearizable', html: { file: page, bytes: expect.any(Number) } });
    expect(readFileSync(page, 'utf8')).toContain('data-verdict="linearizable"');
  });

  it('prints the verdict, then exits 2 when the HTML report cannot be written', async () => {
    const page = path.join(directory, 'no-such-directory', 'r.html');
    const { stdout, stderr, exitCode } = await run([historyFile('good.jsonl', good), '--html', page]);
    expect(exitCode).toBe(2);
    expect(stdout[0]).toBe('linearizable');
    expect(stderr.join('\n')).toContain(`cannot write the HTML report ${page}: no such directory; the verdict above stands`);
    expect(existsSync(path.dirname(page))).toBe(false);
  });

  it('exits 3 when a key needs more states than --max-states', async () => {
    const { stdout, exitCode } = await run([historyFile('good.jsonl', good), '--max-states', '1']);
    expect(exitCode).toBe(3);
    expect(stdout[0]).toMatch(/^unknown: gave up on key "x" \(2 operations\) after 2 states/);
  });
});
