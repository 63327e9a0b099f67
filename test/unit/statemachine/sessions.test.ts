import { describe, expect, it } from 'vitest';
import type { Command, Value } from '../../../src/node/core/messages.js';
import { createKeyValueStore } from '../../../src/node/statemachine/kv.js';
import {
  ReplicatedService,
  clientIdBytesMax,
  refusalMessageCharsMax,
  serviceSnapshotFormat,
} from '../../../src/node/statemachine/sessions.js';
import { packSnapshot } from '../../../src/node/statemachine/snapshot-codec.js';
import { CommandRefused, SnapshotInvalid, type StateMachine } from '../../../src/node/statemachine/types.js';

function value(...commands: Command[]): Value {
  return { commands };
}

function command(client: string, seq: number, op: unknown): Command {
  return { client, seq, op };
}

/** A machine that counts how often apply ran, to prove a retry is not executed again. */
function countingMachine(): StateMachine & { applied: number } {
  const store = createKeyValueStore();
  const machine = {
    applied: 0,
    apply(op: unknown): unknown {
      machine.applied++;
      return store.apply(op);
    },
    snapshot: () => store.snapshot(),
    restore: (bytes: Uint8Array) => store.restore(bytes),
  };
  return machine;
}

describe('ReplicatedService applying slots', () => {
  it('applies the commands of a slot in order and reports each outcome', () => {
    const service = new ReplicatedService(createKeyValueStore());
    const outcomes = service.applyValue(1, value(command('a', 1, ['set', 'x', '3']), command('b', 1, ['cas', 'x', '1', '2']), command('c', 1, ['get', 'x'])));
    expect(outcomes).toEqual([
      { client: 'a', seq: 1, slot: 1, ok: true, result: 'OK' },
      { client: 'b', seq: 1, slot: 1, ok: false, error: 'cas failed: x is 3' },
      { client: 'c', seq: 1, slot: 1, ok: true, result: '3' },
    ]);
    expect(service.lastAppliedSlot).toBe(1);
    expect(service.sessionCount).toBe(3);
  });

  it('applies an empty value (a no-op filling a hole) and moves on', () => {
    const service = new ReplicatedService(createKeyValueStore());
    expect(service.applyValue(1, value())).toEqual([]);
    expect(service.lastAppliedSlot).toBe(1);
  });

  it('executes a command chosen in two slots once, answering the retry from the session', () => {
    const machine = countingMachine();
    const service = new ReplicatedService(machine);
    const first = service.applyValue(1, value(command('a', 1, ['incr', 'n'])));
    service.applyValue(2, value(command('b', 1, ['incr', 'n'])));
    const retry = service.applyValue(3, value(command('a', 1, ['incr', 'n'])));
    expect(first).toEqual([{ client: 'a', seq: 1, slot: 1, ok: true, result: 1 }]);
    expect(retry).toEqual(first);
    expect(machine.applied).toBe(2);
    expect(service.applyValue(4, value(command('c', 1, ['get', 'n'])))[0]).toMatchObject({ result: '2' });
  });

  it('answers a retried refusal with the same refusal, without executing it again', () => {
    const machine = countingMachine();
    const service = new ReplicatedService(machine);
    const first = service.applyValue(1, value(command('a', 1, ['cas', 'x', '1', '2'])));
    const retry = service.applyValue(2, value(command('a', 1, ['cas', 'x', '1', '2'])));
    expect(retry).toEqual(first);
    expect(retry[0]).toMatchObject({ ok: false, error: 'cas failed: x is (nil)', slot: 1 });
    expect(machine.applied).toBe(1);
  });

  it('deduplicates a retry within the same slot too', () => {
    const machine = countingMachine();
    const service = new ReplicatedService(machine);
    const outcomes = service.applyValue(1, value(command('a', 1, ['incr', 'n']), command('a', 1, ['incr', 'n'])));
    expect(outcomes[1]).toEqual(outcomes[0]);
    expect(machine.applied).toBe(1);
  });

  it('refuses a stale command without executing it', () => {
    const machine = countingMachine();
    const service = new ReplicatedService(machine);
    service.applyValue(1, value(command('a', 5, ['set', 'x', '1'])));
    const stale = service.applyValue(2, value(command('a', 4, ['set', 'x', '0'])));
    expect(stale).toEqual([{ client: 'a', seq: 4, slot: 2, ok: false, error: "stale command: seq 4 is older than session's 5" }]);
    expect(machine.applied).toBe(1);
    // The session still answers its own last command.
    expect(service.applyValue(3, value(command('a', 5, ['set', 'x', '9'])))[0]).toEqual({ client: 'a', seq: 5, slot: 1, ok: true, result: 'OK' });
  });

  it('applies a higher seq and replaces the kept outcome', () => {
    const service = new ReplicatedService(createKeyValueStore());
    service.applyValue(1, value(command('a', 1, ['incr', 'n'])));
    service.applyValue(2, value(command('a', 3, ['incr', 'n'])));
    expect(service.cachedOutcome('a', 3)).toEqual({ client: 'a', seq: 3, slot: 2, ok: true, result: 2 });
    expect(service.cachedOutcome('a', 1)).toBeNull();
    expect(service.cachedOutcome('nobody', 1)).toBeNull();
  });

  it('turns anything a machine throws into a refusal and goes on', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const thrown: unknown[] = [
      new CommandRefused('no funds'),
      new TypeError('bad'),
      'plain string',
      42,
      new CommandRefused(''),
      new Error('x'.repeat(5000)),
      { code: 'E_FUNDS', left: 3 },
      null,
      undefined,
      10n,
      cyclic,
    ];
    let next = 0;
    const machine: StateMachine = {
      apply: () => {
        throw thrown[next++];
      },
      snapshot: () => new Uint8Array(),
      restore: () => undefined,
    };
    const service = new ReplicatedService(machine);
    const errors = thrown.map((_, index) => {
      const [outcome] = service.applyValue(index + 1, value(command('a', index + 1, ['op'])));
      return outcome.ok ? 'ok' : outcome.error;
    });
    expect(errors.slice(0, 5)).toEqual(['no funds', 'TypeError: bad', 'plain string', 'command refused: the state machine threw 42', 'command refused']);
    expect(errors[5]).toHaveLength(refusalMessageCharsMax + 1);
    expect(errors.slice(6)).toEqual([
      'command refused: the state machine threw {"code":"E_FUNDS","left":3}',
      'command refused: the state machine threw null',
      'command refused: the state machine threw undefined',
      'command refused: the state machine threw 10n',
      'command refused: the state machine threw an object that cannot be shown as JSON',
    ]);
  });

  it('reports an undefined result as null', () => {
    const machine: StateMachine = { apply: () => undefined, snapshot: () => new Uint8Array(), restore: () => undefined };
    const [outcome] = new ReplicatedService(machine).applyValue(1, value(command('a', 1, 'anything')));
    expect(outcome).toEqual({ client: 'a', seq: 1, slot: 1, ok: true, result: null });
  });

  it('refuses a malformed command deterministically instead of stopping', () => {
    const service = new ReplicatedService(createKeyValueStore());
    const outcomes = service.applyValue(
      1,
      value(
        { client: '', seq: 1, op: ['noop'] },
        { client: 'a', seq: -1, op: ['noop'] },
        { client: 'a', seq: 1.5, op: ['noop'] },
        { client: 'c'.repeat(clientIdBytesMax + 1), seq: 1, op: ['noop'] },
        null as unknown as Command,
      ),
    );
    expect(outcomes.map((outcome) => (outcome.ok ? 'ok' : outcome.error))).toEqual([
      'invalid command: client id must be a non-empty string',
      'invalid command: seq must be a non-negative integer',
      'invalid command: seq must be a non-negative integer',
      `invalid command: client id is longer than ${clientIdBytesMax} bytes`,
      'invalid command: not a {client, seq, op} record',
    ]);
    expect(service.sessionCount).toBe(0);
  });
});

describe('ReplicatedService slot order', () => {
  it('throws on a gap', () => {
    const service = new ReplicatedService(createKeyValueStore());
    expect(() => service.applyValue(2, value())).toThrow('slot 2 applied after slot 0');
  });

  it('throws on a repeat', () => {
    const service = new ReplicatedService(createKeyValueStore());
    service.applyValue(1, value());
    expect(() => service.applyValue(1, value())).toThrow('slot 1 applied after slot 1');
  });

  it('throws on slot 0 and on a non-integer slot', () => {
    const service = new ReplicatedService(createKeyValueStore());
    expect(() => service.applyValue(0, value())).toThrow(/assertion failed/);
    expect(() => service.applyValue(1.5, value())).toThrow(/slot must be an integer/);
  });

  it('rejects a clientSessionsMax that cannot work', () => {
    expect(() => new ReplicatedService(createKeyValueStore(), { clientSessionsMax: 0 })).toThrow(/at least 1/);
    expect(() => new ReplicatedService(createKeyValueStore(), { clientSessionsMax: 2.5 })).toThrow(/integer/);
  });
});

describe('ReplicatedService session eviction', () => {
  it('evicts the least recently active session when a new client arrives at a full table', () => {
    const service = new ReplicatedService(createKeyValueStore(), { clientSessionsMax: 3 });
    service.applyValue(1, value(command('a', 1, ['noop'])));
    service.applyValue(2, value(command('b', 1, ['noop'])));
    service.applyValue(3, value(command('c', 1, ['noop'])));
    service.applyValue(4, value(command('a', 2, ['noop']))); // a is now more recent than b
    service.applyValue(5, value(command('d', 1, ['noop'])));
    expect(service.sessionCount).toBe(3);
    expect(service.cachedOutcome('b', 1)).toBeNull();
    expect(service.cachedOutcome('a', 2)).not.toBeNull();
    expect(service.cachedOutcome('c', 1)).not.toBeNull();
    expect(service.cachedOutcome('d', 1)).not.toBeNull();
  });

  it('counts a duplicate or stale command as activity', () => {
    const service = new ReplicatedService(createKeyValueStore(), { clientSessionsMax: 2 });
    service.applyValue(1, value(command('a', 2, ['noop'])));
    service.applyValue(2, value(command('b', 1, ['noop'])));
    service.applyValue(3, value(command('a', 1, ['noop']))); // stale, but a is alive
    service.applyValue(4, value(command('c', 1, ['noop'])));
    expect(service.cachedOutcome('a', 2)).not.toBeNull();
    expect(service.cachedOutcome('b', 1)).toBeNull();
  });

  it('breaks ties in the same slot by the smaller client id, whatever the order in the slot', () => {
    for (const order of [['q', 'p', 'r'], ['r', 'q', 'p']]) {
      const service = new ReplicatedService(createKeyValueStore(), { clientSessionsMax: 3 });
      service.applyValue(1, value(...order.map((client) => command(client, 1, ['noop']))));
      service.applyValue(2, value(command('s', 1, ['noop'])));
      expect(service.cachedOutcome('p', 1)).toBeNull();
      expect(service.cachedOutcome('q', 1)).not.toBeNull();
    }
  });

  it('evicts the same session after a snapshot round trip as without one', () => {
    const build = (): ReplicatedService => {
      const service = new ReplicatedService(createKeyValueStore(), { clientSessionsMax: 3 });
      service.applyValue(1, value(command('z', 1, ['noop']), command('m', 1, ['noop'])));
      service.applyValue(2, value(command('a', 1, ['noop'])));
      return service;
    };
    const live = build();
    const restored = ReplicatedService.fromSnapshot(createKeyValueStore, build().snapshot(), { clientSessionsMax: 3 });
    for (const service of [live, restored]) service.applyValue(3, value(command('n', 1, ['noop'])));
    expect(restored.stateDigest()).toBe(live.stateDigest());
    expect(live.cachedOutcome('m', 1)).toBeNull();
    expect(restored.cachedOutcome('m', 1)).toBeNull();
  });
});

describe('ReplicatedService snapshots', () => {
  const slots: Value[] = [
    value(command('a', 1, ['set', 'x', '1']), command('b', 1, ['cas', 'x', '0', '1'])),
    value(),
    value(command('c', 7, ['incr', 'n', '10']), command('a', 2, ['set', 'doc', { k: [1, 2] }])),
    value(command('b', 2, ['get', 'doc'])),
  ];

  function replay(): ReplicatedService {
    const service = new ReplicatedService(createKeyValueStore());
    slots.forEach((slotValue, index) => service.applyValue(index + 1, slotValue));
    return service;
  }

  it('replicas that applied the same slots have identical snapshots and digests', () => {
    const one = replay();
    const two = replay();
    expect(Buffer.from(one.snapshot())).toEqual(Buffer.from(two.snapshot()));
    expect(one.stateDigest()).toMatch(/^[0-9a-f]{64}$/);
    expect(one.stateDigest()).toBe(two.stateDigest());
  });

  it('a different history gives a different digest', () => {
    const one = replay();
    const two = replay();
    two.applyValue(5, value(command('a', 3, ['noop'])));
    expect(two.stateDigest()).not.toBe(one.stateDigest());
  });

  it('restores sessions, lastAppliedSlot and the machine, and carries on', () => {
    const original = replay();
    const restored = ReplicatedService.fromSnapshot(createKeyValueStore, original.snapshot());
    expect(restored.lastAppliedSlot).toBe(4);
    expect(restored.sessionCount).toBe(3);
    expect(Buffer.from(restored.snapshot())).toEqual(Buffer.from(original.snapshot()));
    expect(restored.cachedOutcome('b', 2)).toEqual({ client: 'b', seq: 2, slot: 4, ok: true, result: { k: [1, 2] } });
    expect(restored.cachedOutcome('c', 7)).toEqual({ client: 'c', seq: 7, slot: 3, ok: true, result: 10 });
    // A retry that arrives after the restore is still answered from the session.
    const [retry] = restored.applyValue(5, value(command('c', 7, ['incr', 'n', '10'])));
    expect(retry).toEqual({ client: 'c', seq: 7, slot: 3, ok: true, result: 10 });
    expect(() => restored.applyValue(5, value())).toThrow(/slots must be applied in order/);
  });

  it('restore into an existing service replaces its state', () => {
    const target = new ReplicatedService(createKeyValueStore());
    for (let slot = 1; slot <= 10; slot++) target.applyValue(slot, value(command('old', slot, ['set', 'old', String(slot)])));
    const source = replay();
    target.restore(source.snapshot());
    expect(target.lastAppliedSlot).toBe(4);
    expect(target.cachedOutcome('old', 10)).toBeNull();
    expect(target.stateDigest()).toBe(source.stateDigest());
  });

  function restoreError(body: Record<string, unknown>): string {
    const service = replay();
    const before = service.stateDigest();
    try {
      service.restore(packSnapshot(serviceSnapshotFormat, body));
    } catch (error) {
      expect(error).toBeInstanceOf(SnapshotInvalid);
      expect(service.stateDigest()).toBe(before);
      return (error as Error).message;
    }
    throw new Error('expected restore to fail');
  }

  const machine = createKeyValueStore().snapshot();
  const session = { client: 'a', seq: 1, activitySlot: 2, slot: 1, ok: true, result: 'OK' };

  it('validates what it reads, changing nothing on a bad snapshot', () => {
    expect(restoreError({ lastAppliedSlot: -1, sessions: [], machine })).toBe('service snapshot has an invalid lastAppliedSlot');
    expect(restoreError({ lastAppliedSlot: 2, sessions: {}, machine })).toBe('service snapshot has no sessions array');
    expect(restoreError({ lastAppliedSlot: 2, sessions: [], machine: 'x' })).toBe('service snapshot has no machine bytes');
    expect(restoreError({ lastAppliedSlot: 2, sessions: [session, session], machine })).toBe(
      'service snapshot session 1 is out of order or repeats a client',
    );
    expect(restoreError({ lastAppliedSlot: 1, sessions: [session], machine })).toBe('service snapshot session 0 has an invalid activitySlot');
    expect(restoreError({ lastAppliedSlot: 2, sessions: [{ ...session, slot: 3 }], machine })).toBe(
      'service snapshot session 0 has an invalid outcome slot',
    );
    expect(restoreError({ lastAppliedSlot: 2, sessions: [{ ...session, ok: false }], machine })).toBe(
      'service snapshot session 0 has an invalid outcome',
    );
    expect(restoreError({ lastAppliedSlot: 2, sessions: [{ ...session, seq: 'one' }], machine })).toBe('service snapshot session 0 has an invalid seq');
    expect(restoreError({ lastAppliedSlot: 2, sessions: [{ ...session, client: '' }], machine })).toBe(
      'service snapshot session 0 has an invalid client id',
    );
    expect(restoreError({ lastAppliedSlot: 2, sessions: [], machine: new Uint8Array([0xc1]) })).toBe('not a paxos-kv snapshot');
  });

  it('refuses a snapshot holding more sessions than this replica allows', () => {
    const bytes = replay().snapshot();
    expect(() => ReplicatedService.fromSnapshot(createKeyValueStore, bytes, { clientSessionsMax: 2 })).toThrow(
      'service snapshot holds 3 sessions, more than clientSessionsMax 2',
    );
  });
});
