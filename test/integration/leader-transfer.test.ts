// `paxos leader transfer` with real processes: leadership moves while clients
// keep writing. The command exits 0 with the target leading, no write fails
// (commands caught by the handover are retried by the client, at most once
// by their sessions), and every acknowledged write is there afterwards.
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/index.js';
import { runCli, TestCluster } from './support.js';

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

async function leaderId(c: TestCluster): Promise<number> {
  const rows = await c.waitFor((r) => r.some((row) => row.role === 'leader'));
  return rows.find((row) => row.role === 'leader')!.id!;
}

describe('leader transfer', () => {
  it('moves leadership under load: exit 0, the target leads, no command fails, every acknowledged write is present', async () => {
    const c = await TestCluster.create(3);
    cluster = c;
    await c.startAll();
    const before = await leaderId(c);
    const acknowledged = new Map<string, string>();
    const failures: string[] = [];
    let running = true;
    const writer = async (name: string) => {
      const client = connect(c.addresses, { timeoutMs: 5_000 });
      try {
        for (let i = 0; running; i += 1) {
          const key = `${name}-${i}`;
          const outcome = await client.submit(['set', key, String(i)]);
          if (outcome.status === 'applied') acknowledged.set(key, String(i));
          else failures.push(`${key}: ${JSON.stringify(outcome)}`);
        }
      } finally {
        client.close();
      }
    };
    const writers = [writer('a'), writer('b'), writer('c')];
    await new Promise((done) => setTimeout(done, 500));

    const target = before === 1 ? 2 : 1;
    const moved = await runCli(['leader', 'transfer', '--to', String(target), '--cluster', c.addresses, '--json']);
    expect(moved.code, moved.stderr).toBe(0);
    expect(JSON.parse(moved.stdout)).toMatchObject({ exitCode: 0, outcome: 'done', from: before, to: target });
    await c.waitFor((rows) => rows.some((row) => row.id === target && row.role === 'leader'), 5_000);
    await c.waitForLog(before, new RegExp(`transferring leadership to node ${target}`));
    await c.waitForLog(before, /leadership transferred/);

    // Again, to whichever voter is most caught up, in plain text.
    await new Promise((done) => setTimeout(done, 300));
    const again = await runCli(['leader', 'transfer', '--cluster', c.addresses]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^leadership transferred: node \d leads at ballot \d+\.\d \(was node \d\)/);

    // A node that is not a member: certainly not transferred, with the reason.
    const refused = await runCli(['leader', 'transfer', '--to', '9', '--cluster', c.addresses]);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/node 9 is not a member/);

    await new Promise((done) => setTimeout(done, 300));
    running = false;
    await Promise.all(writers);
    expect(failures).toEqual([]);
    expect(acknowledged.size).toBeGreaterThan(30);
    const reader = connect(c.addresses, { timeoutMs: 5_000 });
    try {
      for (const [key, value] of acknowledged) {
        const read = await reader.query(['get', key]);
        expect(read.status === 'applied' ? read.result : read, key).toBe(value);
      }
    } finally {
      reader.close();
    }
  }, 120_000);
});
