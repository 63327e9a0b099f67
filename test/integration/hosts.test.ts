// A three-node cluster across separate hosts: one network namespace per node,
// each with its own address on a private bridge (scripts/hosts/netns.sh). The
// leader's host is cut off (its link down) and healed, a follower's process is
// paused, and a member moves to a new host with `paxos member replace`.
// Needs root and iproute2 (ip netns, veth, bridges); without them it fails saying so.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binary, runCli, tempDir, type StatusRow } from './support.js';

const script = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/hosts/netns.sh');
/** The bed's name: unique per run, at most 8 of [a-z0-9]. */
const bed = `it${process.pid % 1_000_000}`;
const port = 7401;
const childEnv = { ...process.env, NODE_ENV: 'production', NO_COLOR: '1' };

function netns(...args: string[]): string {
  return execFileSync('bash', [script, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

const children = new Map<string, { child: ChildProcess; log: string[] }>();
const dir = tempDir();
let made = false;

/** Starts `paxos node start ARGS` inside host `host`; `name` keys it for logs and kills. */
function startNode(name: string, host: number, args: string[]): ChildProcess {
  // netns.sh exec ends in `exec ip netns exec ...`, which execs node: the child's pid is the node's.
  const child = spawn('bash', [script, 'exec', bed, String(host), process.execPath, binary, 'node', 'start', ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => log.push(...chunk.toString().split('\n').filter(Boolean)));
  children.set(name, { child, log });
  return child;
}

const logs = () => [...children].map(([name, { log }]) => `--- ${name}\n${log.slice(-15).join('\n')}`).join('\n');

async function status(addresses: string): Promise<StatusRow[]> {
  const result = await runCli(['status', '-c', addresses, '--json', '--timeout', '1s']);
  return result.stdout === '' ? [] : (JSON.parse(result.stdout) as StatusRow[]);
}

async function waitStatus(addresses: string, check: (rows: StatusRow[]) => boolean, timeoutMs = 30_000): Promise<StatusRow[]> {
  const deadline = Date.now() + timeoutMs;
  let rows: StatusRow[] = [];
  while (Date.now() < deadline) {
    rows = await status(addresses);
    if (check(rows)) return rows;
    await new Promise((done) => setTimeout(done, 300));
  }
  throw new Error(`status never matched: ${JSON.stringify(rows)}\n${logs()}`);
}

const submit = async (addresses: string, words: string[]) => (await runCli(['submit', '-c', addresses, '--timeout', '15s', ...words], { timeoutMs: 30_000 })).stdout.trim();

beforeAll(() => {
  try {
    netns('up', bed, '4');
    made = true;
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? (error as Error).message);
    throw new Error(`could not make the network-namespace test bed (it needs root and iproute2's ip netns, veth and bridges): ${stderr.trim()}`);
  }
});

afterAll(() => {
  for (const { child } of children.values()) child.kill('SIGKILL');
  // Kills whatever still runs in the hosts, then removes them and the bridge.
  if (made) netns('down', bed);
  rmSync(dir, { recursive: true, force: true });
});

describe('a cluster across network namespaces', () => {
  it('elects a new leader when the leader\'s host is cut off, converges after the heal, rides out a paused process, and moves a member to a new host', async () => {
    const address = (host: number) => `${netns('addr', bed, String(host))}:${port}`;
    const peers = [1, 2, 3].map((id) => `${id}=${address(id)}`).join(',');
    for (const id of [1, 2, 3]) {
      // Node 3 listens on every interface of its host and is dialled at the address in --peers.
      const listen = id === 3 ? ['--listen', `0.0.0.0:${port}`] : [];
      startNode(`n${id}`, id, ['--id', String(id), '--peers', peers, ...listen, '--data-dir', join(dir, `n${id}`), '--initial-cluster-state', 'new']);
    }
    let cluster = [1, 2, 3].map(address).join(',');
    const rows = await waitStatus(cluster, (all) => all.length === 3 && all.every((row) => row.reachable) && all.some((row) => row.role === 'leader'));
    await expect(submit(cluster, ['set', 'a', '1'])).resolves.toBe('OK');

    // The leader's host is cut off: nobody hears it, and the two others elect a new leader.
    const oldLeader = rows.find((row) => row.role === 'leader')!.id as number;
    netns('cut', bed, String(oldLeader));
    await waitStatus(cluster, (all) => all.some((row) => row.reachable && row.role === 'leader' && row.id !== oldLeader));
    await expect(submit(cluster, ['set', 'b', '2'])).resolves.toBe('OK');

    // Healed: the old leader follows again and catches up.
    netns('heal', bed, String(oldLeader));
    await waitStatus(cluster, (all) => all.length === 3 && all.every((row) => row.reachable && row.lastApplied === all[0].lastApplied) && all.filter((row) => row.role === 'leader').length === 1);
    const verified = await runCli(['submit', '-c', cluster, '--timeout', '15s', 'get', 'b', '--verify']);
    expect(verified.stdout.trim()).toBe('2');
    expect(verified.stderr).toMatch(/verified: 3 of 3 replicas/);

    // A follower's process paused (SIGSTOP) and resumed: the others serve meanwhile.
    const leaderNow = (await status(cluster)).find((row) => row.role === 'leader')!.id as number;
    const follower = [1, 2, 3].find((id) => id !== leaderNow)!;
    children.get(`n${follower}`)!.child.kill('SIGSTOP');
    await expect(submit(cluster, ['set', 'c', '3'])).resolves.toBe('OK');
    children.get(`n${follower}`)!.child.kill('SIGCONT');

    // Node 3's machine dies; it is replaced by one on host 4, at a new address.
    const moved = 3;
    children.get(`n${moved}`)!.child.kill('SIGKILL');
    const survivors = [1, 2].map(address).join(',');
    // Node 3 may have been the leader: the change needs a leader among the survivors.
    await waitStatus(survivors, (all) => all.some((row) => row.reachable && row.role === 'leader'));
    const replaced = await runCli(['member', 'replace', String(moved), '--address', address(4), '-c', cluster]);
    expect(replaced.code, replaced.stderr).toBe(0);
    startNode('n3-moved', 4, ['--id', String(moved), '--join', survivors, '--listen', address(4), '--data-dir', join(dir, 'n3-moved')]);
    cluster = [1, 2, 4].map(address).join(',');
    await waitStatus(cluster, (all) => all.length === 3 && all.every((row) => row.reachable && row.member === 'voter' && row.lastApplied === all[0].lastApplied), 60_000);
    const members = JSON.parse((await runCli(['member', 'list', '-c', cluster, '--json'])).stdout) as { id: number; role: string; address: string }[];
    expect(members.find((member) => member.id === moved)).toMatchObject({ role: 'voter', address: address(4) });
    await expect(submit(cluster, ['set', 'd', '4'])).resolves.toBe('OK');
    const after = await runCli(['submit', '-c', cluster, '--timeout', '15s', 'get', 'a', '--verify']);
    expect(after.stdout.trim()).toBe('1');
    expect(after.stderr).toMatch(/verified: 3 of 3 replicas/);
  }, 240_000);
});
