// `paxos top` on a real terminal: a pseudo-terminal made by util-linux's
// `script` (Debian's essential bsdutils, so it is on every machine), against
// three real nodes. The screen is read from the raw terminal output with the
// escape sequences removed; scripts/top-demo.sh does the same inside tmux and
// keeps what the screen looked like.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { binary, runCli, TestCluster, type StatusRow } from './support.js';

let cluster: TestCluster | undefined;
let top: TerminalProcess | undefined;

afterEach(async () => {
  top?.kill();
  top = undefined;
  await cluster?.stopAll();
  cluster = undefined;
});

const enterAlternateScreen = '\u001B[?1049h';
const leaveAlternateScreen = '\u001B[?1049l';

interface TerminalProcess {
  /** Everything the program wrote to its terminal, escape sequences and all. */
  readonly output: () => string;
  /** The output since `from`, escape sequences removed. */
  readonly text: (from?: number) => string;
  waitFor(pattern: RegExp, from?: number, timeoutMs?: number): Promise<void>;
  type(keys: string): void;
  readonly exited: Promise<number | null>;
  kill(): void;
}

/** Runs `command` on a pseudo-terminal of 120x30 characters, without CI in its environment. */
function onTerminal(command: string): TerminalProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', TERM: 'xterm-256color' };
  delete env.CI;
  const child: ChildProcess = spawn('script', ['-qfec', `stty cols 120 rows 30; exec ${command}`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const text = (from = 0): string => stripEscapes(output.slice(from));
  return {
    output: () => output,
    text,
    async waitFor(pattern, from = 0, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(text(from))) {
        if (Date.now() > deadline) throw new Error(`the screen never showed ${pattern}; it showed:\n${text(from).slice(-3000)}`);
        await new Promise((done) => setTimeout(done, 50));
      }
    },
    type: (keys) => child.stdin?.write(keys),
    exited,
    kill: () => child.kill('SIGKILL'),
  };
}

function stripEscapes(raw: string): string {
  // CSI sequences (colours, cursor moves, erase), then the two-byte ones.
  return raw.replace(/\u001B\[[0-?]*[ -/]*[@-~]/g, '').replace(/\u001B[@-_]/g, '');
}

function leaderOf(rows: StatusRow[]): number | undefined {
  return rows.find((row) => row.reachable && row.role === 'leader')?.id;
}

describe('paxos top', () => {
  it('draws the cluster on a terminal, shows a killed node as down, and q gives the terminal back', async () => {
    cluster = await TestCluster.create(3);
    await cluster.startAll();
    const leader = leaderOf(await cluster.waitFor((rows) => leaderOf(rows) !== undefined)) as number;
    top = onTerminal(`node ${binary} top --cluster ${cluster.addresses}`);

    await top.waitFor(new RegExp(`leader node ${leader} .*3/3 nodes up`));
    expect(top.output()).toContain(enterAlternateScreen);

    const follower = (leader % 3) + 1;
    const before = top.output().length;
    await cluster.kill9(follower);
    await top.waitFor(/2\/3 nodes up/, before);
    await top.waitFor(new RegExp(`node ${follower} down: connection refused`), before);

    top.type('q');
    expect(await top.exited).toBe(0);
    expect(top.output().lastIndexOf(leaveAlternateScreen)).toBeGreaterThan(top.output().lastIndexOf('nodes up'));
  });

  it('refuses to run when stdout is not a terminal, with exit code 1', async () => {
    const result = await runCli(['top', '--cluster', '127.0.0.1:1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('needs a terminal');
    expect(result.stdout).toBe('');
  });

  it('checks its flags before the terminal: a bad one is a usage error (exit 2) even without one', async () => {
    for (const flags of [['--interval', '10ms'], ['--timeout', '0ms'], ['--interval', 'soon'], ['--cluster', '127.0.0.1:99999']]) {
      const result = await runCli(['top', ...flags]);
      expect(result.code, `${flags.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr).not.toContain('needs a terminal');
    }
  });
});
