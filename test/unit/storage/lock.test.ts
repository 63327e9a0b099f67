import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirInvalidError, DataDirLockedError } from '../../../src/node/storage/errors.js';
import { lockDataDir } from '../../../src/node/storage/lock.js';
import { temporaryDirectory } from './helpers.js';

const repositoryRoot = resolve(import.meta.dirname, '../../..');
const lockModule = pathToFileURL(join(repositoryRoot, 'src/node/storage/lock.ts')).href;
/** Time a child gets to start (tsx compiles on the fly) and take the lock. */
const childReadyMsMax = 20_000;

let scratch: { dir: string; remove: () => void };
let children: ChildProcess[] = [];

beforeEach(() => {
  scratch = temporaryDirectory();
});

afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children = [];
  scratch.remove();
});

/** Starts a node process that takes the lock on `dir` and holds it until killed. */
async function holdLockInChild(dir: string): Promise<ChildProcess> {
  const script = [
    `const { lockDataDir } = await import(${JSON.stringify(lockModule)});`,
    `await lockDataDir(${JSON.stringify(dir)}, { log: () => {} });`,
    "process.stdout.write('locked\\n');",
    'setInterval(() => {}, 1000);',
  ].join('\n');
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repositoryRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  await new Promise<void>((ready, fail) => {
    let stderr = '';
    const timer = setTimeout(() => fail(new Error(`child did not lock in time: ${stderr}`)), childReadyMsMax);
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      if (!chunk.toString().includes('locked')) return;
      clearTimeout(timer);
      ready();
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`child exited (${code}) before locking: ${stderr}`));
    });
  });
  return child;
}

function killHard(child: ChildProcess): Promise<void> {
  return new Promise((exited) => {
    child.once('exit', () => exited());
    child.kill('SIGKILL');
  });
}

describe('lockDataDir', () => {
  it('creates the dir, writes our pid, keeps the lock inside the dir, and releases', async () => {
    const dir = join(scratch.dir, 'n1');
    const release = await lockDataDir(dir, { log: () => {} });
    expect(fs.readFileSync(join(dir, 'paxos.pid'), 'utf8').trim()).toBe(String(process.pid));
    expect(fs.existsSync(join(dir, 'paxos.lock'))).toBe(true);
    expect(fs.existsSync(`${dir}.lock`)).toBe(false);
    await release();
    await release();
    expect(fs.existsSync(join(dir, 'paxos.lock'))).toBe(false);
    expect(fs.existsSync(join(dir, 'paxos.pid'))).toBe(false);
    // Free again.
    await (await lockDataDir(dir, { log: () => {} }))();
  });

  it('refuses a second lock from the same process at once', async () => {
    const release = await lockDataDir(scratch.dir, { log: () => {} });
    await expect(lockDataDir(scratch.dir, { log: () => {} })).rejects.toBeInstanceOf(DataDirLockedError);
    await release();
  });

  it('reports a lost lock through onCompromised instead of throwing from a timer', async () => {
    let reportLost: (error: Error) => void = () => {};
    const lost = new Promise<Error>((resolveLost) => (reportLost = resolveLost));
    const release = await lockDataDir(scratch.dir, { log: () => {}, onCompromised: (error) => reportLost(error) });
    // Someone removes our lock behind our back; the next refresh (within a second) notices.
    fs.rmSync(join(scratch.dir, 'paxos.lock'), { recursive: true });
    expect((await lost).message).toMatch(/lock/i);
    await release();
  });

  it('refuses at once while a live node holds the dir, then takes it over after that node is killed -9', async () => {
    const dir = join(scratch.dir, 'n1');
    const child = await holdLockInChild(dir);

    const started = Date.now();
    const refusal = await lockDataDir(dir, { log: () => {} }).catch((caught: unknown) => caught);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(refusal).toBeInstanceOf(DataDirLockedError);
    expect(refusal).toMatchObject({ code: 'DATA_DIR_LOCKED', holderPid: child.pid });
    expect((refusal as Error).message).toContain(`is in use by another paxos node (pid ${child.pid})`);

    await killHard(child);
    const lines: string[] = [];
    const release = await lockDataDir(dir, { log: (line) => lines.push(line), waitStaleMs: 15_000 });
    expect(lines.some((line) => line.includes('waiting') && line.includes(`pid ${child.pid}`))).toBe(true);
    expect(fs.readFileSync(join(dir, 'paxos.pid'), 'utf8').trim()).toBe(String(process.pid));
    await release();
  });

  it('gives up after waitStaleMs when the lock stays fresh but no live holder is known', async () => {
    const dir = join(scratch.dir, 'n1');
    const child = await holdLockInChild(dir);
    // As if the holder ran in another pid namespace: its pid file names nobody here.
    fs.writeFileSync(join(dir, 'paxos.pid'), '999999999\n');
    const lines: string[] = [];
    const error = await lockDataDir(dir, { log: (line) => lines.push(line), waitStaleMs: 1500 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DataDirLockedError);
    expect((error as Error).message).toMatch(/still locked after waiting 1500 ms/);
    expect(lines).toHaveLength(1);
    await killHard(child);
  });
});

describe('a data dir that cannot be one', () => {
  it('refuses a file in its place, or in the way of its parent, with DATA_DIR_INVALID and what to do, and leaves the file alone', async () => {
    const file = join(scratch.dir, 'a-file');
    fs.writeFileSync(file, 'not a dir');
    for (const dir of [file, join(file, 'n1')]) {
      const error = await lockDataDir(dir, { log: () => undefined }).then(() => null, (caught: unknown) => caught);
      expect(error).toBeInstanceOf(DataDirInvalidError);
      expect(error).toMatchObject({ code: 'DATA_DIR_INVALID' });
      expect((error as Error).message).toMatch(new RegExp(`^data dir ${dir} cannot be used: .*not a directory.*; give --data-dir a directory, or a path where one can be created$`));
    }
    expect(fs.readFileSync(file, 'utf8')).toBe('not a dir');
  });
});
