import { afterEach, describe, expect, it } from 'vitest';
import { PaxosClient, type PaxosClientOptions } from '../../../src/client/client.js';
import { parseClusterAddresses } from '../../../src/client/options.js';
import { sessionWindow } from '../../../src/node/statemachine/sessions.js';
import type { SubmitRequest } from '../../../src/wire/protocol.js';
import { applied, closeAll, nodeError, redirect, refusedAddress, startFakeNode, statusOf, type FakeNode } from './fake-node.js';

const clients: PaxosClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await closeAll();
});

/** A client with short limits so that failing paths finish quickly. */
function clientFor(addresses: string[], options: Partial<PaxosClientOptions> = {}): PaxosClient {
  const client = new PaxosClient({
    addresses: parseClusterAddresses(addresses.join(',')),
    timeoutMs: 2000,
    connectTimeoutMs: 500,
    attemptTimeoutMs: 500,
    ...options,
  });
  clients.push(client);
  return client;
}

function submits(node: FakeNode): SubmitRequest[] {
  return node.requests.filter((request): request is SubmitRequest => request.type === 'submit');
}

describe('PaxosClient.submit: finding the leader', () => {
  it('follows a redirect to the leader, then goes straight to it', async () => {
    const leader = await startFakeNode({ nodeId: 2, script: (request) => applied('OK', (request as SubmitRequest).seq + 10) });
    const follower = await startFakeNode({ nodeId: 1, script: () => redirect(2, leader.address) });
    const client = clientFor([follower.address, leader.address]);

    expect(await client.submit(['set', 'x', '1'])).toEqual({ status: 'applied', slot: 11, result: 'OK', address: leader.address });
    expect(await client.submit(['get', 'x'])).toMatchObject({ status: 'applied', slot: 12 });

    expect(submits(follower)).toHaveLength(1);
    expect(submits(leader).map((request) => request.seq)).toEqual([1, 2]);
    expect(submits(follower)[0]).toMatchObject({ client: client.sessionId, seq: 1, op: ['set', 'x', '1'] });
  });

  it('tries the next address after a redirect that names no leader', async () => {
    const first = await startFakeNode({ nodeId: 1, script: () => redirect(null, null) });
    const second = await startFakeNode({ nodeId: 2, script: () => applied('OK') });
    const client = clientFor([first.address, second.address]);
    expect(await client.submit(['noop'])).toMatchObject({ status: 'applied', address: second.address });
  });

  it('prefers the address it reached a node id at over the address a redirect names', async () => {
    const leader = await startFakeNode({ nodeId: 2, script: (request) => (request.type === 'status' ? { reply: { type: 'status_reply', status: statusOf(2) } } : applied('OK')) });
    // The follower's view of node 2 is a proxy address this client cannot reach.
    const proxy = await refusedAddress();
    const follower = await startFakeNode({ nodeId: 1, script: () => redirect(2, proxy) });
    const client = clientFor([follower.address, leader.address]);
    await client.status(leader.address);
    expect(await client.submit(['noop'])).toMatchObject({ status: 'applied', address: leader.address });
    expect(submits(leader)).toHaveLength(1);
  });

  it('backs off and retries while no node knows a leader (an election runs)', async () => {
    const node = await startFakeNode({ nodeId: 1, script: (_, index) => (index < 3 ? redirect(null, null) : applied('OK')) });
    const client = clientFor([node.address]);
    expect(await client.submit(['noop'])).toMatchObject({ status: 'applied' });
    expect(new Set(submits(node).map((request) => request.seq))).toEqual(new Set([1]));
  });

  it('moves on to the next node when one does not answer in time', async () => {
    const silent = await startFakeNode({ nodeId: 1, script: () => ({ hang: true }) });
    const leader = await startFakeNode({ nodeId: 2, script: () => applied('OK') });
    const client = clientFor([silent.address, leader.address], { attemptTimeoutMs: 100 });
    expect(await client.submit(['noop'])).toMatchObject({ status: 'applied', address: leader.address });
    expect(submits(leader)[0].seq).toBe(submits(silent)[0].seq);
  });
});

describe('PaxosClient.submit: determinate and unknown outcomes', () => {
  it('reports not_applied, naming every address tried, when no node is reachable', async () => {
    const addresses = [await refusedAddress(), await refusedAddress()];
    const client = clientFor(addresses, { timeoutMs: 5000, unreachableGiveUpMs: 100 });
    const started = Date.now();
    const outcome = await client.submit(['get', 'x']);
    expect(outcome).toMatchObject({ status: 'not_applied', code: 'no_node_reachable', tried: addresses });
    expect(outcome.status === 'not_applied' && outcome.error).toContain('ECONNREFUSED');
    // It gave up early: nothing was proposed, and waiting would not change that.
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('retries with the same client id and seq after the connection dies mid-request', async () => {
    const node = await startFakeNode({ nodeId: 1, script: (_, index) => (index === 0 ? { close: true } : applied('OK', 7)) });
    const client = clientFor([node.address]);
    expect(await client.submit(['set', 'x', '1'])).toMatchObject({ status: 'applied', slot: 7 });
    const [first, retry] = submits(node);
    expect(retry).toMatchObject({ client: first.client, seq: first.seq, op: first.op });
  });

  it('reports unknown when a sent request keeps failing until the timeout', async () => {
    const node = await startFakeNode({ nodeId: 1, script: () => ({ close: true }) });
    const client = clientFor([node.address], { timeoutMs: 300 });
    const outcome = await client.submit(['set', 'x', '1']);
    expect(outcome).toMatchObject({ status: 'unknown', code: 'outcome_unknown', tried: [node.address] });
    expect(submits(node).length).toBeGreaterThan(1);
    expect(new Set(submits(node).map((request) => request.seq)).size).toBe(1);
  });

  it('passes on a state machine refusal with its slot', async () => {
    const node = await startFakeNode({ nodeId: 1, script: () => ({ reply: { type: 'refused', slot: 18, error: 'cas failed: x is 3' } }) });
    const client = clientFor([node.address]);
    expect(await client.submit(['cas', 'x', '1', '2'])).toEqual({ status: 'refused', slot: 18, error: 'cas failed: x is 3', address: node.address });
  });

  it('reports not_applied after errors that say the command was certainly not proposed', async () => {
    const node = await startFakeNode({ nodeId: 1, script: () => nodeError(false, 'busy') });
    const client = clientFor([node.address], { timeoutMs: 300 });
    const outcome = await client.submit(['noop']);
    expect(outcome).toMatchObject({ status: 'not_applied', code: 'rejected' });
    expect(outcome.status === 'not_applied' && outcome.error).toContain('busy');
  });

  it.each([
    ['command_too_large', 'request_too_large'],
    ['value_too_large', 'request_too_large'],
    ['session_busy', 'rejected'],
  ])('reports %s at once as not_applied (%s), without trying elsewhere or again', async (code, notApplied) => {
    const first = await startFakeNode({ nodeId: 1, script: () => nodeError(false, code) });
    const second = await startFakeNode({ nodeId: 2, script: () => ({ reply: { type: 'result', slot: 1, result: 'OK' } }) });
    const client = clientFor([first.address, second.address], { timeoutMs: 5_000 });
    const outcome = await client.submit(['set', 'x', '1']);
    expect(outcome).toMatchObject({ status: 'not_applied', code: notApplied });
    expect(outcome.status === 'not_applied' && outcome.error).toContain(`fake ${code}`);
    expect(submits(first)).toHaveLength(1);
    expect(submits(second)).toHaveLength(0);
  });

  it('reports unknown after an error that says the command may still be chosen', async () => {
    const node = await startFakeNode({ nodeId: 1, script: (_, index) => nodeError(index === 0, 'leadership_lost') });
    const client = clientFor([node.address], { timeoutMs: 300 });
    expect(await client.submit(['noop'])).toMatchObject({ status: 'unknown' });
  });

  it('reports no_leader when nodes answer but none leads', async () => {
    const node = await startFakeNode({ nodeId: 1, script: () => redirect(null, null) });
    const client = clientFor([node.address], { timeoutMs: 300 });
    expect(await client.submit(['noop'])).toMatchObject({ status: 'not_applied', code: 'no_leader', tried: [node.address] });
  });

  it('treats a node that refuses the handshake as unreachable', async () => {
    const node = await startFakeNode({ nodeId: 1, goodbye: { code: 'shutting_down', reason: 'stopping' } });
    const client = clientFor([node.address], { unreachableGiveUpMs: 100 });
    const outcome = await client.submit(['noop']);
    expect(outcome).toMatchObject({ status: 'not_applied', code: 'no_node_reachable' });
    expect(outcome.status === 'not_applied' && outcome.error).toContain('shutting_down');
  });

  it('names what every node said when no leader is found, so a leader that refuses the connection is not hidden behind a redirect', async () => {
    const leader = await startFakeNode({ nodeId: 2, goodbye: { code: 'too_many_connections', reason: '256 connections from 127.0.0.1 are open already (--connections-per-address)' } });
    const follower = await startFakeNode({ nodeId: 1, script: () => redirect(2, leader.address) });
    const another = await startFakeNode({ nodeId: 3, script: () => redirect(2, leader.address) });
    // The last word of every round is node 3's redirect.
    const client = clientFor([follower.address, leader.address, another.address], { timeoutMs: 300 });
    const outcome = await client.submit(['noop']);
    expect(outcome).toMatchObject({ status: 'not_applied', code: 'no_leader' });
    const error = outcome.status === 'not_applied' ? outcome.error : '';
    expect(error).toContain(`${follower.address} redirected to node 2`);
    expect(error).toContain(`${leader.address}: the node closed the connection (too_many_connections): 256 connections from 127.0.0.1 are open already (--connections-per-address)`);
  });

  it('never sends a command to a node of another cluster', async () => {
    const node = await startFakeNode({ nodeId: 1, script: () => redirect(null, null) });
    const stranger = await startFakeNode({ nodeId: 2, clusterId: 'other', script: () => applied('wrong') });
    const client = clientFor([node.address, stranger.address], { timeoutMs: 300 });
    expect(await client.submit(['noop'])).toMatchObject({ status: 'not_applied', code: 'no_leader' });
    expect(submits(stranger)).toHaveLength(0);
    expect(await client.status(stranger.address)).toMatchObject({ reachable: false, code: 'wrong_cluster' });
  });
});

describe('PaxosClient.submit: sessions', () => {
  it('registers a session lazily, once, and sends every command in it with increasing seqs', async () => {
    const node = await startFakeNode({ nodeId: 1, script: (request) => applied((request as SubmitRequest).seq) });
    const client = clientFor([node.address], { clientId: 'bench-7' });
    expect(client.sessionId).toBeNull();
    expect(node.registrations).toHaveLength(0);
    await client.submit(['noop']);
    await client.submit(['noop']);
    expect(node.registrations).toEqual([expect.objectContaining({ client: 'bench-7', seq: 0, op: null })]);
    expect(client.sessionId).toBe('bench-7@1.0');
    expect(submits(node).map((request) => [request.client, request.seq])).toEqual([
      ['bench-7@1.0', 1],
      ['bench-7@1.0', 2],
    ]);
  });

  it('pipelines overlapping submits: seqs in call order, the second sent before the first is answered', async () => {
    const order: string[] = [];
    const node = await startFakeNode({
      nodeId: 1,
      script: (request) => {
        const seq = (request as SubmitRequest).seq;
        order.push(`request ${seq}`);
        return { ...applied(seq, seq), delayMs: seq === 1 ? 100 : 0 };
      },
    });
    const client = clientFor([node.address]);
    const first = client.submit(['noop']).then((outcome) => {
      order.push('answer 1');
      return outcome;
    });
    const second = client.submit(['noop']).then((outcome) => {
      order.push('answer 2');
      return outcome;
    });
    const outcomes = await Promise.all([first, second]);
    expect(outcomes.map((outcome) => outcome.status === 'applied' && outcome.result)).toEqual([1, 2]);
    expect(order).toEqual(['request 1', 'request 2', 'answer 2', 'answer 1']);
  });

  it(`keeps at most ${sessionWindow} seqs open: the next waits for the lowest unanswered one`, async () => {
    const arrived = new Map<number, number>();
    let firstAnsweredAt = 0;
    const node = await startFakeNode({
      nodeId: 1,
      script: (request) => {
        const seq = (request as SubmitRequest).seq;
        arrived.set(seq, Date.now());
        if (seq !== 1) return applied(seq);
        firstAnsweredAt = Date.now() + 150;
        return { ...applied(seq), delayMs: 150 };
      },
    });
    const client = clientFor([node.address]);
    const outcomes = await Promise.all(Array.from({ length: sessionWindow + 1 }, () => client.submit(['noop'])));
    expect(outcomes.every((outcome) => outcome.status === 'applied')).toBe(true);
    expect(submits(node).map((request) => request.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: sessionWindow + 1 }, (_, index) => index + 1));
    expect(arrived.get(sessionWindow) as number).toBeLessThan(firstAnsweredAt);
    expect(arrived.get(sessionWindow + 1) as number).toBeGreaterThanOrEqual(firstAnsweredAt - 5);
  });

  it('reports session_expired as unknown, without retrying elsewhere, and registers a new session for the next command', async () => {
    const other = await startFakeNode({ nodeId: 2, script: () => applied('elsewhere') });
    const node = await startFakeNode({
      nodeId: 1,
      script: (request, index) => (index === 0 ? nodeError(true, 'session_expired') : applied((request as SubmitRequest).client)),
    });
    const client = clientFor([node.address, other.address], { clientId: 'n' });
    const expired = await client.submit(['incr', 'x']);
    expect(expired).toMatchObject({ status: 'unknown', code: 'session_expired', tried: [node.address] });
    expect(submits(other)).toHaveLength(0);
    expect(client.sessionId).toBeNull();
    expect(await client.submit(['incr', 'x'])).toMatchObject({ status: 'applied', result: 'n@1.1' });
    expect(node.registrations.map((request) => request.client)).toEqual(['n', 'n']);
    expect(submits(node).map((request) => [request.client, request.seq])).toEqual([
      ['n@1.0', 1],
      ['n@1.1', 1],
    ]);
  });

  it('reports result_forgotten as unknown', async () => {
    const node = await startFakeNode({ nodeId: 1, script: () => nodeError(true, 'result_forgotten') });
    const client = clientFor([node.address]);
    expect(await client.submit(['noop'])).toMatchObject({ status: 'unknown', code: 'result_forgotten' });
    expect(submits(node)).toHaveLength(1);
  });

  it('reports a command as not applied, never sending it, when its session cannot be registered', async () => {
    const node = await startFakeNode({ nodeId: 1, script: () => applied('OK'), registration: () => ({ hang: true }) });
    const client = clientFor([node.address], { timeoutMs: 700 });
    const outcomes = await Promise.all([client.submit(['noop']), client.submit(['noop'])]);
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ status: 'not_applied', code: 'no_leader' });
      expect(outcome.status === 'not_applied' && outcome.error).toMatch(/^could not register a session, so the command was not sent/);
    }
    expect(submits(node)).toHaveLength(0);
  });

  it('makes a random 16-hex client id by default', () => {
    expect(clientFor(['127.0.0.1:1']).clientId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('refuses bad options', () => {
    expect(() => new PaxosClient({ addresses: [], timeoutMs: 1000 })).toThrow(/at least one/);
    expect(() => new PaxosClient({ addresses: [{ host: 'a', port: 1 }], timeoutMs: 0 })).toThrow(/timeoutMs/);
  });
});

describe('PaxosClient.status', () => {
  it('reports each node, unreachable ones with the reason', async () => {
    const node = await startFakeNode({ nodeId: 3, script: () => ({ reply: { type: 'status_reply', status: statusOf(3, { role: 'leader' }) } }) });
    const down = await refusedAddress();
    const client = clientFor([node.address, down]);
    const reports = await client.statusAll();
    expect(reports[0]).toMatchObject({ address: node.address, reachable: true, status: { id: 3, role: 'leader' } });
    expect(reports[1]).toMatchObject({ address: down, reachable: false, code: 'connect_failed' });
    expect(reports[1].reachable === false && reports[1].error).toContain('ECONNREFUSED');
  });

  it('gives up on a node that does not answer within the per-node limit', async () => {
    const node = await startFakeNode({ nodeId: 1, script: () => ({ hang: true }) });
    const client = clientFor([node.address]);
    const started = Date.now();
    const [report] = await client.statusAll(undefined, 150);
    expect(report).toMatchObject({ reachable: false, code: 'request_timeout' });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
