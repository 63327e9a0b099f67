// Many large commands at once, on real processes: 2 MiB commands replicate,
// apply the same everywhere and leave no node stopped. A leader batches the
// commands that arrive together into one slot, so its accept, its WAL record
// and its catch-up replies are bounded in bytes (batchBytesMax, windowBytesMax,
// catchupBytesMax; test/unit/core/bytes.test.ts shows each bound), or a dozen
// such commands in one turn would make a 24 MiB accept that no frame can carry.
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/index.js';
import { TestCluster } from './support.js';

let cluster: TestCluster | null = null;

afterEach(async () => {
  await cluster?.stopAll();
  cluster = null;
});

describe('large commands', () => {
  it('applies a dozen 2 MiB commands submitted at once, the same on every replica, and no node stops', async () => {
    cluster = await TestCluster.create(3, ['--fsync', 'batch']);
    await cluster.startAll();
    const mib = 'm'.repeat(1024 * 1024 - 64);
    const clients = Array.from({ length: 12 }, () => connect(cluster!.addresses, { timeoutMs: 30_000 }));
    try {
      // cas on a missing key with a 1 MiB expected value and a 1 MiB new one: a 2 MiB command, refused by the store.
      const outcomes = await Promise.all(clients.map((client, i) => client.submit(['cas', `k${i}`, mib, `${i}${mib}`])));
      expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(12).fill('refused'));
      const sets = await Promise.all(clients.map((client, i) => client.submit(['set', `k${i}`, `${i}${mib}`.slice(0, mib.length)])));
      expect(sets.map((outcome) => outcome.status)).toEqual(Array(12).fill('applied'));
      const rows = await cluster.waitFor((r) => r.every((row) => row.reachable) && new Set(r.map((row) => row.lastApplied)).size === 1);
      expect(rows.map((row) => row.appliedDigest)).toEqual(Array(3).fill(rows[0].appliedDigest));
      const read = await clients[0].submit(['get', 'k7'], { verify: true });
      expect(read).toMatchObject({ status: 'applied', verification: { verdict: 'agree', agreeing: 3 } });
      expect(String((read as { result: unknown }).result).startsWith('7m')).toBe(true);
    } finally {
      for (const client of clients) client.close();
    }
    for (const node of cluster.nodes.values()) expect(node.log.join('\n')).not.toMatch(/too large to send|node cannot go on|uncaught/i);
  }, 120_000);
});
