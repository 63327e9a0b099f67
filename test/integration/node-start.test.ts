// `paxos node start` refusing bad input before it touches anything: a clear
// message and exit code 2, never a crash or a busy loop.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  it('a --data-dir that is a file, saying so cleanly and leaving the file alone', async () => {
    const file = dataDir();
    writeFileSync(file, 'root:x:0:0\n');
    const result = await runCli(nodeStart('--data-dir', file), { timeoutMs: 15_000 });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`could not start node=1 error=data dir ${file} cannot be used: ${file} is a file, not a directory; give --data-dir a directory`);
    expect(result.stderr).toContain('code=DATA_DIR_INVALID');
    expect(result.stderr).not.toContain('undefined');
    expect(readFileSync(file, 'utf8')).toBe('root:x:0:0\n');
  });

  it.each(['0ms', '0s', '1001ms', '1h'])('--tick %s (a busy loop, or no failover): exit 2', async (tick) => {
    const dir = dataDir();
    const result = await runCli(nodeStart('--data-dir', dir, '--tick', tick), { timeoutMs: 15_000 });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\(--tick\) is out of range: use 1ms to 1s/);
    expect(existsSync(dir)).toBe(false);
  });
});
