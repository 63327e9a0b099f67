// The chaos script end to end: a real cluster under kill -9, SIGSTOP,
// partitions, slow and lossy links and whole-cluster crashes must stay
// linearizable; and the same script must catch a node broken on purpose.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { binary } from './support.js';

const script = resolve(__dirname, '../../scripts/chaos/run.sh');

interface ChaosRun {
  code: number | null;
  /** The one-line summary the script prints last. */
  summary: string;
  output: string;
}

/** Runs scripts/chaos/run.sh with `args`; SIGTERM after `limitMs` (the script then cleans up). */
function chaos(args: string[], limitMs: number, env: Record<string, string> = {}): Promise<ChaosRun> {
  return new Promise((done) => {
    const child = spawn('bash', [script, ...args], { env: { ...process.env, PAXOS_BIN: binary, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGTERM'), limitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const summary = output.split('\n').find((line) => line.startsWith('chaos: PASS') || line.startsWith('chaos: FAIL')) ?? '';
      done({ code, summary, output });
    });
  });
}

/** Runs short chaos rounds with fresh seeds until one fails or `budgetMs` is spent. */
async function chaosUntilCaught(args: string[], budgetMs: number, env: Record<string, string> = {}): Promise<ChaosRun[]> {
  const runs: ChaosRun[] = [];
  const deadline = Date.now() + budgetMs;
  for (let seed = 1; Date.now() < deadline; seed++) {
    const run = await chaos([...args, '--seed', String(seed)], Math.max(1_000, deadline - Date.now()), env);
    runs.push(run);
    if (run.code !== 0) break;
  }
  return runs;
}

describe('scripts/chaos/run.sh', () => {
  it('passes with every fault for 45 s: linearizable, replicas agree', async () => {
    const run = await chaos(['--duration', '45s', '--faults', 'all', '--seed', '1'], 110_000);
    expect(run.code, run.output).toBe(0);
    expect(run.summary).toMatch(/^chaos: PASS .* violations=0 .* replicas-agree=3\/3/);
    // Faults really happened, and clients got work done through them.
    expect(run.summary).toMatch(/ok=[1-9]\d*/);
    expect(run.summary).not.toMatch(/faults=(\w+:0,?)+ /);
  }, 120_000);

  it('catches a leader that answers reads from local state, under partitions', async () => {
    // Partition the leader every time, and let clients start afresh often (asking a random node
    // first), so some ask the deposed leader while the majority side takes writes.
    const args = ['--duration', '20s', '--faults', 'partition', '--target', 'leader', '--node-flags', '--unsafe-local-reads'];
    const runs = await chaosUntilCaught(args, 75_000, { CHAOS_SESSION_OPS: '20-100' });
    const caught = runs[runs.length - 1];
    expect(caught.code, caught.output).toBe(1);
    expect(caught.summary).toMatch(/^chaos: FAIL .* violations=[1-9]/);
    expect(caught.output).toContain('no order explains this result');
  }, 90_000);

  it('catches a node that acknowledges before its records are durable, under kill -9 of every node', async () => {
    // Replicas that lost different records may never agree: wait for that only briefly.
    const args = ['--duration', '15s', '--faults', 'crash', '--node-flags', '--unsafe-ack-before-fsync'];
    const runs = await chaosUntilCaught(args, 60_000, { CHAOS_CONVERGE_TIMEOUT: '10s' });
    const caught = runs[runs.length - 1];
    expect(caught.code, caught.output).toBe(1);
    // A lost write shows as a read the history cannot explain, or as replicas that applied different values.
    expect(caught.summary).toMatch(/reasons=.*(not-linearizable|replicas-disagree)/);
  }, 75_000);
});
