// `paxos cluster start` as a user runs it: readiness, node command lines, the
// exit code when a node cannot start, and Ctrl-C/SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { binary, freeConsecutivePorts, portIsFree, runCli, tempDir, type StatusRow } from './support.js';

const childEnv = { ...process.env, NODE_ENV: 'production', NO_COLOR: '1' };

/** One `paxos cluster start` in its own process group, so that cleanup kills its nodes too. */
class ClusterStart {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [binary, 'cluster', 'start', ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child.stdout?.on('data', (chunk) => (this.stdout += chunk));
    this.child.stderr?.on('data', (chunk) => (this.stderr += chunk));
    this.exited = new Promise((done) => this.child.once('exit', (code) => done(code)));
    running.add(this);
    void this.exited.then(() => running.delete(this));
  }

  /** Waits until stderr matches, failing early if the process exits. */
  async waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    while (!pattern.test(this.stderr)) {
      if (exited) throw new Error(`cluster start exited before its stderr matched ${pattern}:\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`cluster start did not print ${pattern} in ${timeoutMs}ms:\n${this.stderr}`);
      await new Promise((done) => setTimeout(done, 50));
    }
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Kills cluster start and every node it started (they share its process group). */
  killAll(): void {
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

const running = new Set<ClusterStart>();
const others = new Set<ChildProcess>();
const dirs: string[] = [];

afterEach(async () => {
  for (const cluster of running) cluster.killAll();
  for (const child of others) child.kill('SIGKILL');
  others.clear();
  await new Promise((done) => setTimeout(done, 200));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function newDir(): string {
  const dir = tempDir();
  dirs.push(dir);
  return join(dir, 'cluster');
}

const addressesOf = (ports: number[]) => ports.map((port) => `127.0.0.1:${port}`).join(',');

async function waitForStatus(ports: number[], check: (rows: StatusRow[]) => boolean, timeoutMs = 30_000): Promise<StatusRow[]> {
  const deadline = Date.now() + timeoutMs;
  let rows: StatusRow[] = [];
  while (Date.now() < deadline) {
    rows = JSON.parse((await runCli(['status', '-c', addressesOf(ports), '--json'])).stdout) as StatusRow[];
    if (check(rows)) return rows;
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`status never matched: ${JSON.stringify(rows)}`);
}

async function allFree(ports: number[]): Promise<boolean> {
  return (await Promise.all(ports.map(portIsFree))).every(Boolean);
}

describe('paxos cluster start', () => {
  it('says ready once every node serves, keeps going when one is killed, and stops everything on SIGTERM with exit 0', async () => {
    const ports = await freeConsecutivePorts(3);
    const dir = newDir();
    const cluster = new ClusterStart(['--base-port', String(ports[0]), '--dir', dir, '--cluster-token', 'it-token']);
    await cluster.waitFor(/^ready: 3 nodes serving/m);
    expect(cluster.stdout).toContain(`export PAXOS_CLUSTER=${addressesOf(ports)}`);
    // The hint names the real addresses, and every node got the token.
    expect(cluster.stderr).toContain(`npx paxos submit -c ${addressesOf(ports)} set x 1`);
    expect(cluster.stderr.match(/^\[n\d\] command: .* --cluster-token it-token /gm)).toHaveLength(3);
    const rows = await waitForStatus(ports, (r) => r.every((row) => row.reachable));
    expect(new Set(rows.map((row) => row.clusterId)).size).toBe(1);
    expect(rows[0].clusterId).not.toBe('03994c66563b743b'); // the id of the default token, paxos
    const submit = await runCli(['submit', '-c', addressesOf(ports), 'set', 'x', '1']);
    expect(submit.stdout.trim()).toBe('OK');

    // kill -9 one node: the others carry on, and cluster start does not stop.
    const pid = Number(readFileSync(join(dir, 'n3', 'paxos.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    await cluster.waitFor(/\[n3\] exited \(SIGKILL\); the others carry on/);
    expect((await runCli(['submit', '-c', addressesOf(ports), 'set', 'y', '2'])).stdout.trim()).toBe('OK');

    // The printed command line brings it back by hand, from any directory: it recovers and catches up.
    const line = /^\[n3\] command: (.*)$/m.exec(cluster.stderr)?.[1];
    expect(line).toContain(`node start --id 3 --peers 1=127.0.0.1:${ports[0]},2=127.0.0.1:${ports[1]},3=127.0.0.1:${ports[2]} --data-dir ${join(dir, 'n3')}`);
    const restarted = spawn('sh', ['-c', `exec ${line}`], { cwd: '/', env: childEnv, stdio: 'ignore' });
    others.add(restarted);
    const caughtUp = await waitForStatus(ports, (rows) => rows.every((row) => row.reachable) && new Set(rows.map((row) => row.lastApplied)).size === 1);
    expect(caughtUp[2].lastApplied).toBeGreaterThanOrEqual(2);
    restarted.kill('SIGTERM');
    await new Promise((done) => restarted.once('exit', done));

    cluster.signal('SIGTERM');
    expect(await cluster.exited).toBe(0);
    expect(await allFree(ports)).toBe(true);
  }, 90_000);

  it('warns on stderr of an even size, and starts it anyway', async () => {
    const ports = await freeConsecutivePorts(2);
    const cluster = new ClusterStart(['--nodes', '2', '--base-port', String(ports[0]), '--dir', newDir()]);
    await cluster.waitFor(/^ready: 2 nodes serving/m);
    expect(cluster.stderr).toMatch(/^warning: --nodes 2 survives 0 failed nodes \(a majority of 2 is 2\), no more than --nodes 1; an odd size \(1 or 3\) is better\. Starting 2 nodes anyway\.$/m);
    expect(cluster.stdout).not.toContain('warning');
    cluster.signal('SIGTERM');
    expect(await cluster.exited).toBe(0);
  }, 60_000);

  it('exits 1 at once, stopping the other nodes, when a node cannot have its port', async () => {
    const ports = await freeConsecutivePorts(3);
    const blocker = net.createServer();
    await new Promise<void>((done) => blocker.listen(ports[1], '127.0.0.1', done));
    try {
      const cluster = new ClusterStart(['--base-port', String(ports[0]), '--dir', newDir()]);
      expect(await cluster.exited).toBe(1);
      expect(cluster.stderr).toMatch(new RegExp(`node 2 exited \\(code 1\\): .*EADDRINUSE.*Port ${ports[1]} is in use.*another --base-port`));
      expect(cluster.stderr).not.toMatch(/^ready:/m);
      expect(cluster.stdout).toBe('');
      expect(await allFree([ports[0], ports[2]])).toBe(true);
    } finally {
      blocker.close();
    }
  }, 60_000);

  it('exits 1 when --nodes does not match the cluster its data dirs belong to, leaving no node running', async () => {
    const ports = await freeConsecutivePorts(5);
    const dir = newDir();
    const first = new ClusterStart(['--base-port', String(ports[0]), '--dir', dir]);
    await first.waitFor(/^ready: 3 nodes serving/m);
    // No data dir existed: a brand-new cluster, whose nodes may vote at once; the lines to restart with leave that out.
    expect(first.stderr).toMatch(/^cluster: .*adds --initial-cluster-state new to every node/m);
    expect(first.stderr.match(/^\[n\d\] command: /gm)).toHaveLength(3);
    expect(first.stderr).not.toMatch(/^\[n\d\] command: .*--initial-cluster-state/m);
    first.signal('SIGTERM');
    expect(await first.exited).toBe(0);

    // Another token: these data dirs belong to no cluster this run could name, so nothing grows and every node is refused.
    const second = new ClusterStart(['--base-port', String(ports[0]), '--dir', dir, '--nodes', '5', '--cluster-token', 'other']);
    expect(await second.exited).toBe(1);
    expect(second.stderr).toMatch(/exited \(code 1\): .*belongs to another cluster.*start with the same --nodes and --cluster-token/);
    expect(second.stderr).not.toMatch(/^ready:/m);
    // Some data dirs exist: nodes 4 and 5 are not taken for a new cluster (a missing dir beside others is a replaced disk).
    expect(second.stderr).toMatch(/^\[n5\] command: /m);
    expect(second.stderr).not.toMatch(/^\[n\d\] command: .*--initial-cluster-state/m);
    expect(await allFree(ports)).toBe(true);
  }, 90_000);

  it('grows a 3-node --dir to 5 with --nodes 5: the new nodes are added as learners, started with --join, promoted; a restart keeps all five', async () => {
    const ports = await freeConsecutivePorts(5);
    const dir = newDir();
    const first = new ClusterStart(['--base-port', String(ports[0]), '--dir', dir]);
    await first.waitFor(/^ready: 3 nodes serving/m);
    expect((await runCli(['submit', '-c', addressesOf(ports.slice(0, 3)), 'set', 'before', 'grow'])).stdout.trim()).toBe('OK');
    first.signal('SIGTERM');
    expect(await first.exited).toBe(0);

    const grown = new ClusterStart(['--base-port', String(ports[0]), '--dir', dir, '--nodes', '5']);
    await grown.waitFor(/^ready: 5 nodes serving/m, 60_000);
    expect(grown.stderr).toMatch(/was founded by 3 nodes: nodes 4, 5 will grow it/);
    expect(grown.stderr).toMatch(/^\[n4\] command: .* --join 127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+ --listen /m);
    const members = JSON.parse((await runCli(['member', 'list', '-c', addressesOf(ports), '--json'])).stdout) as { id: number; role: string }[];
    expect(members.map((member) => `${member.id}:${member.role}`).sort()).toEqual(['1:voter', '2:voter', '3:voter', '4:voter', '5:voter']);
    const rows = await waitForStatus(ports, (all) => all.length === 5 && all.every((row) => row.reachable && row.lastApplied === all[0].lastApplied));
    expect(rows.filter((row) => row.role === 'leader')).toHaveLength(1);
    expect((await runCli(['submit', '-c', addressesOf(ports), 'get', 'before'])).stdout.trim()).toBe('grow');
    grown.signal('SIGTERM');
    expect(await grown.exited).toBe(0);

    // The second start of the same five grows nothing: they are members already.
    const again = new ClusterStart(['--base-port', String(ports[0]), '--dir', dir, '--nodes', '5']);
    await again.waitFor(/^ready: 5 nodes serving/m, 60_000);
    expect(again.stderr).not.toMatch(/adding it as a learner/);
    expect((await runCli(['submit', '-c', addressesOf(ports), 'set', 'after', 'restart'])).stdout.trim()).toBe('OK');
    again.signal('SIGTERM');
    expect(await again.exited).toBe(0);
  }, 180_000);
});
