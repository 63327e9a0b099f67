// `paxos node start` refusing bad input before it touches anything: a clear
// message and exit code 2, never a crash or a busy loop; and a node that cannot
// have its port or data dir saying what to do (exit 1).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePorts, runCli, tempDir } from './support.js';

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = tempDir();
  dirs.push(dir);
  return join(dir, 'n1');
}

/** oclif wraps an error at 80 columns behind ` ›   `; this gives back the message as one line. */
const unwrapped = (stderr: string) => stderr.replace(/\s*\n ›\s+/g, ' ');

const nodeStart = (...flags: string[]) => ['node', 'start', '--id', '1', '--peers', '1=127.0.0.1:1', ...flags];

/** oclif prints errors as ` ›   Error: ...` wrapped to the terminal: one line, for matching. */
function oneLine(stderr: string): string {
  return stderr.replace(/\n ›\s+/g, ' ').replace(/\s+/g, ' ');
}

const mounts: string[] = [];

afterEach(() => {
  for (const dir of mounts.splice(0)) execFileSync('umount', [dir]);
});

/**
 * A directory nothing may be written in: a read-only tmpfs as root (root writes
 * through mode bits), mode 0555 otherwise. Mounting needs root with
 * CAP_SYS_ADMIN; without it the test fails saying so rather than skip.
 */
function unwritableDir(): { dir: string; why: RegExp } {
  const dir = join(tempDir(), 'ro');
  dirs.push(dirname(dir));
  mkdirSync(dir);
  if (process.getuid?.() !== 0) {
    chmodSync(dir, 0o555);
    return { dir, why: /permission denied \(EACCES/ };
  }
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`this test makes a read-only file system with \`mount -t tmpfs -o ro tmpfs ${dir}\` and could not (${(error as Error).message.trim()}); run it as root with CAP_SYS_ADMIN, or as a user other than root`);
  }
  mounts.push(dir);
  return { dir, why: /the file system is read-only \(EROFS/ };
}

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
    expect(unwrapped(result.stderr)).toMatch(/--tick \S+ is out of range: use 1ms to 1s|--tick \S+ is not a duration/);
    expect(result.stderr).toContain('CONFIG_INVALID');
    expect(existsSync(dir)).toBe(false);
  });

  // Whichever limit is wrong, and however (a bound, a relation, text that is no number), the same
  // error class: exit 2, code CONFIG_INVALID, a message that names the flag, nothing touched.
  it.each([
    [['--command-bytes-max', '99999999'], '--command-bytes-max 99999999 leaves no room in a frame of --max-frame-bytes 16777216: it must be at most 16711680'],
    [['--max-frame-bytes', '4194304', '--snapshot-chunk-bytes', '4194304'], '--snapshot-chunk-bytes 4194304 does not fit a frame of --max-frame-bytes 4194304'],
    [['--max-frame-bytes', '1000'], '--max-frame-bytes 1000 is out of range: use 2097152 to 4294967295'],
    [['--value-bytes-max', '2000000'], '--value-bytes-max 2000000 is out of range: use 1 to 1048576'],
    [['--commands-waiting-max', 'many'], '--commands-waiting-max many is not a whole number'],
    [['--handshake-timeout', '0s'], '--handshake-timeout 0ms is out of range'],
    [['--fsync-batch-linger', '2ms'], '--fsync-batch-linger applies to --fsync batch only (this node has --fsync always)'],
    [['--fsync', 'batch', '--fsync-batch-linger', '51ms'], '--fsync-batch-linger 51ms is out of range: use 0ms to 50ms'],
  ])('%j: exit 2, CONFIG_INVALID, naming the flag', async (flags, message) => {
    const dir = dataDir();
    const result = await runCli(nodeStart('--data-dir', dir, ...flags), { timeoutMs: 15_000 });
    expect(result.code).toBe(2);
    expect(unwrapped(result.stderr)).toContain(message);
    expect(result.stderr).toContain('Code: CONFIG_INVALID');
    expect(existsSync(dir)).toBe(false);
  });
});

describe('paxos node start says what to do when it cannot start', () => {
  it('on a taken port: which port, and where to choose another', async () => {
    const [port] = await freePorts(1);
    const taken = net.createServer();
    await new Promise<void>((done) => taken.listen(port, '127.0.0.1', done));
    try {
      const result = await runCli(['node', 'start', '--id', '1', '--peers', `1=127.0.0.1:${port}`, '--data-dir', dataDir()], { timeoutMs: 15_000 });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('code=EADDRINUSE');
      expect(oneLine(result.stderr)).toContain(
        `Error: node 1 cannot start: listen EADDRINUSE: address already in use 127.0.0.1:${port}. Port ${port} is in use (another node or cluster, or another program): stop it, or choose another port in --listen (or in this node's entry in every node's --peers).`,
      );
    } finally {
      await new Promise((done) => taken.close(done));
    }
  });

  it('on a data dir it may not write, or in one: why, and to give --data-dir another', async () => {
    const { dir, why } = unwritableDir();
    for (const dataDirFlag of [dir, join(dir, 'n1')]) {
      const result = await runCli(nodeStart('--data-dir', dataDirFlag), { timeoutMs: 15_000 });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('code=DATA_DIR_INVALID');
      const said = oneLine(result.stderr);
      expect(said).toContain(`Error: node 1 cannot start: data dir ${dataDirFlag} cannot be used: `);
      expect(said).toMatch(why);
      expect(said).toMatch(/; give --data-dir a (writable directory|directory this user may write)/);
    }
  });
});
