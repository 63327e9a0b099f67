// `paxos status` from one address (issue 12, item 6): every member is found
// through the configuration, each row says voter or learner, and a node whose
// view of the members disagrees with the leader's (a removed member still
// running) is flagged with what to do.
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, TestCluster } from './support.js';

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

interface Row {
  address: string;
  reachable: boolean;
  id?: number;
  member?: string;
  role?: string;
  disagreement?: string | null;
  configuration?: { fromSlot: number };
}

async function status(addresses: string): Promise<Row[]> {
  const run = await runCli(['status', '--json', '--cluster', addresses]);
  return run.stdout.trim() === '' ? [] : (JSON.parse(run.stdout) as Row[]);
}

async function waitForStatus(addresses: string, check: (rows: Row[]) => boolean, timeoutMs = 40_000): Promise<Row[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await status(addresses);
    if (check(rows)) return rows;
    if (Date.now() > deadline) throw new Error(`status never as expected: ${JSON.stringify(rows.map(({ id, address, reachable, member, role, disagreement }) => ({ id, address, reachable, member, role, disagreement })))}`);
    await new Promise((done) => setTimeout(done, 250));
  }
}

describe('paxos status finds every member', () => {
  it('from one address lists every member with its role, a learner as learner, and flags a removed node still running', async () => {
    const four = await TestCluster.create(4);
    cluster = four;
    four.foundingSize = 3;
    const [a1, a2, a3, a4] = four.ports.map((port) => `127.0.0.1:${port}`);
    await Promise.all([1, 2, 3].map((id) => four.start(id)));
    const three = await waitForStatus(a2, (rows) => rows.length === 3 && rows.every((row) => row.reachable && row.member === 'voter') && rows.some((row) => row.role === 'leader'));
    expect(three.map((row) => row.address)).toEqual([a2, a1, a3]);
    expect(three.every((row) => row.disagreement === null)).toBe(true);
    const table = await runCli(['status', '--cluster', a2]);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/ROLE\s+MEMBER\s+CONFIG/);
    expect(table.stdout.split('\n').filter((line) => /\svoter\s/.test(line))).toHaveLength(3);

    const added = await runCli(['member', 'add', '--id', '4', '--address', a4, '--learner', '--cluster', a1]);
    expect(added.code, added.stderr).toBe(0);
    await four.start(4, { join: `${a1},${a2},${a3}` });
    const grown = await waitForStatus(a3, (rows) => rows.length === 4 && rows.every((row) => row.reachable) && rows.some((row) => row.id === 4 && row.member === 'learner'));
    expect(grown.map((row) => [row.id, row.member]).sort()).toEqual([[1, 'voter'], [2, 'voter'], [3, 'voter'], [4, 'learner']]);

    // Remove node 3 while it runs: it learns its removal, and status (given its address) says it is no member.
    const leaderRow = grown.find((row) => row.role === 'leader') as Row;
    const removed = leaderRow.id === 3 ? 2 : 3;
    const removedAddress = four.ports.map((port) => `127.0.0.1:${port}`)[removed - 1];
    const remove = await runCli(['member', 'remove', String(removed), '--cluster', `${a1},${a2},${a3}`], { timeoutMs: 60_000 });
    expect(remove.code, remove.stderr).toBe(0);
    const otherVoter = [a1, a2, a3].find((address) => address !== removedAddress) as string;
    const flagged = await waitForStatus(`${otherVoter},${removedAddress}`, (rows) => rows.some((row) => row.id === removed && typeof row.disagreement === 'string'));
    expect(flagged.find((row) => row.id === removed)?.disagreement).toMatch(/is not a member of the leader's \(node \d\) configuration/);
    const text = await runCli(['status', '--cluster', `${otherVoter},${removedAddress}`]);
    expect(text.stdout).toMatch(new RegExp(`warning: node ${removed} at ${removedAddress} is not a member`));
  }, 180_000);
});
