// Reads without the log, end to end: `paxos submit get` (linearizable by
// default), `--consistency local|log`, `--query` for a user state machine's
// query export, and the library API's query().
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, startNode, type RunningNode, type StateMachine } from '../../src/index.js';
import { freePorts, runCli, tempDir, TestCluster } from './support.js';

const clusters: TestCluster[] = [];

afterEach(async () => {
  await Promise.all(clusters.splice(0).map((cluster) => cluster.stopAll()));
});

async function started(extraFlags: string[] = [], root = tempDir()): Promise<TestCluster> {
  const cluster = new TestCluster(await freePorts(3), root, extraFlags);
  clusters.push(cluster);
  await cluster.startAll();
  return cluster;
}

const counterSource = `
export const name = 'test-counter';
export const version = '1';
export default function createCounter() {
  let count = 0;
  return {
    apply(command) {
      if (command[0] === 'add') return (count += Number(command[1]));
      throw new Error('unknown verb ' + command[0]);
    },
    query(command) {
      if (command[0] === 'count') return count;
      throw new Error('unknown query ' + command[0]);
    },
    snapshot: () => new TextEncoder().encode(String(count)),
    restore(bytes) { count = Number(new TextDecoder().decode(bytes)); },
  };
}
`;

describe('paxos submit reads', () => {
  it('reads a get without the log by default, through it with --consistency log, and from the contacted replica with local', async () => {
    const cluster = await started();
    expect((await cluster.submit(['set', 'x', '1'])).code).toBe(0);
    const linearizable = await cluster.submit(['--json', 'get', 'x']);
    expect(linearizable.code, linearizable.stderr).toBe(0);
    expect(JSON.parse(linearizable.stdout)).toMatchObject({ ok: true, result: '1', consistency: 'linearizable' });
    const logged = await cluster.submit(['--json', '--consistency', 'log', 'get', 'x']);
    const loggedLine = JSON.parse(logged.stdout) as Record<string, unknown>;
    expect(loggedLine).toMatchObject({ ok: true, result: '1' });
    expect(loggedLine).not.toHaveProperty('consistency');
    // Through the log, the read took a slot of its own after the set's.
    const before = JSON.parse(linearizable.stdout) as { slot: number };
    expect(loggedLine.slot as number).toBeGreaterThan(before.slot);

    // A local read from each node, in turn the first address: it says it may be stale, and its applied slot.
    const rows = await cluster.waitFor((status) => status.every((row) => row.reachable && row.lastApplied >= (loggedLine.slot as number)));
    for (const row of rows) {
      const local = await runCli(['submit', '--cluster', `127.0.0.1:${cluster.ports[row.id - 1]}`, '--json', '--consistency', 'local', 'get', 'x']);
      expect(local.code, local.stderr).toBe(0);
      const line = JSON.parse(local.stdout) as Record<string, unknown>;
      expect(line).toMatchObject({ ok: true, result: '1', consistency: 'local', stale: true, address: `127.0.0.1:${cluster.ports[row.id - 1]}` });
      expect(line.appliedSlot as number).toBeGreaterThanOrEqual(loggedLine.slot as number);
      expect(line.knownChosenSlot as number).toBeGreaterThanOrEqual(line.appliedSlot as number);
    }
    const text = await cluster.submit(['--consistency', 'local', 'get', 'x']);
    expect(text.stdout.trim()).toBe('1');
    expect(text.stderr).toMatch(/local read of 127\.0\.0\.1:\d+, which may be stale: its state at applied slot \d+/);
    // --consistency applies to reads; a command always goes through the log.
    const misuse = await cluster.submit(['--consistency', 'local', 'set', 'x', '2']);
    expect(misuse.code).toBe(2);
    expect(misuse.stderr).toMatch(/--consistency local applies to reads/);
    const notARead = await cluster.submit(['--query', 'set', 'x', '2']);
    expect(notARead.code).toBe(2);
    expect(notARead.stderr).toMatch(/--query takes a read/);
  }, 120_000);

  it("answers --query from a user state machine's query export, without the log", async () => {
    const root = tempDir();
    const path = join(root, 'counter.mjs');
    writeFileSync(path, counterSource);
    const cluster = await started(['--state-machine', path], root);
    expect((await cluster.submit(['add', '5'])).stdout.trim()).toBe('5');
    const read = await cluster.submit(['--json', '--query', 'count']);
    expect(read.code, read.stderr).toBe(0);
    const line = JSON.parse(read.stdout) as { result: unknown; slot: number; consistency: string };
    expect(line).toMatchObject({ ok: true, result: 5, consistency: 'linearizable' });
    // A second read sees the same applied slot: nothing was written for the first.
    const again = JSON.parse((await cluster.submit(['--json', '--query', 'count'])).stdout) as { slot: number };
    expect(again.slot).toBe(line.slot);
    const refused = await cluster.submit(['--query', 'nope']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/unknown query nope/);
  }, 120_000);
});

describe('the library API: query()', () => {
  it('reads linearizably, locally, and through the log; a machine without query refuses at once', async () => {
    const root = tempDir();
    const ports = await freePorts(3);
    const peers = new Map(ports.map((port, index) => [index + 1, { host: '127.0.0.1', port }]));
    // Every node its own state (they run in this one process).
    const factories = [1, 2, 3].map(() => {
      let own = 0;
      return (): StateMachine => ({
        apply: (command) => (own += Number((command as unknown[])[1])),
        query: () => own,
        snapshot: () => new TextEncoder().encode(String(own)),
        restore: (bytes) => {
          own = Number(new TextDecoder().decode(bytes));
        },
      });
    });
    const nodes: RunningNode[] = [];
    const client = connect(ports.map((port) => `127.0.0.1:${port}`), { timeoutMs: 20_000 });
    try {
      for (const id of [1, 2, 3]) nodes.push(await startNode({ id, peers, dataDir: join(root, `n${id}`), stateMachine: factories[id - 1], stateMachineIdentity: 'counter@1' }));
      expect(await client.submit(['add', 2])).toMatchObject({ status: 'applied', result: 2 });
      expect(await client.query(['count'])).toMatchObject({ status: 'applied', result: 2, read: { consistency: 'linearizable' } });
      expect(await client.query(['count'], { consistency: 'log' })).toMatchObject({ status: 'applied' });
      const local = await client.query(['count'], { consistency: 'local' });
      expect(local).toMatchObject({ status: 'applied', read: { consistency: 'local' } });
    } finally {
      client.close();
      await Promise.all(nodes.map((node) => node.stop()));
      rmSync(root, { recursive: true, force: true });
    }
    const bare = tempDir();
    const [port] = await freePorts(1);
    const node = await startNode({ id: 1, peers: new Map([[1, { host: '127.0.0.1', port }]]), dataDir: join(bare, 'n1'), stateMachine: () => ({ apply: () => 1, snapshot: () => new Uint8Array(), restore: () => undefined }), stateMachineIdentity: 'noquery@1' });
    const one = connect(`127.0.0.1:${port}`, { timeoutMs: 10_000 });
    try {
      expect(await one.query(['anything'])).toMatchObject({ status: 'not_applied', code: 'rejected', error: expect.stringMatching(/has no query/) });
    } finally {
      one.close();
      await node.stop();
      rmSync(bare, { recursive: true, force: true });
    }
  }, 120_000);
});
