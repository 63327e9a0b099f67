// `paxos check --html` seen by a real browser: the built CLI writes the page,
// headless Chromium (Debian's `chromium`) loads it from a file:// URL, and the
// test reads what the page's script rendered from the DOM Chromium dumps
// (#status carries the drawn key, window and marks in data attributes).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { historyText, manyProcessHistory, staleReadHistory, type OperationSpec } from '../unit/check/histories.js';
import { runCli, tempDir } from './support.js';

const directory = tempDir();
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** Loading a page of 100,000 operations takes Chromium about 2 s here; this leaves room on a busy machine. */
const browserLoadMsMax = 45_000;

/** Chromium on PATH (or $CHROMIUM); this test must fail, not skip, when there is none. */
function chromiumBinary(): string {
  for (const name of [process.env.CHROMIUM, 'chromium', 'chromium-browser']) {
    if (name === undefined || name === '') continue;
    const found = spawnSync('sh', ['-c', 'command -v "$0"', name], { encoding: 'utf8' });
    if (found.status === 0 && found.stdout.trim() !== '') return found.stdout.trim();
  }
  throw new Error('chromium is missing: the browser test of `paxos check --html` needs it. Install it with '
    + '`apt-get update && apt-get install -y chromium` (.ci/run does this), or set $CHROMIUM to a Chromium binary.');
}

/** The DOM after the page's script ran, as Chromium serialises it. */
function dumpDom(file: string, hash = ''): Promise<{ dom: string; elapsedMs: number }> {
  const binary = chromiumBinary();
  const profile = tempDir();
  const url = `${pathToFileURL(file).href}${hash}`;
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', `--user-data-dir=${profile}`, '--window-size=1280,900', '--dump-dom', url];
  const started = performance.now();
  return new Promise((done, fail) => {
    // Its own process group, so that a timeout kills the renderer and GPU children too.
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let dom = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (dom += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      process.kill(-child.pid!, 'SIGKILL');
      fail(new Error(`chromium did not load ${url} within ${browserLoadMsMax} ms\n${stderr.slice(-2000)}`));
    }, browserLoadMsMax);
    child.on('exit', (code) => {
      clearTimeout(timer);
      rmSync(profile, { recursive: true, force: true });
      if (code !== 0) fail(new Error(`chromium exited ${code} on ${url}\n${stderr.slice(-2000)}`));
      else done({ dom, elapsedMs: performance.now() - started });
    });
  });
}

function decode(text: string): string {
  return text.replace(/&quot;/g, '"').replace(/&#39;/g, '\'').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&nbsp;/g, '\u00a0').replace(/&amp;/g, '&');
}

/** The attributes of #status, which the page's script sets after it drew. */
function rendered(dom: string): Record<string, string> {
  const status = /<output id="status"([^>]*)>/.exec(dom);
  expect(status, 'the page has no #status element').not.toBeNull();
  const attributes: Record<string, string> = {};
  for (const [, name, value] of status![1].matchAll(/([\w-]+)="([^"]*)"/g)) attributes[name] = decode(value);
  expect(attributes['data-ready'], 'the page\'s script did not finish drawing').toBe('true');
  return attributes;
}

function elementText(dom: string, id: string): string {
  const match = new RegExp(`<[a-z0-9]+ id="${id}"[^>]*>([\\s\\S]*?)</`).exec(dom);
  expect(match, `the page has no #${id}`).not.toBeNull();
  return decode(match![1]);
}

async function writePage(name: string, specs: readonly OperationSpec[], timeoutMs = 30_000): Promise<{ page: string; history: string; code: number | null; stdout: string }> {
  const history = join(directory, `${name}.jsonl`);
  const page = join(directory, `${name}.html`);
  writeFileSync(history, historyText(specs));
  const run = await runCli(['check', history, '--html', page], { timeoutMs });
  return { page, history, code: run.code, stdout: run.stdout };
}

describe('paxos check --html in Chromium', () => {
  it('shows the violating key, marks the operations that cannot be ordered, and shows the explanation', async () => {
    const { page, code, stdout } = await writePage('stale', staleReadHistory);
    expect(code).toBe(1);
    expect(stdout).toContain('not linearizable: key "x"');
    const { dom } = await dumpDom(page);
    expect(rendered(dom)).toMatchObject({
      'data-key': 'x',
      'data-key-verdict': 'violation',
      'data-highlighted': '1,3,11',
      'data-unexplained': '11',
      // Processes 0, 1, 2, 3, 5 and 6 worked on x; each of its 6 operations is one bar.
      'data-lanes': '6',
      'data-drawn': '6',
    });
    expect(elementText(dom, 'verdict')).toBe('not linearizable: 1 key');
    const explanation = elementText(dom, 'explanation');
    expect(explanation.split('\n')[0]).toBe('not linearizable: key "x": these 3 operations cannot be ordered (of 6 on the key)');
    expect(explanation).toMatch(/3\s+read → "1"\s+60\s+ok at 70\s+11,15\s+← no order explains this result/);
    expect([...dom.matchAll(/<li data-line="(\d+)"/g)].map((match) => Number(match[1]))).toEqual([1, 3, 11]);
    expect(dom).toMatch(/<select id="key">.*<option value="1">x \(6 ops, NOT LINEARIZABLE\)<\/option>/s);
  });

  it('opens the key and window a link names', async () => {
    const { page } = await writePage('stale-link', staleReadHistory);
    const { dom } = await dumpDom(page, '#key=a&window=all');
    expect(rendered(dom)).toMatchObject({ 'data-key': 'a', 'data-key-verdict': 'linearizable', 'data-highlighted': '', 'data-lanes': '2', 'data-window': '0,70' });
    expect(elementText(dom, 'violation-operations')).toBe('');
  });

  it('draws a history of 100,000 operations from 64 processes on 4 keys, opening on its violation', async () => {
    const { specs, corrupted } = manyProcessHistory(100_000);
    const { page, history, code, stdout } = await writePage('large', specs, 90_000);
    expect(code, stdout).toBe(1);
    const bytes = statSync(page).size;
    expect(bytes).toBeLessThan(15 * 1024 * 1024);
    const line = invokeLine(readFileSync(history, 'utf8'), corrupted);

    const violation = await dumpDom(page);
    expect(rendered(violation.dom)).toMatchObject({ 'data-key': corrupted.key, 'data-key-verdict': 'violation', 'data-highlighted': String(line), 'data-unexplained': String(line), 'data-lanes': '64' });
    expect(violation.elapsedMs).toBeLessThan(browserLoadMsMax);

    // The whole history at once: only about one bar per pixel per visible lane is drawn.
    const whole = await dumpDom(page, `#key=${corrupted.key}&window=all`);
    const drawn = Number(rendered(whole.dom)['data-drawn']);
    expect(drawn).toBeGreaterThan(1000);
    expect(drawn).toBeLessThan(25_000);
  }, 240_000);
});

/** The line (from 1) where `spec` was invoked, as historyText wrote it. */
function invokeLine(text: string, spec: OperationSpec): number {
  const invocation = JSON.stringify({ process: spec.process, type: 'invoke', f: spec.f, key: spec.key, value: null, time: spec.invoke });
  const index = text.split('\n').indexOf(invocation);
  expect(index).toBeGreaterThanOrEqual(0);
  return index + 1;
}
