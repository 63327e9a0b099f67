// Sweeps simulation seeds through src/sim, which runs the real core and the
// real driver on every node. SEED=n reruns one seed alone (SIM_TRACE=1 prints
// what every node did); SIM_SEEDS=n sets how many; scripts/sim-sweep.mjs runs
// long sweeps on every core.
import { describe, expect, it } from 'vitest';
import { runSimulation, SimulationFailure, type Sabotage, type SimOptions, type SimStats } from '../../src/sim/simulation.js';

const single = process.env.SEED === undefined ? undefined : Number(process.env.SEED);
const seedCount = Number(process.env.SIM_SEEDS ?? 300);
const firstSeed = Number(process.env.SIM_FIRST_SEED ?? 1);
const trace = process.env.SIM_TRACE === '1' ? (line: string) => console.log(line) : undefined;

function sweep(count: number, options: Omit<SimOptions, 'seed'> = {}, first = 1): SimStats[] {
  const runs: SimStats[] = [];
  for (let seed = first; seed < first + count; seed += 1) runs.push(runSimulation({ seed, ...options }));
  return runs;
}

/** The first failure a sabotage causes within `seedsMax` seeds, or fails the test. */
function firstFailure(sabotage: Sabotage, seedsMax: number, options: Omit<SimOptions, 'seed' | 'sabotage'> = {}): string {
  for (let seed = 1; seed <= seedsMax; seed += 1) {
    try {
      runSimulation({ seed, sabotage, ...options });
    } catch (error) {
      expect(error).toBeInstanceOf(SimulationFailure);
      return (error as Error).message;
    }
  }
  throw new Error(`sabotage ${sabotage} went unnoticed for ${seedsMax} seeds`);
}

const total = (runs: SimStats[], field: keyof SimStats) => runs.reduce((sum, run) => sum + (run[field] as number), 0);

describe('deterministic simulation', () => {
  if (single !== undefined) {
    it(`seed ${single}`, () => {
      const stats = runSimulation({ seed: single, log: trace });
      console.log(JSON.stringify(stats));
    });
    return;
  }

  it(`holds every invariant over ${seedCount} seeds on 3, 5 and 7 nodes`, () => {
    const runs = sweep(seedCount, {}, firstSeed);
    // A sweep in which nothing got done would prove nothing.
    expect(total(runs, 'acknowledged')).toBeGreaterThan(seedCount * 10);
    const sizes = new Set(runs.map((run) => run.nodes));
    expect([...sizes].sort()).toEqual([3, 5, 7]);
    expect(runs.filter((run) => run.nodes >= 5).length).toBeGreaterThanOrEqual(seedCount / 2);
    // Messages held for seconds reach a later incarnation of their receiver.
    expect(total(runs, 'messagesToLaterIncarnation')).toBeGreaterThan(0);
    expect(total(runs, 'diskFailures')).toBeGreaterThan(0);
    expect(total(runs, 'bitFlips')).toBeGreaterThan(0);
    // Logs lost with identity.json kept, each restarted as a new incarnation (storage/log-mark.ts).
    expect(total(runs, 'walLosses')).toBeGreaterThan(0);
    expect(total(runs, 'newIncarnationsAfterLogLoss')).toBeGreaterThan(0);
    // Reads without the log were answered and every register's history was checked (and decided).
    expect(total(runs, 'readsAnswered')).toBeGreaterThan(seedCount * 3);
    expect(total(runs, 'historyOperations')).toBeGreaterThan(seedCount * 10);
    expect(total(runs, 'historyKeysUndecided')).toBe(0);
    // Clients pipeline (up to 8 seqs of a session in flight) and register; small session tables evict under retries.
    expect(runs.filter((run) => run.pipelineDepth > 1).length).toBeGreaterThanOrEqual(seedCount / 4);
    expect(runs.some((run) => run.pipelineDepth === 8)).toBe(true);
    expect(runs.filter((run) => run.clientSessionsMax !== null && run.clientSessionsMax <= 4).length).toBeGreaterThanOrEqual(seedCount / 10);
    expect(total(runs, 'registrations')).toBeGreaterThan(seedCount);
    expect(total(runs, 'expired')).toBeGreaterThan(0);
    // Leadership transfers are one of the operations of the default sweep.
    expect(total(runs, 'transfersDone')).toBeGreaterThan(seedCount / 10);
  }, 600_000);

  it('crashes nodes at every point where the driver waits for the disk', () => {
    const runs = sweep(200, { snapshotEvery: 5 });
    const points = new Set(runs.flatMap((run) => Object.keys(run.crashPoints)));
    expect([...points].sort()).toEqual(
      [
        'between a log write and its fsync',
        'between a snapshot and the checkpoint after it',
        'during a log write',
        'during a snapshot install',
        'during a snapshot write',
        'during compaction',
        'idle',
      ].sort(),
    );
  }, 600_000);

  it('holds every invariant with byte bounds so small that batches, windows, catch-up and promises all hit them', () => {
    // Sim commands are 30-60 bytes: a batch of two or three, a window of a few slots, a catch-up of a few values.
    const limits = { batchBytesMax: 120, windowBytesMax: 240, catchupBytesMax: 150 };
    expect(total(sweep(150, { limits }), 'acknowledged')).toBeGreaterThan(150 * 10);
  }, 600_000);

  it('the same seed gives the same run', () => {
    expect(runSimulation({ seed: 42 })).toEqual(runSimulation({ seed: 42 }));
  });

  it('founds brand-new clusters either way: unanimously (the default) or by a majority (--initial-cluster-state new)', () => {
    for (const bootstrap of ['unanimous', 'majority'] as const) {
      expect(total(sweep(40, { bootstrap }), 'acknowledged')).toBeGreaterThan(40 * 10);
    }
  });

  it('founds on data dirs restored from one backup (paxos snapshot restore) from the slot after it, under every fault: wiped disks join and install its sealed snapshot', () => {
    // Founders seeded with the backup's snapshot at slot 40 and no membership; a wiped one comes back empty and must join.
    // With snapshots off, a node that joins can only install the restored snapshot, which the driver sealed with the membership.
    const runs = [...sweep(40, { restoredSlot: 40 }), ...sweep(20, { restoredSlot: 40, wipesPerSecond: 1, snapshotEvery: 0 }, 41)];
    expect(total(runs, 'acknowledged')).toBeGreaterThan(60 * 10);
    expect(Math.min(...runs.map((run) => run.lastApplied))).toBeGreaterThan(40);
    expect(total(runs, 'wipes')).toBeGreaterThan(0);
    expect(total(runs, 'snapshotsInstalled')).toBeGreaterThan(0);
  }, 600_000);

  it('finds the deadlock of issue 11 when a data dir without records forgets its incarnation (identity not durable before the node speaks)', () => {
    // Founders that crashed before their first fsync come back as strangers: too few voters are left.
    expect(firstFailure('empty-restart-new-incarnation', 1000)).toMatch(/is still not a voter|applied \d+ slots, others|still waits/);
  }, 600_000);

  for (const nodes of [3, 5, 7]) {
    it(`replaces wiped disks on ${nodes} nodes (two at once on 5 and 7) by their new incarnations, and installs snapshots, without breaking an invariant`, () => {
      const runs = sweep(60, { nodes, wipesPerSecond: 1, snapshotEvery: 10 });
      expect(total(runs, 'wipes')).toBeGreaterThan(20);
      expect(total(runs, 'replaced')).toBeGreaterThan(20);
      expect(total(runs, 'snapshotsInstalled')).toBeGreaterThan(20);
    }, 600_000);
  }

  for (const nodes of [3, 5, 7]) {
    it(`restarts a node whose wal/ was lost (identity.json kept) as a new incarnation on ${nodes} nodes, which is replaced, without breaking an invariant`, () => {
      const runs = sweep(40, { nodes, walLossesPerSecond: 1 });
      expect(total(runs, 'walLosses')).toBeGreaterThan(15);
      // Every loss is followed by a restart on a new incarnation (the last ones in the calm phase).
      expect(total(runs, 'newIncarnationsAfterLogLoss')).toBe(total(runs, 'walLosses'));
      expect(total(runs, 'replaced')).toBeGreaterThan(15);
    }, 600_000);
  }

  it('chooses 70 and more membership changes in a run with snapshots off: epochs are dropped as slots are applied, not only at compaction', () => {
    // Review item 3: the 65th chosen change used to assert on every node, and again on replay.
    const faults = { crashesPerSecond: 0.3, partitionsPerSecond: 0, dropRate: 0.01, longHoldRate: 0 };
    const runs = sweep(20, { snapshotEvery: 0, window: 4, changesPerSecond: 50, nodes: 3, spareNodes: 2, faultMs: 15_000, faults });
    expect(runs.filter((run) => run.membershipChanges >= 70).length).toBeGreaterThanOrEqual(5);
    expect(total(runs, 'snapshots')).toBe(0);
  }, 600_000);

  it('catches a node that votes on under its old incarnation after losing its wal/ (identity.json kept): issue 12 scenario A', () => {
    expect(firstFailure('keeps-incarnation-after-log-loss', 100, { nodes: 3, walLossesPerSecond: 1 })).toMatch(/chosen twice|learned slot \d+ (chosen )?as|applied .* another replica applied/);
  });

  it('interleaves membership changes with every fault: grows 3 -> 5 -> 7 with spare nodes, removes voters (the leader too), adds learners and promotes them, back to back', () => {
    const runs = [...sweep(40, { nodes: 3, spareNodes: 4, changesPerSecond: 2, wipesPerSecond: 0.3 }), ...sweep(40, { nodes: 5, spareNodes: 2, changesPerSecond: 2, wipesPerSecond: 0.5 })];
    expect(total(runs, 'learnersAdded')).toBeGreaterThan(40);
    expect(total(runs, 'promotions')).toBeGreaterThan(40);
    expect(total(runs, 'removals')).toBeGreaterThan(20);
    expect(total(runs, 'leaderRemovals')).toBeGreaterThan(0);
    expect(total(runs, 'replaced')).toBeGreaterThan(10);
    // Every run ends with every node a voter again (checked in the run), so some grew to 7.
    expect(runs.filter((run) => run.nodes === 3).length).toBe(40);
  }, 600_000);

  it('moves leadership (paxos leader transfer) between faults and membership changes: most transfers end with the target leading, the rest fail within the bound', () => {
    const runs = sweep(40, { transfersPerSecond: 2, changesPerSecond: 0.5 });
    expect(total(runs, 'transfers')).toBeGreaterThan(100);
    expect(total(runs, 'transfersDone')).toBeGreaterThan(total(runs, 'transfers') / 3);
    expect(total(runs, 'transfersFailed')).toBeGreaterThan(0);
  }, 600_000);

  it('catches a transfer target that campaigns at the old leader\'s ballot (one ballot, two proposers, once the old leader resumes)', () => {
    expect(firstFailure('transfer-at-leaders-ballot', 100, { transfersPerSecond: 2 })).toMatch(/two values accepted at slot \d+ ballot|chosen twice|learned slot \d+ (chosen )?as|applied .* another replica applied/);
  });

  it('catches a node on a wiped disk that votes at once under its old incarnation (identity.json copied onto the new disk)', () => {
    expect(firstFailure('wiped-node-votes-at-once', 300, { nodes: 3, wipesPerSecond: 1 })).toMatch(/chosen twice|learned slot \d+ (chosen )?as|applied .* another replica applied/);
  });

  it('catches a leader that counts a vote whatever incarnation cast it (a wiped disk completing its old incarnation\'s quorums)', () => {
    expect(firstFailure('counts-any-incarnation', 300, { nodes: 3, wipesPerSecond: 1 })).toMatch(/chosen twice|learned slot \d+ (chosen )?as|applied .* another replica applied/);
  });

  it('catches a leader that takes a membership change into effect before it is chosen', () => {
    expect(firstFailure('config-from-unchosen', 300, { wipesPerSecond: 1 })).toMatch(/chosen twice|learned slot \d+ (chosen )?as|applied .* another replica applied/);
  });

  it('catches a session table that forgets which seqs it executed: a retry chosen twice runs twice, though every replica agrees', () => {
    expect(firstFailure('service-forgets-executed-seqs', 200)).toMatch(/executed command c\d+#\d+ twice \(at slots \d+ and \d+\): a command must run at most once per replica/);
  });

  it('catches an acceptor that forgets its promises and accepted values on restart', () => {
    expect(firstFailure('acceptor-forgets-on-restart', 200, { nodes: 3 })).toMatch(/reproduce with SEED=\d+ npm run sim/);
  });

  it('catches a leader that answers reads without the heartbeat round that confirms it still leads (a deposed leader answers stale)', () => {
    expect(firstFailure('leader-reads-without-confirm', 400)).toMatch(/the history of key [xyz] is not linearizable/);
  }, 600_000);

  it('catches a new leader that stamps reads with its commit index alone, before its re-proposed slots are chosen again', () => {
    // Lost logs held off: the bound was found with the runs as they were before that fault (seed 403; with it, 993).
    expect(firstFailure('leader-reads-at-commit-index', 450, { walLossesPerSecond: 0 })).toMatch(/the history of key [xyz] is not linearizable/);
  }, 600_000);

  it('catches a driver that sends an accepted (or a promise) before its fsync completes', () => {
    expect(firstFailure('driver-sends-before-fsync', 500, { nodes: 3 })).toMatch(/chosen twice|learned slot \d+ (chosen )?as|applied .* another replica applied|is not in the applied log/);
  });
});
