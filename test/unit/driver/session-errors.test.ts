// The driver's answer path for session errors: a command the replicated state
// does not execute because of its session (never registered or evicted:
// session_expired; its seq below the window: result_forgotten) reaches the
// client as an error with `indeterminate: true`, never as a refusal (which
// would say "applied and changed nothing"), and never as a second execution.
import { describe, expect, it } from 'vitest';
import { NodeDriver } from '../../../src/node/driver/driver.js';
import type { Done, DriverDisk } from '../../../src/node/driver/ports.js';
import { silentLogger } from '../../../src/node/driver/log.js';
import { PaxosNode } from '../../../src/node/core/node.js';
import { foundingState } from '../../../src/node/core/membership.js';
import type { WalRecord } from '../../../src/node/core/messages.js';
import { createKeyValueStore } from '../../../src/node/statemachine/kv.js';
import { sessionErrors, sessionWindow, type ReplicatedServiceOptions } from '../../../src/node/statemachine/sessions.js';
import { resolveNodeConfig } from '../../../src/node/config.js';
import type { ClientResponse } from '../../../src/wire/protocol.js';

class InstantDisk implements DriverDisk {
  bytesWritten = 0;
  append(_records: WalRecord[], _sync: boolean, done: Done): void {
    done(null);
  }
  writeSnapshot(): void {}
  checkpoint(_records: WalRecord[], done: Done): void {
    done(null);
  }
}

/** A one-node cluster that leads, whose driver runs its deferred work before each call returns. */
function leader(serviceOptions: ReplicatedServiceOptions = {}) {
  const resolved = resolveNodeConfig();
  const deferred: (() => void)[] = [];
  const run = () => {
    while (deferred.length > 0) deferred.shift()?.();
  };
  const driver = new NodeDriver({
    id: 1,
    core: new PaxosNode({ id: 1, incarnation: 'n1', seed: 1, limits: resolved.coreLimits, founding: foundingState([{ id: 1, incarnation: 'n1' }], 256) }),
    disk: new InstantDisk(),
    network: { send: () => undefined },
    clock: { nowMs: () => 0, defer: (work) => deferred.push(work) },
    log: silentLogger,
    stateMachine: createKeyValueStore,
    stateMachineIdentity: 'builtin:kv@1',
    serviceOptions,
    snapshot: null,
    limits: { ...resolved, valueBytesMax: resolved.valueBytesMax, snapshotTransferIdleMsMax: 5_000, snapshotBytesMax: 1 << 30, snapshotRefetchMsMin: 5_000 },
    addressOf: () => null,
  });
  driver.start();
  for (let tick = 0; tick < 200 && driver.replicatedService.lastAppliedSlot === 0; tick++) {
    driver.tick();
    run();
  }
  let requestId = 0;
  const submit = (client: string, seq: number, op: unknown): ClientResponse[] => {
    const replies: ClientResponse[] = [];
    driver.submit({ type: 'submit', id: ++requestId, client, seq, op }, { reply: (response) => replies.push(response) });
    run();
    return replies;
  };
  const register = (nonce: string): string => {
    const [reply] = submit(nonce, 0, null);
    if (reply?.type !== 'result') throw new Error(`registration got ${JSON.stringify(reply)}`);
    return (reply.result as { session: string }).session;
  };
  return { driver, submit, register };
}

describe('driver: session errors travel as indeterminate errors', () => {
  it('answers a registration with the session id, and its commands with their results', () => {
    const node = leader();
    const session = node.register('n');
    expect(session).toMatch(/^n@\d+\.0$/);
    expect(node.submit(session, 1, ['incr', 'x'])).toEqual([{ type: 'result', id: 2, slot: expect.any(Number), result: 1 }]);
    // A retry below the latest seq gets the original result (the leader's cached outcome), not a refusal.
    node.submit(session, 2, ['incr', 'x']);
    expect(node.submit(session, 1, ['incr', 'x'])).toMatchObject([{ type: 'result', result: 1 }]);
  });

  it('answers a command of a session it does not know with session_expired, indeterminate, and executes nothing', () => {
    const node = leader();
    const replies = node.submit('nobody@7.0', 1, ['incr', 'x']);
    expect(replies).toEqual([{ type: 'error', id: 1, code: 'session_expired', message: expect.stringMatching(/^session_expired: /), indeterminate: true }]);
    expect(sessionErrors.session_expired.indeterminate).toBe(true);
    const session = node.register('n');
    expect(node.submit(session, 1, ['get', 'x'])).toMatchObject([{ type: 'result', result: null }]);
  });

  it('answers a retry after its session was evicted with session_expired, not a second execution', () => {
    const node = leader({ clientSessionsMax: 1 });
    const first = node.register('a');
    expect(node.submit(first, 1, ['incr', 'x'])).toMatchObject([{ type: 'result', result: 1 }]);
    const second = node.register('b'); // evicts a
    expect(node.submit(first, 1, ['incr', 'x'])).toMatchObject([{ type: 'error', code: 'session_expired', indeterminate: true }]);
    expect(node.submit(second, 1, ['get', 'x'])).toMatchObject([{ type: 'result', result: '1' }]);
  });

  it('answers a seq below the window with result_forgotten, indeterminate', () => {
    const node = leader();
    const session = node.register('n');
    node.submit(session, 1, ['incr', 'x']);
    node.submit(session, sessionWindow + 1, ['incr', 'x']);
    expect(node.submit(session, 1, ['incr', 'x'])).toMatchObject([{ type: 'error', code: 'result_forgotten', indeterminate: true }]);
    expect(node.submit(session, sessionWindow + 2, ['get', 'x'])).toMatchObject([{ type: 'result', result: '2' }]);
  });
});
