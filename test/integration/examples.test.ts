// The examples in examples/, each on a three-node cluster of real processes,
// with the leader killed (-9) while clients are in the middle of a workload.
// The results must stay right: the ledger never overdraws and keeps its sum;
// the lock is held by at most one owner at a time.
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/index.js';
import { runCli, TestCluster } from './support.js';

const examples = resolve(__dirname, '../../examples');

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

interface Line {
  ok: boolean;
  result?: unknown;
  error?: string;
  refused?: boolean;
  verify?: { verdict: string; agreeing: number };
}

/** One `paxos submit --stdin --json` client; resolves with one parsed line per input line. */
async function runClient(c: TestCluster, lines: string[]): Promise<Line[]> {
  const result = await runCli(['submit', '--cluster', c.addresses, '--stdin', '--json', '--timeout', '20s'], { input: lines.join('\n'), timeoutMs: 180_000 });
  expect(result.code, result.stderr).toBe(0);
  const parsed = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Line);
  expect(parsed).toHaveLength(lines.length);
  return parsed;
}

async function submitOne(c: TestCluster, words: string[], extra: string[] = []): Promise<Line> {
  const result = await c.submit(words, ['--json', ...extra]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Line;
}

/** Kills the leader with -9 as soon as it has applied `slot`, while `clients` still run; returns its id. */
async function killLeaderAfter(c: TestCluster, slot: number, clients: Promise<unknown>[]): Promise<number> {
  let finished = false;
  const finish = () => {
    finished = true;
  };
  Promise.all(clients).then(finish, finish);
  const observer = connect(c.addresses, { timeoutMs: 2_000 });
  const deadline = Date.now() + 60_000;
  try {
    while (Date.now() < deadline) {
      const leader = (await observer.status()).find((report) => report.reachable && report.status.role === 'leader' && report.status.lastApplied >= slot);
      if (leader?.reachable) {
        expect(finished, 'the clients finished before the leader was killed').toBe(false);
        await c.kill9(leader.status.id);
        return leader.status.id;
      }
      await new Promise((done) => setTimeout(done, 20));
    }
    throw new Error(`the leader did not apply slot ${slot} within 60 s`);
  } finally {
    observer.close();
  }
}

/** Restarts the killed node and waits until all three have applied the same slots. */
async function restartAndConverge(c: TestCluster, id: number): Promise<void> {
  await c.start(id, { waitMs: 30_000 });
  await c.waitFor((rows) => rows.every((row) => row.reachable) && new Set(rows.map((row) => row.lastApplied)).size === 1, 30_000);
}

/** A small seeded generator (mulberry32), so a failing workload can be rerun exactly. */
function seeded(seed: number): (max: number) => number {
  let state = seed >>> 0;
  return (max) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % max;
  };
}

describe('examples/bank-ledger.mjs', () => {
  const accounts = ['alice', 'bob', 'carol'];

  function transfers(seed: number, count: number): string[] {
    const random = seeded(seed);
    return Array.from({ length: count }, () => {
      const from = random(3);
      const to = (from + 1 + random(2)) % 3;
      return `transfer ${accounts[from]} ${accounts[to]} ${1 + random(70)}`;
    });
  }

  it('never overdraws and keeps the sum through kill -9 of the leader mid-workload', async () => {
    cluster = await TestCluster.create(3, ['--state-machine', resolve(examples, 'bank-ledger.mjs')]);
    await cluster.startAll();
    await runClient(cluster, accounts.map((account) => `deposit ${account} 100`));

    const scripts = [1, 2, 3].map((seed) => transfers(seed, 150));
    const clients = scripts.map((script) => runClient(cluster!, script));
    const killed = await killLeaderAfter(cluster, 60, clients);
    const results = await Promise.all(clients);

    const expected = new Map(accounts.map((account) => [account, 100]));
    results.forEach((lines, client) => lines.forEach((line, index) => {
      const [, from, to, amount] = scripts[client][index].split(' ');
      if (!line.ok) {
        // Refused (applied, changed nothing) is the only other outcome: nothing is lost or unknown.
        expect(line, JSON.stringify(line)).toMatchObject({ refused: true, error: expect.stringMatching(/^insufficient funds: /) });
        return;
      }
      expect(Object.values(line.result as Record<string, number>).every((balance) => balance >= 0)).toBe(true);
      expected.set(from, expected.get(from)! - Number(amount));
      expected.set(to, expected.get(to)! + Number(amount));
    }));
    expect(results.flat().filter((line) => line.ok).length).toBeGreaterThan(100);

    await restartAndConverge(cluster, killed);
    const balances = await runClient(cluster, accounts.map((account) => `balance ${account}`));
    expect(balances.map((line) => line.result)).toEqual(accounts.map((account) => expected.get(account)));
    expect((balances.map((line) => line.result) as number[]).reduce((sum, balance) => sum + balance, 0)).toBe(300);
    expect(await submitOne(cluster, ['balance', 'alice'], ['--verify'])).toMatchObject({ verify: { verdict: 'agree', agreeing: 3 } });
  }, 180_000);
});

describe('examples/lock-service.mjs', () => {
  interface LockResult {
    granted?: boolean;
    released?: boolean;
    owner?: string | null;
    op: number;
  }

  /** Client `owner` takes the lock and gives it back, `rounds` times, with its own rising logical time. */
  function takeTurns(owner: string, offset: number, rounds: number): string[] {
    return Array.from({ length: rounds }, (_, round) => [`acquire printer ${owner} ${round * 10 + offset} 1000000000`, `release printer ${owner}`]).flat();
  }

  it('lets at most one owner hold the lock, each command applied once, through kill -9 of the leader', async () => {
    cluster = await TestCluster.create(3, ['--state-machine', resolve(examples, 'lock-service.mjs')]);
    await cluster.startAll();
    const owners = ['ada', 'bob', 'cy'];
    const scripts = owners.map((owner, index) => takeTurns(owner, index, 60));
    const clients = scripts.map((script) => runClient(cluster!, script));
    const killed = await killLeaderAfter(cluster, 60, clients);
    const results = await Promise.all(clients);

    // Every command ran exactly once: the op numbers are 1..N with no gap and no repeat.
    const applied = results.flatMap((lines, client) => lines.map((line, index) => {
      expect(line.ok, JSON.stringify(line)).toBe(true);
      return { owner: owners[client], verb: scripts[client][index].split(' ')[0], result: line.result as LockResult };
    }));
    applied.sort((a, b) => a.result.op - b.result.op);
    expect(applied.map((entry) => entry.result.op)).toEqual(applied.map((_, index) => index + 1));

    // Replayed in the order the replicas agreed on, every answer is one a single lock could give.
    let holder: string | null = null;
    let grants = 0;
    for (const { owner, verb, result } of applied) {
      if (verb === 'acquire' && result.granted) {
        expect(holder === null || holder === owner, `op ${result.op}: ${owner} granted while ${holder} holds it`).toBe(true);
        holder = owner;
        grants += 1;
      } else if (verb === 'acquire') {
        expect(result.owner).toBe(holder);
        expect(holder).not.toBe(owner);
      } else if (result.released) {
        expect(holder).toBe(owner);
        holder = null;
      } else {
        expect(holder).not.toBe(owner);
      }
    }
    expect(grants).toBeGreaterThan(10);

    await restartAndConverge(cluster, killed);
    const final = await submitOne(cluster, ['holder', 'printer', '2000'], ['--verify']);
    expect((final.result as LockResult).owner).toBe(holder);
    expect(final.verify).toMatchObject({ verdict: 'agree', agreeing: 3 });
  }, 180_000);
});
