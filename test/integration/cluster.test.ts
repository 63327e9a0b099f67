// Three real `paxos node start` processes on loopback, driven through the CLI.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, TestCluster, type StatusRow } from './support.js';

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

function leaderOf(rows: StatusRow[]): number | undefined {
  return rows.find((row) => row.reachable && row.role === 'leader')?.id;
}

/** Writes key=value pairs through one `submit --stdin --json`; returns the JSON line of each. */
async function writeAll(c: TestCluster, pairs: [string, string][]): Promise<{ ok: boolean; slot?: number }[]> {
  const input = pairs.map(([key, value]) => `set ${key} ${value}`).join('\n');
  const result = await runCli(['submit', '--cluster', c.addresses, '--stdin', '--json'], { input });
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { ok: boolean; slot?: number });
}

describe('a three-node cluster', () => {
  it('keeps every acknowledged write through kill -9 of the leader and a restart', async () => {
    cluster = await TestCluster.create(3);
    await cluster.startAll();
    const acknowledged = new Map<string, string>();
    const first = Array.from({ length: 30 }, (_, i) => [`k${i}`, `v${i}`] as [string, string]);
    const firstResults = await writeAll(cluster, first);
    first.forEach((pair, i) => firstResults[i].ok && acknowledged.set(...pair));
    expect(acknowledged.size).toBe(30);

    const before = await cluster.waitFor((rows) => leaderOf(rows) !== undefined);
    const oldLeader = leaderOf(before)!;
    await cluster.kill9(oldLeader);

    // Writes go on: the client finds the new leader by itself.
    const second = Array.from({ length: 30 }, (_, i) => [`k${i + 30}`, `w${i}`] as [string, string]);
    const secondResults = await writeAll(cluster, second);
    second.forEach((pair, i) => secondResults[i].ok && acknowledged.set(...pair));
    expect(secondResults.every((r) => r.ok)).toBe(true);
    // A new leader, not just "not the old one" (which no leader at all would also pass).
    const during = await cluster.waitFor((rows) => leaderOf(rows) !== undefined);
    expect(leaderOf(during)).toBeDefined();
    expect(leaderOf(during)).not.toBe(oldLeader);

    // Restarted right after kill -9: it waits out the stale lock, recovers, and catches up.
    const restarted = await cluster.start(oldLeader, { waitMs: 30_000 });
    const converged = await cluster.waitFor((rows) => {
      const applied = new Set(rows.map((row) => row.lastApplied));
      return rows.every((row) => row.reachable) && applied.size === 1 && rows[0].lastApplied! >= 60;
    });
    expect(new Set(converged.map((row) => row.appliedDigest)).size).toBe(1);
    expect(converged[0].appliedDigest).toMatch(/^[0-9a-f]{32}$/);
    expect(restarted.log.join('\n')).toMatch(/recovered write-ahead log/);

    const reads = [...acknowledged.keys()].map((key) => `get ${key}`).join('\n');
    const readResult = await runCli(['submit', '--cluster', cluster.addresses, '--stdin', '--json'], { input: reads });
    const values = readResult.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { result: string }).result);
    expect(values).toEqual([...acknowledged.values()]);
  }, 120_000);

  it('refuses a second node on the same data dir at once', async () => {
    cluster = await TestCluster.create(3);
    await cluster.start(1);
    const started = Date.now();
    const second = await runCli(['node', 'start', '--id', '1', '--peers', cluster.peers, '--data-dir', cluster.dataDir(1)], { timeoutMs: 10_000 });
    expect(second.code).not.toBe(0);
    expect(second.stderr).toMatch(/in use by another paxos node \(pid \d+\)/);
    expect(Date.now() - started).toBeLessThan(8_000);
  }, 30_000);

  it('closes connections that send garbage or an oversized frame, and keeps serving', async () => {
    cluster = await TestCluster.create(3);
    await cluster.startAll();
    const port = cluster.ports[0];

    const garbage = await sendRaw(port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(garbage.closed).toBe(true);
    const oversized = Buffer.alloc(8);
    oversized.writeUInt32BE(0xffff_fff0, 0);
    const tooLarge = await sendRaw(port, oversized);
    expect(tooLarge.closed).toBe(true);
    expect(tooLarge.received.toString('latin1')).toContain('frame_too_large');
    const random = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256));
    expect((await sendRaw(port, random)).closed).toBe(true);

    const result = await cluster.submit(['set', 'after', 'garbage']);
    expect(result.stdout.trim()).toBe('OK');
    expect((await cluster.submit(['get', 'after'])).stdout.trim()).toBe('garbage');
    const node = cluster.nodes.get(1)!;
    expect(node.child.exitCode).toBeNull();
    expect(node.log.join('\n')).toMatch(/closing connection/);
  }, 60_000);
});

/** Sends bytes on a fresh connection and reports whether the node closed it (within 3 s). */
function sendRaw(port: number, bytes: Buffer): Promise<{ closed: boolean; received: Buffer }> {
  return new Promise((done) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(bytes));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => undefined);
    const timer = setTimeout(() => {
      socket.destroy();
      done({ closed: false, received: Buffer.concat(chunks) });
    }, 3_000);
    socket.on('close', () => {
      clearTimeout(timer);
      done({ closed: true, received: Buffer.concat(chunks) });
    });
  });
}
