// Sweeps simulation seeds. SEED=n reruns one seed alone; SIM_SEEDS=n sets how many.
import { describe, expect, it } from 'vitest';
import { runSimulation, SimulationFailure } from './harness.js';

const single = process.env.SEED === undefined ? undefined : Number(process.env.SEED);
const seedCount = Number(process.env.SIM_SEEDS ?? 300);
const firstSeed = Number(process.env.SIM_FIRST_SEED ?? 1);

describe('deterministic simulation', () => {
  if (single !== undefined) {
    it(`seed ${single}`, () => {
      const stats = runSimulation({ seed: single });
      console.log(JSON.stringify(stats));
    });
    return;
  }

  it(`holds every invariant over ${seedCount} seeds`, () => {
    let acknowledged = 0;
    for (let seed = firstSeed; seed < firstSeed + seedCount; seed += 1) {
      const stats = runSimulation({ seed });
      acknowledged += stats.acknowledged;
    }
    // A sweep in which nothing got done would prove nothing.
    expect(acknowledged).toBeGreaterThan(seedCount * 10);
  }, 600_000);

  it('holds every invariant with byte bounds so small that batches, windows, catch-up and promises all hit them', () => {
    // Sim commands are 30-60 bytes: a batch of two or three, a window of a few slots, a catch-up of a few values.
    const limits = { batchBytesMax: 120, windowBytesMax: 240, catchupBytesMax: 150 };
    let acknowledged = 0;
    for (let seed = 1; seed <= 150; seed += 1) acknowledged += runSimulation({ seed, limits }).acknowledged;
    expect(acknowledged).toBeGreaterThan(150 * 10);
  }, 600_000);

  it('the same seed gives the same run', () => {
    expect(runSimulation({ seed: 42 })).toEqual(runSimulation({ seed: 42 }));
  });

  it('starts brand-new clusters either way: new votes at once, existing rebuilds first', () => {
    for (const initialClusterState of ['new', 'existing'] as const) {
      let acknowledged = 0;
      for (let seed = 1; seed <= 40; seed += 1) acknowledged += runSimulation({ seed, initialClusterState }).acknowledged;
      expect(acknowledged).toBeGreaterThan(40 * 10);
    }
  });

  it('catches a node on a wiped disk that votes at once instead of rebuilding (restarted with --initial-cluster-state new)', () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= 300 && failures.length === 0; seed += 1) {
      try {
        runSimulation({ seed, nodes: 3, wipesPerSecond: 1, sabotage: 'wiped-node-votes-at-once' });
      } catch (error) {
        expect(error).toBeInstanceOf(SimulationFailure);
        failures.push((error as Error).message);
      }
    }
    expect(failures.length).toBe(1);
    expect(failures[0]).toMatch(/chosen twice|learned slot \d+ chosen as|applied .* another replica applied/);
  });

  it('rebuilds wiped nodes and installs snapshots without breaking an invariant', () => {
    let wipes = 0;
    let installs = 0;
    for (let seed = 1; seed <= 60; seed += 1) {
      const stats = runSimulation({ seed, wipesPerSecond: 1, snapshotEvery: 10 });
      wipes += stats.wipes;
      installs += stats.snapshotsInstalled;
    }
    expect(wipes).toBeGreaterThan(20);
    expect(installs).toBeGreaterThan(20);
  });

  it('catches session de-duplication that forgets: a retry chosen twice runs twice, though every replica agrees', () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= 200 && failures.length === 0; seed += 1) {
      try {
        runSimulation({ seed, sabotage: 'dedup-forgets-sessions' });
      } catch (error) {
        expect(error).toBeInstanceOf(SimulationFailure);
        failures.push((error as Error).message);
      }
    }
    expect(failures.length).toBe(1);
    expect(failures[0]).toMatch(/node \d+ executed command c\d+#\d+ twice \(at slots \d+ and \d+\): a command must run at most once per replica/);
  });

  it('catches an acceptor that forgets its promises and accepted values on restart', () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= 200 && failures.length === 0; seed += 1) {
      try {
        runSimulation({ seed, nodes: 3, sabotage: 'acceptor-forgets-on-restart' });
      } catch (error) {
        expect(error).toBeInstanceOf(SimulationFailure);
        failures.push((error as Error).message);
      }
    }
    expect(failures.length).toBe(1);
    expect(failures[0]).toMatch(/reproduce with SEED=\d+ npm run sim/);
  });
});
