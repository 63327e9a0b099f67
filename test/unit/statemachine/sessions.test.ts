import { describe, expect, it } from 'vitest';
import type { Command, Value } from '../../../src/node/core/messages.js';
import { createKeyValueStore } from '../../../src/node/statemachine/kv.js';
import {
  ReplicatedService,
  clientIdBytesMax,
  clientNonceCharsMax,
  refusalMessageCharsMax,
  serviceSnapshotFormat,
  serviceSnapshotVersion,
  sessionResultBytesMax,
  sessionWindow,
  type CommandOutcome,
} from '../../../src/node/statemachine/sessions.js';
import { packSnapshot } from '../../../src/node/statemachine/snapshot-codec.js';
import { CommandRefused, SnapshotInvalid, type StateMachine } from '../../../src/node/statemachine/types.js';

function value(...commands: Command[]): Value {
  return { commands };
}

function command(client: string, seq: number, op: unknown): Command {
  return { client, seq, op };
}

/** A registration: seq 0, no op; `nonce` is any text the client picks. */
function registration(nonce: string): Command {
  return { client: nonce, seq: 0, op: null };
}

/** Applies the next slot of `service`. */
function next(service: ReplicatedService, ...commands: Command[]): CommandOutcome[] {
  return service.applyValue(service.lastAppliedSlot + 1, value(...commands));
}

/** Registers one session per nonce, all in the next slot, and returns their ids. */
function register(service: ReplicatedService, ...nonces: string[]): string[] {
  return next(service, ...nonces.map(registration)).map((outcome) => {
    if (!outcome.ok) throw new Error(`registration refused: ${outcome.error}`);
    return (outcome.result as { session: string }).session;
  });
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

describe('ReplicatedService registering sessions', () => {
  it('names a session after where its registration was chosen, and a retried registration opens another', () => {
    const service = new ReplicatedService(createKeyValueStore());
    service.applyValue(1, value());
    const outcomes = service.applyValue(2, value(registration('n1'), registration('n2'), registration('n1')));
    expect(outcomes).toEqual([
      { client: 'n1', seq: 0, slot: 2, ok: true, result: { session: 'n1@2.0' } },
      { client: 'n2', seq: 0, slot: 2, ok: true, result: { session: 'n2@2.1' } },
      { client: 'n1', seq: 0, slot: 2, ok: true, result: { session: 'n1@2.2' } },
    ]);
    expect(service.sessionCount).toBe(3);
    expect(service.hasSession('n1@2.0')).toBe(true);
  });

  it('refuses a registration with an op or an overlong nonce, opening nothing', () => {
    const service = new ReplicatedService(createKeyValueStore());
    const outcomes = next(service, command('n', 0, ['set', 'x', '1']), registration('n'.repeat(clientNonceCharsMax + 1)));
    expect(outcomes.map((outcome) => (outcome.ok ? 'ok' : outcome.error))).toEqual([
      'invalid command: seq 0 registers a session and carries no op (op must be null)',
      `invalid command: a registration's nonce is longer than ${clientNonceCharsMax} characters`,
    ]);
    expect(service.sessionCount).toBe(0);
  });

  it('never executes a command of a session it does not know: session_expired', () => {
    const machine = countingMachine();
    const service = new ReplicatedService(machine);
    const [outcome] = next(service, command('never-registered', 1, ['incr', 'n']));
    expect(outcome).toMatchObject({ client: 'never-registered', seq: 1, slot: 1, ok: false, sessionError: 'session_expired' });
    expect(outcome.ok === false && outcome.error).toMatch(/^session_expired: the replicas do not know this session/);
    expect(machine.applied).toBe(0);
    expect(service.sessionCount).toBe(0);
  });
});

describe('ReplicatedService applying slots', () => {
  it('applies the commands of a slot in order and reports each outcome', () => {
    const service = new ReplicatedService(createKeyValueStore());
    const [a, b, c] = register(service, 'a', 'b', 'c');
    const outcomes = next(service, command(a, 1, ['set', 'x', '3']), command(b, 1, ['cas', 'x', '1', '2']), command(c, 1, ['get', 'x']));
    expect(outcomes).toEqual([
      { client: a, seq: 1, slot: 2, ok: true, result: 'OK' },
      { client: b, seq: 1, slot: 2, ok: false, error: 'cas failed: x is 3' },
      { client: c, seq: 1, slot: 2, ok: true, result: '3' },
    ]);
    expect(service.lastAppliedSlot).toBe(2);
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
    const [a, b, c] = register(service, 'a', 'b', 'c');
    const first = next(service, command(a, 1, ['incr', 'n']));
    next(service, command(b, 1, ['incr', 'n']));
    const retry = next(service, command(a, 1, ['incr', 'n']));
    expect(first).toEqual([{ client: a, seq: 1, slot: 2, ok: true, result: 1 }]);
    expect(retry).toEqual(first);
    expect(machine.applied).toBe(2);
    expect(next(service, command(c, 1, ['get', 'n']))[0]).toMatchObject({ result: '2' });
  });

  it('answers a retried refusal with the same refusal, without executing it again', () => {
    const machine = countingMachine();
    const service = new ReplicatedService(machine);
    const [a] = register(service, 'a');
    const first = next(service, command(a, 1, ['cas', 'x', '1', '2']));
    const retry = next(service, command(a, 1, ['cas', 'x', '1', '2']));
    expect(retry).toEqual(first);
    expect(retry[0]).toMatchObject({ ok: false, error: 'cas failed: x is (nil)', slot: 2 });
    expect(machine.applied).toBe(1);
  });

  it('deduplicates a retry within the same slot too', () => {
    const machine = countingMachine();
    const service = new ReplicatedService(machine);
    const [a] = register(service, 'a');
    const outcomes = next(service, command(a, 1, ['incr', 'n']), command(a, 1, ['incr', 'n']));
    expect(outcomes[1]).toEqual(outcomes[0]);
    expect(machine.applied).toBe(1);
  });

  it('(a) answers a pipelined retry below the latest seq with its original outcome, not a refusal', () => {
    const machine = countingMachine();
    const service = new ReplicatedService(machine);
    const [a] = register(service, 'a');
    const first = next(service, command(a, 4, ['incr', 'n']));
    next(service, command(a, 5, ['set', 'x', '1']));
    const retry = next(service, command(a, 4, ['incr', 'n']));
    expect(retry).toEqual(first);
    expect(retry[0]).toEqual({ client: a, seq: 4, slot: 2, ok: true, result: 1 });
    expect(machine.applied).toBe(2);
    expect(service.cachedOutcome(a, 4)).toEqual(first[0]);
    expect(service.cachedOutcome(a, 5)).toEqual({ client: a, seq: 5, slot: 3, ok: true, result: 'OK' });
  });

  it('(b) executes a pipelined command chosen after a higher seq, once', () => {
    const machine = countingMachine();
    const service = new ReplicatedService(machine);
    const [a] = register(service, 'a');
    next(service, command(a, 2, ['incr', 'n']));
    const late = next(service, command(a, 1, ['incr', 'n']));
    expect(late).toEqual([{ client: a, seq: 1, slot: 3, ok: true, result: 2 }]);
    expect(next(service, command(a, 1, ['incr', 'n']))).toEqual(late);
    expect(next(service, command(a, 2, ['incr', 'n']))[0]).toMatchObject({ slot: 2, result: 1 });
    expect(machine.applied).toBe(2);
  });

  it('(d) answers a seq at or below the floor with result_forgotten, never executing it', () => {
    const machine = countingMachine();
    const service = new ReplicatedService(machine);
    const [a] = register(service, 'a');
    next(service, command(a, 1, ['incr', 'n']));
    next(service, command(a, 3, ['incr', 'n'])); // seq 2 is still open
    next(service, command(a, sessionWindow + 2, ['incr', 'n'])); // floor is now 2
    for (const seq of [1, 2]) {
      const [outcome] = next(service, command(a, seq, ['incr', 'n']));
      expect(outcome).toMatchObject({ client: a, seq, ok: false, sessionError: 'result_forgotten', slot: service.lastAppliedSlot });
      expect(outcome.ok === false && outcome.error).toMatch(/may have been applied and its result is no longer kept/);
    }
    expect(service.cachedOutcome(a, 1)).toBeNull();
    // Seq 3 is inside the window: kept; seq 4 never ran and is above the floor: it runs.
    expect(next(service, command(a, 3, ['incr', 'n']))[0]).toMatchObject({ ok: true, result: 2, slot: 3 });
    expect(next(service, command(a, 4, ['incr', 'n']))[0]).toMatchObject({ ok: true, result: 4 });
    expect(machine.applied).toBe(4);
  });

  it('keeps at most a window of outcomes per session', () => {
    const service = new ReplicatedService(createKeyValueStore());
    const [a] = register(service, 'a');
    for (let seq = 1; seq <= 3 * sessionWindow; seq++) next(service, command(a, seq, ['incr', 'n']));
    const kept = Array.from({ length: 3 * sessionWindow }, (_, index) => service.cachedOutcome(a, index + 1)).filter((outcome) => outcome !== null);
    expect(kept).toHaveLength(sessionWindow);
    expect(service.cachedOutcome(a, 2 * sessionWindow + 1)).not.toBeNull();
    expect(service.cachedOutcome(a, 2 * sessionWindow)).toBeNull();
  });

  it('keeps results within sessionResultBytesMax besides the newest: older large results are dropped, their retries get result_forgotten and never run again', () => {
    const machine = countingMachine();
    const service = new ReplicatedService(machine);
    const [a] = register(service, 'a');
    const big = 'v'.repeat(20 * 1024);
    next(service, command(a, 1, ['set', 'k', big]));
    const gets = 8;
    for (let seq = 2; seq <= 1 + gets; seq++) next(service, command(a, seq, ['get', 'k']));
    // Each get keeps ~20 KiB: only about three fit beside the newest.
    const kept = Array.from({ length: gets }, (_, index) => service.cachedOutcome(a, index + 2)).filter((outcome) => outcome !== null);
    expect(kept.length).toBeGreaterThanOrEqual(3);
    expect(kept.length).toBeLessThan(gets);
    expect(service.cachedOutcome(a, 1 + gets)).toMatchObject({ ok: true, result: big });
    const applied = machine.applied;
    const retry = next(service, command(a, 2, ['get', 'k']))[0];
    expect(retry).toMatchObject({ ok: false, sessionError: 'result_forgotten' });
    expect(machine.applied).toBe(applied);
    // A single result larger than the budget is still kept while it is the newest.
    const huge = 'h'.repeat(sessionResultBytesMax + 1);
    next(service, command(a, 2 + gets, ['set', 'k', huge]));
    next(service, command(a, 3 + gets, ['get', 'k']));
    expect(service.cachedOutcome(a, 3 + gets)).toMatchObject({ ok: true, result: huge });
    // The snapshot stays within the budget plus the newest, and a restored replica drops alike.
    expect(service.snapshot().byteLength).toBeLessThan(2 * sessionResultBytesMax + 2 * huge.length + 4096);
    const restored = ReplicatedService.fromSnapshot(createKeyValueStore, service.snapshot());
    expect(restored.snapshot()).toEqual(service.snapshot());
    for (const replica of [service, restored]) next(replica, command(a, 4 + gets, ['get', 'k']));
    expect(restored.snapshot()).toEqual(service.snapshot());
    expect(restored.cachedOutcome(a, 3 + gets)).toBeNull();
    expect(next(restored, command(a, 3 + gets, ['get', 'k']))[0]).toMatchObject({ sessionError: 'result_forgotten' });
  });

  it('with unsafeForgetsExecutedSeqs (sabotage) runs a retry again', () => {
    const machine = countingMachine();
    const service = new ReplicatedService(machine, { unsafeForgetsExecutedSeqs: true });
    const [a] = register(service, 'a');
    next(service, command(a, 1, ['incr', 'n']));
    expect(next(service, command(a, 1, ['incr', 'n']))[0]).toMatchObject({ result: 2 });
    expect(machine.applied).toBe(2);
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
    let index = 0;
    const machine: StateMachine = {
      apply: () => {
        throw thrown[index++];
      },
      snapshot: () => new Uint8Array(),
      restore: () => undefined,
    };
    const service = new ReplicatedService(machine);
    const [a] = register(service, 'a');
    const errors = thrown.map((_, seq) => {
      const [outcome] = next(service, command(a, seq + 1, ['op']));
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
    const service = new ReplicatedService(machine);
    const [a] = register(service, 'a');
    expect(next(service, command(a, 1, 'anything'))[0]).toEqual({ client: a, seq: 1, slot: 2, ok: true, result: null });
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
  it('evicts the least recently active session when a registration arrives at a full table', () => {
    const service = new ReplicatedService(createKeyValueStore(), { clientSessionsMax: 3 });
    const [a] = register(service, 'a');
    const [b] = register(service, 'b');
    const [c] = register(service, 'c');
    next(service, command(a, 1, ['noop'])); // a is now more recent than b
    const [d] = register(service, 'd');
    expect(service.sessionCount).toBe(3);
    expect([a, b, c, d].map((id) => service.hasSession(id))).toEqual([true, false, true, true]);
  });

  it('(c) answers a retry after its session was evicted with session_expired, and does not execute it', () => {
    const machine = countingMachine();
    const service = new ReplicatedService(machine, { clientSessionsMax: 2 });
    const [a] = register(service, 'a');
    next(service, command(a, 1, ['incr', 'n']));
    register(service, 'b');
    register(service, 'c'); // evicts a, the least recent
    const [retry] = next(service, command(a, 1, ['incr', 'n']));
    expect(retry).toMatchObject({ client: a, seq: 1, ok: false, sessionError: 'session_expired', slot: 5 });
    const [later] = next(service, command(a, 2, ['incr', 'n']));
    expect(later).toMatchObject({ ok: false, sessionError: 'session_expired' });
    expect(machine.applied).toBe(1);
    expect(service.hasSession(a)).toBe(false);
    expect(service.sessionCount).toBe(2);
  });

  it('counts a retry answered from the session as activity', () => {
    const service = new ReplicatedService(createKeyValueStore(), { clientSessionsMax: 2 });
    const [a] = register(service, 'a');
    next(service, command(a, 2, ['noop']));
    const [b] = register(service, 'b');
    next(service, command(a, 2, ['noop'])); // a retry, but a is alive
    register(service, 'c');
    expect(service.hasSession(a)).toBe(true);
    expect(service.hasSession(b)).toBe(false);
  });

  it('breaks ties in the same slot by the smaller session id, whatever the order in the slot', () => {
    for (const order of [['q', 'p', 'r'], ['r', 'q', 'p']]) {
      const service = new ReplicatedService(createKeyValueStore(), { clientSessionsMax: 3 });
      const ids = register(service, ...order);
      register(service, 's');
      const smallest = [...ids].sort()[0];
      expect(ids.filter((id) => !service.hasSession(id))).toEqual([smallest]);
    }
  });

  it('(f) evicts the same session on a replica restored from a snapshot as on one that applied every slot', () => {
    const build = (): { service: ReplicatedService; ids: string[] } => {
      const service = new ReplicatedService(createKeyValueStore(), { clientSessionsMax: 3 });
      const ids = [...register(service, 'z', 'm'), ...register(service, 'a')];
      next(service, command(ids[0], 1, ['incr', 'n']));
      return { service, ids };
    };
    const live = build();
    const restored = ReplicatedService.fromSnapshot(createKeyValueStore, build().service.snapshot(), { clientSessionsMax: 3 });
    for (const service of [live.service, restored]) register(service, 'n');
    expect(Buffer.from(restored.snapshot())).toEqual(Buffer.from(live.service.snapshot()));
    const evicted = live.ids.filter((id) => !live.service.hasSession(id));
    expect(evicted).toEqual([live.ids[1]]); // m@1.1: slot 1 like z@1.0, whose incr at slot 3 keeps it
    expect(live.ids.filter((id) => !restored.hasSession(id))).toEqual(evicted);
    // And the evicted session's retry is expired on both, executed on neither.
    const retries = [live.service, restored].map((service) => next(service, command(evicted[0], 1, ['incr', 'n']))[0]);
    expect(retries[0]).toEqual(retries[1]);
    expect(retries[0]).toMatchObject({ sessionError: 'session_expired' });
  });
});

describe('ReplicatedService snapshots', () => {
  /** Registers a, b, c at slot 1 and applies a window's worth of history, pipelined and out of order. */
  function replay(): { service: ReplicatedService; ids: string[] } {
    const service = new ReplicatedService(createKeyValueStore());
    const ids = register(service, 'a', 'b', 'c');
    const [a, b, c] = ids;
    next(service, command(a, 1, ['set', 'x', '1']), command(b, 1, ['cas', 'x', '0', '1']));
    next(service);
    next(service, command(c, 7, ['incr', 'n', '10']), command(a, 3, ['set', 'doc', { k: [1, 2] }]));
    next(service, command(b, 2, ['get', 'doc']), command(a, 2, ['incr', 'n']));
    for (let seq = 8; seq <= sessionWindow + 9; seq++) next(service, command(c, seq, ['incr', 'm']));
    return { service, ids };
  }

  it('(e) replicas that applied the same slots have identical snapshots and digests', () => {
    const one = replay().service;
    const two = replay().service;
    expect(Buffer.from(one.snapshot())).toEqual(Buffer.from(two.snapshot()));
    expect(one.stateDigest()).toMatch(/^[0-9a-f]{64}$/);
    expect(one.stateDigest()).toBe(two.stateDigest());
    // The same state reached through a snapshot gives the same bytes too.
    expect(Buffer.from(ReplicatedService.fromSnapshot(createKeyValueStore, one.snapshot()).snapshot())).toEqual(Buffer.from(one.snapshot()));
  });

  it('a different history gives a different digest', () => {
    const one = replay();
    const two = replay();
    next(two.service, command(two.ids[0], 4, ['noop']));
    expect(two.service.stateDigest()).not.toBe(one.service.stateDigest());
  });

  it('(e) restores every session, its window, its floor and its outcomes, and carries on alike', () => {
    const { service: original, ids } = replay();
    const [a, b, c] = ids;
    const restored = ReplicatedService.fromSnapshot(createKeyValueStore, original.snapshot());
    expect(restored.lastAppliedSlot).toBe(original.lastAppliedSlot);
    expect(restored.sessionCount).toBe(3);
    expect(Buffer.from(restored.snapshot())).toEqual(Buffer.from(original.snapshot()));
    expect(restored.cachedOutcome(b, 2)).toEqual({ client: b, seq: 2, slot: 5, ok: true, result: { k: [1, 2] } });
    expect(restored.cachedOutcome(a, 1)).toEqual({ client: a, seq: 1, slot: 2, ok: true, result: 'OK' });
    expect(restored.cachedOutcome(b, 1)).toMatchObject({ ok: false, error: 'cas failed: x is 1' });
    // After the restore, on both: a retry inside the window is answered, one at the floor is forgotten, a new seq runs.
    for (const service of [original, restored]) {
      const outcomes = next(service, command(a, 2, ['incr', 'n']), command(c, 10, ['incr', 'm']), command(c, 9, ['incr', 'm']), command(a, 4, ['incr', 'n']));
      expect(outcomes.map((outcome) => (outcome.ok ? outcome.result : outcome.sessionError ?? outcome.error))).toEqual([11, 3, 'result_forgotten', 12]);
    }
    expect(restored.stateDigest()).toBe(original.stateDigest());
    expect(() => restored.applyValue(restored.lastAppliedSlot, value())).toThrow(/slots must be applied in order/);
  });

  it('restore into an existing service replaces its state', () => {
    const target = new ReplicatedService(createKeyValueStore());
    const [old] = register(target, 'old');
    for (let seq = 1; seq <= 10; seq++) next(target, command(old, seq, ['set', 'old', String(seq)]));
    const { service: source } = replay();
    target.restore(source.snapshot());
    expect(target.hasSession(old)).toBe(false);
    expect(target.stateDigest()).toBe(source.stateDigest());
  });

  function restoreError(body: Record<string, unknown>, version = serviceSnapshotVersion): string {
    const { service } = replay();
    const before = service.stateDigest();
    try {
      service.restore(packSnapshot(serviceSnapshotFormat, body, version));
    } catch (error) {
      expect(error).toBeInstanceOf(SnapshotInvalid);
      expect(service.stateDigest()).toBe(before);
      return (error as Error).message;
    }
    throw new Error('expected restore to fail');
  }

  const machine = createKeyValueStore().snapshot();
  const window = sessionWindow;
  const session = { session: 'a@1.0', highestSeq: 2, floor: 0, activitySlot: 3, executed: [{ seq: 1, slot: 2, ok: true, result: 'OK' }, { seq: 2, slot: 3, ok: false, error: 'no' }] };
  const body = (sessions: unknown[], lastAppliedSlot = 3) => ({ lastAppliedSlot, window, sessions, machine });

  it('restores a hand-made snapshot that keeps the rules', () => {
    const service = new ReplicatedService(createKeyValueStore());
    service.restore(packSnapshot(serviceSnapshotFormat, body([session]), serviceSnapshotVersion));
    expect(service.cachedOutcome('a@1.0', 2)).toEqual({ client: 'a@1.0', seq: 2, slot: 3, ok: false, error: 'no' });
  });

  it('validates what it reads, changing nothing on a bad snapshot', () => {
    expect(restoreError({ ...body([]), lastAppliedSlot: -1 })).toBe('service snapshot has an invalid lastAppliedSlot');
    expect(restoreError({ ...body([]), window: 8 })).toBe(`service snapshot keeps a window of 8 seqs per session; this build keeps ${sessionWindow}`);
    expect(restoreError({ ...body([]), sessions: {} })).toBe('service snapshot has no sessions array');
    expect(restoreError({ ...body([]), machine: 'x' })).toBe('service snapshot has no machine bytes');
    expect(restoreError(body([session, session]))).toBe('service snapshot session 1 is out of order or repeats a session');
    expect(restoreError(body([session], 2))).toBe('service snapshot session 0 has an invalid activitySlot');
    expect(restoreError(body([{ ...session, session: '' }]))).toBe('service snapshot session 0 has an invalid session id');
    expect(restoreError(body([{ ...session, highestSeq: 'two' }]))).toBe('service snapshot session 0 has an invalid highestSeq');
    expect(restoreError(body([{ ...session, floor: 3 }]))).toBe('service snapshot session 0 has an invalid floor');
    expect(restoreError(body([{ ...session, highestSeq: window + 3, floor: 2 }]))).toBe('service snapshot session 0 has an invalid floor');
    expect(restoreError(body([{ ...session, executed: [...session.executed].reverse() }]))).toMatch(/session 0 has an executed seq out of order/);
    expect(restoreError(body([{ ...session, executed: [{ seq: 3, slot: 2, ok: true }] }]))).toMatch(/session 0 has an executed seq out of order/);
    expect(restoreError(body([{ ...session, executed: [session.executed[0]] }]))).toBe('service snapshot session 0 has no outcome for its highestSeq 2');
    expect(restoreError(body([{ ...session, executed: [{ ...session.executed[0], slot: 4 }, session.executed[1]] }]))).toBe(
      'service snapshot session 0 has an invalid slot for seq 1',
    );
    expect(restoreError(body([{ ...session, executed: [session.executed[0], { seq: 2, slot: 3, ok: false }] }]))).toBe(
      'service snapshot session 0 has an invalid outcome for seq 2',
    );
    expect(restoreError({ ...body([]), machine: new Uint8Array([0xc1]) })).toBe('not a paxos-kv snapshot');
  });

  it('refuses a snapshot of the previous layout with a message that says why', () => {
    expect(restoreError({ lastAppliedSlot: 2, sessions: [], machine }, 1)).toMatch(
      /^paxos-service snapshot version 1 is not supported \(this build reads version 2\): it was written by a build whose sessions had no window/,
    );
  });

  it('refuses a snapshot holding more sessions than this replica allows', () => {
    const bytes = replay().service.snapshot();
    expect(() => ReplicatedService.fromSnapshot(createKeyValueStore, bytes, { clientSessionsMax: 2 })).toThrow(
      'service snapshot holds 3 sessions, more than clientSessionsMax 2',
    );
  });
});
