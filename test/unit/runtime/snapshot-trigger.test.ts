// When a node snapshots: every --snapshot-every slots, or once --snapshot-log-bytes
// of log were appended since the last snapshot, whichever comes first.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../../src/client/api.js';
import { startNode, type RunningNode } from '../../../src/node/runtime/node.js';
import { scratchNodes } from './scratch-node.js';

const scratch = scratchNodes();

/** A one-node cluster in this process (a majority of one), and `writes` 1 KiB sets through the client library. */
async function writeThrough(options: { snapshotEvery: number; snapshotLogBytes: number }, writes: number): Promise<RunningNode> {
  const node = scratch.track(await startNode({ id: 1, peers: new Map([[1, { host: '127.0.0.1', port: 0 }]]), dataDir: join(scratch.dir, 'n1'), ...options }));
  const client = connect([{ host: '127.0.0.1', port: node.address.port }], { timeoutMs: 5_000 });
  try {
    for (let i = 0; i < writes; i += 1) expect(await client.submit(['set', `k${i}`, 'v'.repeat(1024)])).toMatchObject({ status: 'applied' });
  } finally {
    client.close();
  }
  return node;
}

async function lastSnapshotSoon(running: RunningNode): Promise<number> {
  for (let i = 0; i < 100 && running.status().lastSnapshot === 0; i += 1) await new Promise((done) => setTimeout(done, 20));
  return running.status().lastSnapshot;
}

describe('snapshot triggers', () => {
  it('snapshots once --snapshot-log-bytes of log were written, long before --snapshot-every slots', async () => {
    // Each 1 KiB set costs over 1 KiB of log (an accept, and a chosen record that names it): 80 of them pass 64 KiB.
    const running = await writeThrough({ snapshotEvery: 1_000_000, snapshotLogBytes: 64 * 1024 }, 80);
    const slot = await lastSnapshotSoon(running);
    expect(slot).toBeGreaterThan(0);
    expect(slot).toBeLessThan(1_000_000);
  });

  it('does not snapshot on bytes when that trigger is off (0), nor before --snapshot-every slots', async () => {
    const running = await writeThrough({ snapshotEvery: 1_000_000, snapshotLogBytes: 0 }, 40);
    await new Promise((done) => setTimeout(done, 200));
    expect(running.status().lastSnapshot).toBe(0);
  });

  it('snapshots every --snapshot-every slots whatever the bytes', async () => {
    const running = await writeThrough({ snapshotEvery: 10, snapshotLogBytes: 1024 * 1024 * 1024 }, 12);
    expect(await lastSnapshotSoon(running)).toBeGreaterThanOrEqual(10);
  });
});
