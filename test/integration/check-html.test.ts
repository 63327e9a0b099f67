// `paxos check --html` seen by a real browser: the built CLI writes the page,
// headless Chromium (Debian's `chromium`) loads it from a file:// URL, and the
// test reads what the page's script rendered from the DOM Chromium dumps
// (#status carries the drawn key, window and marks in data attributes).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
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

/** Chromium driven over the DevTools protocol on a pipe (fds 3 and 4): one page, commands in, results out. */
class Browser {
  private readonly child: ChildProcess;
  private readonly profile = tempDir();
  private readonly pending = new Map<number, { done: (value: Record<string, unknown>) => void; fail: (error: Error) => void }>();
  private nextId = 1;
  private buffer = '';
  private session = '';
  private stderr = '';

  private constructor() {
    const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', `--user-data-dir=${this.profile}`, '--window-size=1280,900', '--remote-debugging-pipe', 'about:blank'];
    this.child = spawn(chromiumBinary(), args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], detached: true });
    this.child.stderr!.on('data', (chunk) => (this.stderr += chunk));
    (this.child.stdio[4] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => this.receive(chunk.toString('utf8')));
    this.child.on('exit', (code) => {
      for (const { fail } of this.pending.values()) fail(new Error(`chromium exited ${code}\n${this.stderr.slice(-2000)}`));
      this.pending.clear();
    });
  }

  /** A browser with one page attached, showing `url`. */
  static async open(url: string): Promise<Browser> {
    const browser = new Browser();
    const { targetInfos } = await browser.send('Target.getTargets') as { targetInfos: { targetId: string; type: string }[] };
    const page = targetInfos.find((target) => target.type === 'page');
    if (page === undefined) throw new Error('chromium opened no page');
    const { sessionId } = await browser.send('Target.attachToTarget', { targetId: page.targetId, flatten: true }) as { sessionId: string };
    browser.session = sessionId;
    await browser.send('Page.navigate', { url });
    await browser.waitFor('document.getElementById("status")?.dataset.ready === "true"');
    return browser;
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const message = { id, method, params, ...(this.session === '' ? {} : { sessionId: this.session }) };
    (this.child.stdio[3] as NodeJS.WritableStream).write(`${JSON.stringify(message)}\0`);
    return new Promise((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`chromium did not answer ${method} within ${browserLoadMsMax} ms`)), browserLoadMsMax);
      this.pending.set(id, { done: (value) => (clearTimeout(timer), done(value)), fail: (error) => (clearTimeout(timer), fail(error)) });
    });
  }

  /** The value of a page expression. */
  async evaluate<T>(expression: string): Promise<T> {
    const answer = await this.send('Runtime.evaluate', { expression, returnByValue: true }) as { result: { value: T }; exceptionDetails?: { text: string } };
    if (answer.exceptionDetails !== undefined) throw new Error(`${expression}: ${answer.exceptionDetails.text}`);
    return answer.result.value;
  }

  async waitFor(expression: string): Promise<void> {
    const deadline = performance.now() + browserLoadMsMax;
    while (!(await this.evaluate<boolean>(expression))) {
      if (performance.now() > deadline) throw new Error(`the page never made ${expression} true`);
      await new Promise((done) => setTimeout(done, 50));
    }
  }

  async mouse(type: 'mouseMoved' | 'mousePressed' | 'mouseReleased' | 'mouseWheel', point: { x: number; y: number }, extra: Record<string, unknown> = {}): Promise<void> {
    const button = type === 'mousePressed' || type === 'mouseReleased' ? { button: 'left', clickCount: 1 } : {};
    await this.send('Input.dispatchMouseEvent', { type, x: point.x, y: point.y, ...button, ...extra });
  }

  async status(): Promise<Record<string, string>> {
    return this.evaluate('Object.fromEntries(Object.entries(document.getElementById("status").dataset))');
  }

  close(): void {
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
    rmSync(this.profile, { recursive: true, force: true });
  }

  private receive(text: string): void {
    this.buffer += text;
    let end: number;
    while ((end = this.buffer.indexOf('\0')) >= 0) {
      const message = JSON.parse(this.buffer.slice(0, end)) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
      this.buffer = this.buffer.slice(end + 1);
      const waiter = message.id === undefined ? undefined : this.pending.get(message.id);
      if (waiter === undefined) continue;
      this.pending.delete(message.id!);
      if (message.error !== undefined) waiter.fail(new Error(message.error.message));
      else waiter.done(message.result ?? {});
    }
  }
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

  it('shows an operation on hover and keeps it on click; the wheel zooms, a drag pans, the selector changes key', async () => {
    const { page } = await writePage('stale-interactive', staleReadHistory);
    const browser = await Browser.open(pathToFileURL(page).href);
    try {
      const read = await browser.evaluate<{ x: number; y: number } | null>('window.paxosReport.locate(11)');
      expect(read, 'the read invoked on line 11 is not in view').not.toBeNull();
      await browser.mouse('mouseMoved', read!);
      const tooltip = await browser.evaluate<{ hidden: boolean; text: string }>('({ hidden: document.getElementById("tooltip").hidden, text: document.getElementById("tooltip").textContent })');
      expect(tooltip.hidden).toBe(false);
      expect(tooltip.text.split('\n')).toEqual([
        'process 3  read on key "x"',
        'result   "1"',
        'invoked  60',
        'ok at    70  (took 10)',
        'lines    11,15',
        'cannot be ordered with the other marked operations',
        '← no order explains this result',
      ]);

      await browser.mouse('mousePressed', read!);
      await browser.mouse('mouseReleased', read!);
      expect((await browser.status()).selected).toBe('11');
      expect(await browser.evaluate<string>('document.getElementById("details").textContent')).toContain('process 3  read on key "x"');

      const before = (await browser.status()).window.split(',').map(Number);
      await browser.mouse('mouseWheel', read!, { deltaX: 0, deltaY: -400 });
      const zoomed = (await browser.status()).window.split(',').map(Number);
      expect(zoomed[1] - zoomed[0]).toBeLessThan((before[1] - before[0]) / 2);

      const from = { x: read!.x, y: read!.y };
      await browser.mouse('mousePressed', from);
      await browser.mouse('mouseMoved', { x: from.x - 200, y: from.y }, { buttons: 1 });
      await browser.mouse('mouseReleased', { x: from.x - 200, y: from.y });
      const panned = (await browser.status()).window.split(',').map(Number);
      expect(panned[0]).toBeGreaterThan(zoomed[0]);
      // The same span, give or take the rounding of the window to whole time units.
      expect(Math.abs((panned[1] - panned[0]) - (zoomed[1] - zoomed[0]))).toBeLessThanOrEqual(2);

      await browser.evaluate('(() => { const select = document.getElementById("key"); select.value = "0"; select.dispatchEvent(new Event("change")); })()');
      expect(await browser.status()).toMatchObject({ key: 'a', keyVerdict: 'linearizable', highlighted: '', lanes: '2' });
      expect(await browser.evaluate<boolean>('document.getElementById("violation").hidden')).toBe(true);
    } finally {
      browser.close();
    }
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
