// User state machines (`--state-machine`), end to end: real node processes
// running a module the test writes, driven through `paxos submit`; and the
// library API (startNode + connect) in this process.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, startNode, type RunningNode, type StateMachine } from '../../src/index.js';
import { freePorts, runCli, tempDir, TestCluster, type CliResult, type StatusRow } from './support.js';

const clusters: TestCluster[] = [];

afterEach(async () => {
  await Promise.all(clusters.splice(0).map((cluster) => cluster.stopAll()));
});

/**
 * A list that commands append to: ["push", WORD] returns the new length,
 * ["list"] the words in order, ["pid"] this replica's process id (not
 * deterministic, on purpose), ["boom"] throws, ["bug"] fails with a TypeError.
 */
const listMachineSource = `
export const name = 'test-list';
export const version = '1';
export default function createList() {
  let words = [];
  return {
    apply(command) {
      const [verb, word] = command;
      if (verb === 'push') return words.push(word);
      if (verb === 'list') return words;
      if (verb === 'pid') return process.pid;
      if (verb === 'boom') throw new Error('boom: refused on purpose');
      if (verb === 'bug') return command.missing.field;
      throw new Error('unknown verb ' + verb);
    },
    snapshot: () => new TextEncoder().encode(JSON.stringify(words)),
    restore(bytes) { words = JSON.parse(new TextDecoder().decode(bytes)); },
  };
}
`;

/** A three-node cluster whose nodes run `source` (written to the cluster's temp dir). */
async function userCluster(source = listMachineSource, flags: string[] = []): Promise<TestCluster> {
  const root = tempDir();
  const path = join(root, 'machine.mjs');
  writeFileSync(path, source);
  const cluster = new TestCluster(await freePorts(3), root, ['--state-machine', path, ...flags]);
  clusters.push(cluster);
  return cluster;
}

interface Line {
  ok: boolean;
  result?: unknown;
  error?: string;
  refused?: boolean;
  slot?: number;
  verify?: { verdict: string; agreeing: number; replicas: number; votes: { digest?: string }[] };
}

/** Runs `paxos submit --stdin --json` with one command per line; returns the parsed lines. */
async function submitLines(cluster: TestCluster, lines: string[], extra: string[] = []): Promise<Line[]> {
  const result = await runCli(['submit', '--cluster', cluster.addresses, '--stdin', '--json', '--timeout', '20s', ...extra], {
    input: lines.join('\n'),
    timeoutMs: 120_000,
  });
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Line);
}

async function submitJson(cluster: TestCluster, words: string[], extra: string[] = []): Promise<{ cli: CliResult; line: Line }> {
  const cli = await cluster.submit(words, ['--json', ...extra]);
  return { cli, line: JSON.parse(cli.stdout) as Line };
}

function leaderOf(rows: StatusRow[]): number {
  const leader = rows.find((row) => row.reachable && row.role === 'leader')?.id;
  if (leader === undefined) throw new Error('no leader');
  return leader;
}

function converged(rows: StatusRow[], minApplied: number): boolean {
  const applied = new Set(rows.map((row) => row.lastApplied));
  return rows.every((row) => row.reachable) && applied.size === 1 && rows[0].lastApplied! >= minApplied;
}

/** oclif wraps an error message to the terminal width, prefixing lines with ›. */
const unwrapped = (text: string) => text.replace(/\s*\n\s*(›\s*)?/g, ' ');

const pushes = (from: number, count: number) => Array.from({ length: count }, (_, i) => `push w${from + i}`);

describe('a user state machine on three node processes', () => {
  it('is replicated through kill -9 of the leader, and the restarted node computes the same outcomes', async () => {
    const cluster = await userCluster();
    await cluster.startAll();
    const first = await submitLines(cluster, pushes(0, 20));
    expect(first.map((line) => line.result)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));

    const rows = await cluster.waitFor((r) => r.some((row) => row.role === 'leader'));
    expect(rows.map((row) => row.stateMachine)).toEqual(['test-list@1', 'test-list@1', 'test-list@1']);
    const oldLeader = leaderOf(rows);
    await cluster.kill9(oldLeader);
    const second = await submitLines(cluster, pushes(20, 20));
    expect(second.map((line) => line.result)).toEqual(Array.from({ length: 20 }, (_, i) => i + 21));

    await cluster.start(oldLeader, { waitMs: 30_000 });
    await cluster.waitFor((r) => converged(r, 40), 30_000);
    const { cli, line } = await submitJson(cluster, ['list'], ['--verify']);
    expect(cli.code, cli.stderr).toBe(0);
    expect(line.result).toEqual(pushes(0, 40).map((text) => text.split(' ')[1]));
    expect(line.verify).toMatchObject({ verdict: 'agree', agreeing: 3, replicas: 3 });
  }, 120_000);

  it('snapshots it, and a wiped follower catches up by snapshot and answers the same', async () => {
    const cluster = await userCluster(listMachineSource, ['--snapshot-every', '20']);
    await cluster.startAll();
    await submitLines(cluster, pushes(0, 30));
    const leader = leaderOf(await cluster.waitFor((r) => r.some((row) => row.role === 'leader')));
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    await cluster.kill9(follower);
    rmSync(cluster.dataDir(follower), { recursive: true, force: true });
    await submitLines(cluster, pushes(30, 30));
    await cluster.waitFor((r) => r.filter((row) => row.reachable && (row.lastSnapshot as number) >= 40).length === 2);

    await cluster.start(follower, { waitMs: 30_000 });
    await cluster.waitForLog(follower, /installed a snapshot from a peer/, 30_000);
    await cluster.waitFor((r) => converged(r, 60), 30_000);
    const { cli, line } = await submitJson(cluster, ['list'], ['--verify']);
    expect(cli.code, cli.stderr).toBe(0);
    expect((line.result as string[]).length).toBe(60);
    expect(line.verify).toMatchObject({ verdict: 'agree', agreeing: 3, replicas: 3 });
  }, 120_000);

  it('refuses a command the machine throws on, the same on every replica, and goes on', async () => {
    const cluster = await userCluster();
    await cluster.startAll();
    const boom = await cluster.submit(['boom'], ['--verify']);
    expect(boom.code).toBe(3);
    expect(boom.stderr).toContain('boom: refused on purpose');
    expect(boom.stderr).toMatch(/verified: 3 of 3 replicas/);
    const bug = await submitJson(cluster, ['bug'], ['--verify']);
    expect(bug.cli.code).toBe(3);
    expect(bug.line).toMatchObject({ ok: false, refused: true, error: expect.stringMatching(/^TypeError: Cannot read properties of undefined/) });
    expect(bug.line.verify?.verdict).toBe('agree');

    const after = await cluster.submit(['push', 'still-here']);
    expect(after.stdout.trim()).toBe('1');
    expect([...cluster.nodes.values()].every((node) => node.child.exitCode === null)).toBe(true);
  }, 60_000);

  it('gives the words as an array of strings, and --json-command any JSON value', async () => {
    const echo = `export default () => ({ apply: (c) => ({ got: c }), snapshot: () => new Uint8Array(), restore() {} });`;
    const cluster = await userCluster(echo);
    await cluster.startAll();
    const words = await submitJson(cluster, ['Deposit', 'alice', '10']);
    expect(words.line.result).toEqual({ got: ['Deposit', 'alice', '10'] });
    const json = await submitJson(cluster, [], ['--json-command', '{"deposit":{"to":"alice","amount":10}}']);
    expect(json.line.result).toEqual({ got: { deposit: { to: 'alice', amount: 10 } } });
    const misuse = await cluster.submit(['set', 'x', '1'], ['--json-value']);
    expect(misuse.code).toBe(2);
    expect(unwrapped(misuse.stderr)).toMatch(/--json-value applies to the built-in key-value store, but the cluster runs sha256:[0-9a-f]{16}: use --json-command/);
  }, 60_000);

  it('refuses a node restarted with a different state machine: at start-up on its data dir, and by its peers, naming both', async () => {
    const same = await userCluster();
    await same.startAll();
    expect((await submitLines(same, ['push a'])).map((line) => line.result)).toEqual([1]);
    const node3 = same.nodes.get(3)!;
    node3.child.kill('SIGTERM');
    expect(await node3.exited).toBe(0);

    const otherPath = join(same.root, 'other.mjs');
    writeFileSync(otherPath, listMachineSource.replace("name = 'test-list'", "name = 'other-list'"));
    // On its own data dir, node 3 refuses at start-up: its log was applied to test-list@1.
    const onOwnDir = await runCli(['node', 'start', '--id', '3', '--peers', same.peers, '--data-dir', same.dataDir(3), '--state-machine', otherPath, '--log-format', 'json']);
    expect(onOwnDir.code).toBe(1);
    expect(onOwnDir.stderr).toMatch(/"code":"WRONG_STATE_MACHINE"/);
    expect(onOwnDir.stderr).toMatch(/holds a log applied to state machine test-list@1, but this node was started with state machine other-list@1/);
    expect(onOwnDir.stderr).toMatch(/Start it with the state machine it was created with/);
    expect(onOwnDir.stderr).not.toMatch(/node started/);

    // On an empty data dir it starts, and its peers refuse it.
    const odd = new TestCluster(same.ports, tempDir(), ['--state-machine', otherPath]);
    clusters.push(odd);
    await odd.start(3);
    await odd.waitForLog(3, /peer refused our connection.*wrong_state_machine/);
    await same.waitForLog(1, /closing connection.*wrong_state_machine/);
    const refusedLine = odd.nodes.get(3)!.log.find((line) => line.includes('peer refused our connection'))!;
    expect(refusedLine).toMatch(/node 3 runs state machine other-list@1 but node [12] runs test-list@1/);
    const closingLine = same.nodes.get(1)!.log.find((line) => line.includes('wrong_state_machine'))!;
    expect(closingLine).toMatch(/node 3 runs state machine other-list@1 but node 1 runs test-list@1/);
    expect((await submitLines(same, ['push b'])).map((line) => line.result)).toEqual([2]);
    const rows = await same.status();
    expect(rows[2]).toMatchObject({ reachable: true, stateMachine: 'other-list@1' });
    expect(rows[2].lastApplied).toBeLessThan(rows[0].lastApplied!);
  }, 60_000);
});

describe('paxos node start --state-machine', () => {
  it('refuses a module that is not a state machine, exit 2, naming it', async () => {
    const root = tempDir();
    try {
      const path = join(root, 'half.mjs');
      writeFileSync(path, 'export default () => ({ apply() {}, snapshot() {} });');
      const [port] = await freePorts(1);
      const args = ['node', 'start', '--id', '1', '--peers', `1=127.0.0.1:${port}`, '--data-dir', join(root, 'n1')];
      const half = await runCli([...args, '--state-machine', path], { timeoutMs: 20_000 });
      expect(half.code).toBe(2);
      expect(unwrapped(half.stderr)).toMatch(/state machine .*half\.mjs: the state machine has no restore function/);
      const missing = await runCli([...args, '--state-machine', join(root, 'nowhere.mjs')], { timeoutMs: 20_000 });
      expect(missing.code).toBe(2);
      expect(unwrapped(missing.stderr)).toMatch(/cannot read state machine module .*nowhere\.mjs.*no such file/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('paxos submit --verify', () => {
  it('reports disagreement loudly, exit 6, when the replicas computed different results from the same state', async () => {
    const cluster = await userCluster();
    await cluster.startAll();
    const text = await cluster.submit(['pid'], ['--verify']);
    expect(text.code).toBe(6);
    expect(text.stderr).toMatch(/^DISAGREEMENT: the replicas computed different outcomes for slot \d+; only 1 of 3 replicas agree/m);
    expect(text.stderr).toMatch(/DIFFERS/);
    const { cli, line } = await submitJson(cluster, ['pid'], ['--verify']);
    expect(cli.code).toBe(6);
    expect(line.ok).toBe(true);
    expect(line.verify?.verdict).toBe('disagree');
    expect(new Set(line.verify?.votes.map((vote) => vote.digest)).size).toBe(3);
    // The state is untouched by pid: a deterministic command still agrees.
    const list = await submitJson(cluster, ['list'], ['--verify']);
    expect(list.cli.code).toBe(0);
    expect(list.line.verify?.verdict).toBe('agree');
  }, 60_000);

  it('exits 6 at the end of --stdin when any line disagreed, and reports every line', async () => {
    const cluster = await userCluster();
    await cluster.startAll();
    const result = await runCli(['submit', '--cluster', cluster.addresses, '--stdin', '--json', '--verify'], { input: 'push a\npid\npush b\n' });
    expect(result.code).toBe(6);
    const verdicts = result.stdout.trim().split('\n').map((line) => (JSON.parse(line) as Line).verify?.verdict);
    expect(verdicts).toEqual(['agree', 'disagree', 'agree']);
  }, 60_000);
});

describe('the library API', () => {
  /** The list machine again, as code: the same behaviour in every node of this process. */
  function createList(): StateMachine {
    let words: string[] = [];
    return {
      apply: (command) => {
        const [verb, word] = command as [string, string];
        if (verb !== 'push') throw new Error(`unknown verb ${verb}`);
        return words.push(word);
      },
      snapshot: () => new TextEncoder().encode(JSON.stringify(words)),
      restore: (bytes) => {
        words = JSON.parse(new TextDecoder().decode(bytes)) as string[];
      },
    };
  }

  it('starts nodes in-process and submits with leader discovery, sessions and voting', async () => {
    const ports = await freePorts(3);
    const root = tempDir();
    const peers = new Map(ports.map((port, index) => [index + 1, { host: '127.0.0.1', port }]));
    const nodes: RunningNode[] = [];
    const client = connect(ports.map((port) => `127.0.0.1:${port}`), { verify: true, timeoutMs: 15_000 });
    try {
      for (const id of [1, 2, 3]) nodes.push(await startNode({ id, peers, dataDir: join(root, `n${id}`), stateMachine: createList, stateMachineIdentity: 'list@1' }));
      expect(await client.stateMachine()).toBe('list@1');
      const first = await client.submit(['push', 'a']);
      expect(first).toMatchObject({ status: 'applied', result: 1, verification: { verdict: 'agree', agreeing: 3, replicas: 3 } });
      const refused = await client.submit(['pop'], { verify: false });
      expect(refused).toMatchObject({ status: 'refused', error: 'unknown verb pop' });
      expect(refused).not.toHaveProperty('verification');
      const second = await client.submit(['push', 'b'], { verify: false });
      expect(second).toMatchObject({ status: 'applied', result: 2 });
      if (second.status === 'applied') expect(await client.verify(second.slot, second.address)).toMatchObject({ verdict: 'agree', agreeing: 3 });
      const statuses = await client.status();
      expect(statuses.map((report) => report.reachable && report.status.stateMachine)).toEqual(['list@1', 'list@1', 'list@1']);
    } finally {
      client.close();
      await Promise.all(nodes.map((node) => node.stop()));
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('paxos submit when no node answers', () => {
  it('reports the real reason, exit 4, not a usage error about the words (nothing listening)', async () => {
    const [port] = await freePorts(1);
    const one = await runCli(['submit', '-c', `127.0.0.1:${port}`, 'deposit', 'alice', '1']);
    expect(one.code).toBe(4);
    expect(one.stderr).toMatch(new RegExp(`error: no node reachable \\(tried 127\\.0\\.0\\.1:${port}\\): .*ECONNREFUSED`));
    expect(one.stderr).toMatch(/hint: Is the cluster running\? Start a local one with `npx paxos cluster start`/);
    expect(one.stderr).not.toMatch(/unknown command/);

    const lines = await runCli(['submit', '-c', `127.0.0.1:${port}`, '--stdin', '--json'], { input: 'deposit alice 1\nbalance alice\n' });
    expect(lines.code).toBe(0);
    const parsed = lines.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed).toHaveLength(2);
    for (const line of parsed) {
      expect(line).toMatchObject({ ok: false, indeterminate: false, code: 'no_node_reachable', tried: [`127.0.0.1:${port}`] });
      expect(line.error).toMatch(/no node reachable/);
    }
  }, 60_000);

  it('reports a node that refuses the handshake (no secret) as not applied, exit 4, naming the cause', async () => {
    const root = tempDir();
    const secretFile = join(root, 'secret');
    writeFileSync(secretFile, 'a-secret-of-at-least-sixteen-bytes\n', { mode: 0o600 });
    const machine = join(root, 'machine.mjs');
    writeFileSync(machine, listMachineSource);
    const cluster = new TestCluster(await freePorts(1), root, ['--state-machine', machine, '--secret-file', secretFile]);
    clusters.push(cluster);
    await cluster.start(1);
    const refused = await runCli(['submit', '-c', cluster.addresses, 'push', 'a']);
    expect(refused.code).toBe(4);
    expect(unwrapped(refused.stderr)).toMatch(/no node reachable .*requires a shared secret and this side has none/);
    const json = await runCli(['submit', '-c', cluster.addresses, '--json', 'push', 'a']);
    expect(json.code).toBe(4);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, code: 'no_node_reachable', indeterminate: false });
    // With the secret the same words reach the user's machine.
    const ok = await runCli(['submit', '-c', cluster.addresses, '--secret-file', secretFile, 'push', 'a']);
    expect(ok.stdout.trim()).toBe('1');
  }, 60_000);
});
