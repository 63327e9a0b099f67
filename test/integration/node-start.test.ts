// `paxos node start` refusing bad input before it touches anything: a clear
// message and exit code 2, never a crash or a busy loop.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './support.js';

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = tempDir();
  dirs.push(dir);
  return join(dir, 'n1');
}

const nodeStart = (...flags: string[]) => ['node', 'start', '--id', '1', '--peers', '1=127.0.0.1:1', ...flags];

describe('paxos node start refuses', () => {
  it.each(['0ms', '0s', '1001ms', '1h'])('--tick %s (a busy loop, or no failover): exit 2', async (tick) => {
    const dir = dataDir();
    const result = await runCli(nodeStart('--data-dir', dir, '--tick', tick), { timeoutMs: 15_000 });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\(--tick\) is out of range: use 1ms to 1s/);
    expect(existsSync(dir)).toBe(false);
  });
});
