// A node checks its state machine whenever it takes a snapshot: the snapshot,
// restored into a fresh machine, must give the same snapshot bytes. Run here
// through the real driver inside the simulation (with a machine whose
// restore() forgets a field, and with the built-in store, which must pass).
import { describe, expect, it } from 'vitest';
import { createKeyValueStore } from '../../../src/node/statemachine/kv.js';
import type { StateMachine } from '../../../src/node/statemachine/types.js';
import { runSimulation, SimulationFailure, type SimService } from '../../../src/sim/simulation.js';

/** A counter with a label; restore() forgets the label (the bug). */
function forgetfulMachine(): StateMachine {
  let state = { count: 0, label: '' };
  return {
    apply: (op) => {
      state.count += 1;
      if (Array.isArray(op) && op[0] === 'label') state.label = String(op[1]);
      return state.count;
    },
    snapshot: () => new TextEncoder().encode(JSON.stringify(state)),
    restore: (bytes) => {
      const read = JSON.parse(new TextDecoder().decode(bytes)) as { count: number };
      state = { count: read.count, label: '' };
    },
  };
}

function service(factory: () => StateMachine): SimService {
  let made = 0;
  return {
    identity: 'test:self-check',
    factoryFor: () => factory,
    nextOp: () => (made++ < 200 ? ['label', `l${made}`] : null),
  };
}

describe('the snapshot self-check', () => {
  it('warns, naming the slot and restore(), when restore() loses state, and the simulation fails on it', () => {
    const lines: string[] = [];
    let failure: unknown;
    try {
      runSimulation({ seed: 7, nodes: 3, snapshotEvery: 3, service: service(forgetfulMachine), faults: { crashesPerSecond: 0, partitionsPerSecond: 0 }, log: (line) => lines.push(line) });
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(SimulationFailure);
    expect((failure as Error).message).toMatch(/restoring its own snapshot at slot \d+ into a fresh machine gives other snapshot bytes/);
    const warning = lines.find((line) => line.includes('restore(snapshot()) gives a machine whose snapshot() differs'));
    expect(warning).toBeDefined();
    expect(warning).toMatch(/warn: state machine test:self-check: .* at slot \d+: restore\(\) loses or changes state/);
    expect(warning).toContain('"firstDifferentByte"');
  });

  it('passes the built-in key-value store on every snapshot', () => {
    const stats = runSimulation({ seed: 3, nodes: 3, snapshotEvery: 5 });
    expect(stats.snapshots).toBeGreaterThan(0);
    expect(stats.snapshotSelfChecks).toBeGreaterThanOrEqual(stats.snapshots);
  });

  it('logs an error when the machine cannot restore its own snapshot', () => {
    const lines: string[] = [];
    const brittle = (): StateMachine => {
      const store = createKeyValueStore();
      return { apply: (op) => store.apply(op), snapshot: () => store.snapshot(), restore: () => { throw new Error('restore is not written yet'); } };
    };
    expect(() => runSimulation({ seed: 2, nodes: 3, snapshotEvery: 3, service: { identity: 'test:brittle', factoryFor: () => brittle, nextOp: () => ['set', 'x', '1'] }, faults: { crashesPerSecond: 0 }, log: (line) => lines.push(line) })).toThrow(SimulationFailure);
    expect(lines.some((line) => /error: state machine test:brittle cannot restore its own snapshot at slot \d+: a restart or a snapshot transfer would fail/.test(line) && line.includes('restore is not written yet'))).toBe(true);
  });
});
