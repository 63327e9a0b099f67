import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionPool, PaxosClient } from '../../../src/client/client.js';
import { parseClusterAddresses } from '../../../src/client/options.js';
import type { SubmitRequest } from '../../../src/wire/protocol.js';
import { applied, closeAll, startFakeNode } from './fake-node.js';

afterEach(closeAll);

describe('ConnectionPool: sessions sharing sockets', () => {
  it('carries several sessions over one connection, each registered with its own id and sequence', async () => {
    const node = await startFakeNode({ nodeId: 1, script: (request) => applied(`${(request as SubmitRequest).client}#${(request as SubmitRequest).seq}`) });
    const pool = new ConnectionPool();
    const addresses = parseClusterAddresses(node.address);
    const sessions = Array.from({ length: 8 }, () => new PaxosClient({ addresses, timeoutMs: 2000, pool }));
    const rounds = await Promise.all(sessions.map(async (session) => [await session.submit(['noop']), await session.submit(['noop'])]));

    expect(node.connectionsAccepted).toBe(1);
    rounds.forEach((outcomes, index) => {
      expect(outcomes.map((outcome) => (outcome.status === 'applied' ? outcome.result : outcome.status))).toEqual([
        `${sessions[index].sessionId}#1`,
        `${sessions[index].sessionId}#2`,
      ]);
    });
    for (const session of sessions) session.close();
    pool.close();
  });

  it('stays open when one session closes, and closes with its owner', async () => {
    const node = await startFakeNode({ nodeId: 1, script: () => applied('OK') });
    const pool = new ConnectionPool();
    const addresses = parseClusterAddresses(node.address);
    const first = new PaxosClient({ addresses, timeoutMs: 2000, pool });
    const second = new PaxosClient({ addresses, timeoutMs: 2000, pool });
    expect(await first.submit(['noop'])).toMatchObject({ status: 'applied' });
    first.close();
    expect(await second.submit(['noop'])).toMatchObject({ status: 'applied' });
    expect(node.connectionsAccepted).toBe(1);

    pool.close();
    expect(await second.submit(['noop'])).toMatchObject({ status: 'not_applied' });
    second.close();
  });

  it('gives each client without a pool its own connection', async () => {
    const node = await startFakeNode({ nodeId: 1, script: () => applied('OK') });
    const addresses = parseClusterAddresses(node.address);
    const sessions = [new PaxosClient({ addresses, timeoutMs: 2000 }), new PaxosClient({ addresses, timeoutMs: 2000 })];
    await Promise.all(sessions.map((session) => session.submit(['noop'])));
    expect(node.connectionsAccepted).toBe(2);
    for (const session of sessions) session.close();
  });
});
