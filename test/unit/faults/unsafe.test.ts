import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../../src/node/runtime/log.js';
import { makeWritesBehind, unsafeWriteBehindMs } from '../../../src/node/runtime/unsafe.js';
import { proposedRegistrations, readLocally } from '../../../src/node/driver/unsafe.js';
import { createKeyValueStore } from '../../../src/node/statemachine/kv.js';
import { ReplicatedService } from '../../../src/node/statemachine/sessions.js';
import type { WriteAheadLog } from '../../../src/node/storage/wal.js';
import type { SubmitRequest } from '../../../src/wire/protocol.js';

function submit(op: unknown): SubmitRequest {
  return { type: 'submit', id: 1, client: 'reader', seq: 5, op };
}

describe('--unsafe-local-reads', () => {
  it('answers get from the replica state and leaves that state untouched', () => {
    const service = new ReplicatedService(createKeyValueStore());
    service.applyValue(1, { commands: [{ client: 'writer', seq: 0, op: null }] });
    service.applyValue(2, { commands: [{ client: 'writer@1.0', seq: 1, op: ['set', 'x', '7'] }] });
    const before = service.stateDigest();
    expect(readLocally(service, createKeyValueStore, submit(['get', 'x']))).toMatchObject({ client: 'reader', seq: 5, ok: true, result: '7' });
    expect(service.stateDigest()).toBe(before);
    expect(service.lastAppliedSlot).toBe(2);
    expect(service.sessionCount).toBe(1);
  });

  it('finds the registrations in the accepts a leader sends, named after their slot and position', () => {
    const accept = (to: number, slot: number) => ({
      type: 'accept' as const,
      from: 1,
      to,
      ballot: { round: 1, node: 1 },
      slot,
      commitIndex: 0,
      value: { commands: [{ client: 'n@1.0', seq: 3, op: ['get', 'x'] }, { client: 'fresh', seq: 0, op: null }] },
    });
    expect(proposedRegistrations([accept(2, 9), accept(3, 9)])).toEqual([{ nonce: 'fresh', session: 'fresh@9.1' }]);
  });

  it('leaves every other command to the log', () => {
    const service = new ReplicatedService(createKeyValueStore());
    expect(readLocally(service, createKeyValueStore, submit(['set', 'x', '1']))).toBeNull();
  });
});

describe('--unsafe-ack-before-fsync', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('resolves appends at once and writes them late, in order', async () => {
    const written: string[] = [];
    const record = (name: string) => () => {
      written.push(name);
      return Promise.resolve();
    };
    const wal = { append: vi.fn(record('append')), appendLazily: vi.fn(record('lazily')), checkpoint: vi.fn(record('checkpoint')) };
    makeWritesBehind(wal as unknown as WriteAheadLog, silentLogger);
    await wal.append([]);
    await wal.appendLazily([]);
    await wal.checkpoint([]);
    expect(written).toEqual([]);
    vi.advanceTimersByTime(unsafeWriteBehindMs);
    expect(written).toEqual(['append', 'lazily', 'checkpoint']);
  });
});
