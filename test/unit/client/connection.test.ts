import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeConnection } from '../../../src/client/connection.js';
import { RequestFailedError } from '../../../src/client/errors.js';
import { parseAddress } from '../../../src/client/options.js';
import { encodeFrame } from '../../../src/wire/frame.js';
import { applied, closeAll, refusedAddress, startFakeNode } from './fake-node.js';

const connections: NodeConnection[] = [];

afterEach(async () => {
  for (const connection of connections.splice(0)) connection.close();
  await closeAll();
});

async function open(address: string, requestsInFlightMax?: number): Promise<NodeConnection> {
  const connection = await NodeConnection.open({ address: parseAddress(address), connectTimeoutMs: 500, requestsInFlightMax });
  connections.push(connection);
  return connection;
}

const submit = { type: 'submit' as const, client: 'c', seq: 1, op: ['noop'] };

async function failure(promise: Promise<unknown>): Promise<RequestFailedError> {
  const error = await promise.then(() => null, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(RequestFailedError);
  return error as RequestFailedError;
}

describe('NodeConnection', () => {
  it('learns the node id and cluster from the welcome and matches answers by id', async () => {
    const node = await startFakeNode({ nodeId: 4, clusterId: 'blue', script: (request) => ({ ...applied(request.id), delayMs: request.id === 1 ? 30 : 0 }) });
    const connection = await open(node.address);
    expect([connection.nodeId, connection.clusterId]).toEqual([4, 'blue']);
    const [first, second] = await Promise.all([connection.request(submit, 1000), connection.request(submit, 1000)]);
    expect(first).toMatchObject({ type: 'result', id: 1, result: 1 });
    expect(second).toMatchObject({ type: 'result', id: 2, result: 2 });
  });

  it('fails to open, as not sent, when nothing listens', async () => {
    const error = await failure(open(await refusedAddress()));
    expect(error).toMatchObject({ code: 'connect_failed', sent: false });
    expect(error.message).toContain('ECONNREFUSED');
  });

  describe('says when the address is not a paxos node', () => {
    /** A plain TCP server that greets or answers with `bytes` (HTTP answers a request, SSH greets first). */
    async function foreignServer(bytes: Buffer, when: 'on-connect' | 'on-data'): Promise<{ address: string; close: () => void }> {
      const server = net.createServer((socket) => {
        socket.on('error', () => undefined);
        if (when === 'on-connect') socket.end(bytes);
        else socket.once('data', () => socket.end(bytes));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return { address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, close: () => server.close() };
    }

    it.each([
      ['an HTTP server', Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'), 'on-data', '"HTTP/1.1 400 Bad Request'],
      ['an SSH server', Buffer.from('SSH-2.0-OpenSSH_9.6\r\n'), 'on-connect', '"SSH-2.0-OpenSSH_9.6'],
    ] as const)('%s: its first bytes are no paxos frame', async (_, bytes, when, shown) => {
      const server = await foreignServer(bytes, when);
      try {
        const error = await failure(NodeConnection.open({ address: parseAddress(server.address), connectTimeoutMs: 1000 }));
        expect(error).toMatchObject({ code: 'connect_failed', sent: false });
        expect(error.message).toContain(`${server.address}: not a paxos node: its first bytes are not a paxos frame; it sent ${shown}`);
        expect(error.message).toContain("is it a paxos node's port?");
        expect(error.message).not.toMatch(/exceeds the limit/);
      } finally {
        server.close();
      }
    });

    it('a server whose first frame is not a welcome', async () => {
      const server = await foreignServer(encodeFrame({ type: 'result', id: 1, slot: 1, result: null }), 'on-data');
      try {
        const error = await failure(NodeConnection.open({ address: parseAddress(server.address), connectTimeoutMs: 1000 }));
        expect(error).toMatchObject({ code: 'connect_failed', sent: false });
        expect(error.message).toMatch(/not a paxos node: its first message is not a welcome/);
      } finally {
        server.close();
      }
    });
  });

  it('fails to open when the welcome does not come in time', async () => {
    // A server that accepts the connection but never answers the hello.
    const silent = net.createServer((socket) => socket.on('error', () => undefined));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const started = Date.now();
      const error = await failure(NodeConnection.open({ address: { host: '127.0.0.1', port }, connectTimeoutMs: 100 }));
      expect(error).toMatchObject({ code: 'connect_failed', sent: false });
      expect(error.message).toContain('no welcome within 100ms');
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      silent.close();
    }
  });

  it('reports a goodbye as handshake_refused with its reason', async () => {
    const node = await startFakeNode({ nodeId: 1, goodbye: { code: 'wrong_cluster', reason: 'this is cluster red' } });
    const error = await failure(open(node.address));
    expect(error).toMatchObject({ code: 'handshake_refused', sent: false });
    expect(error.message).toContain('this is cluster red');
  });

  it('times a request out as sent, and ignores its late answer', async () => {
    const node = await startFakeNode({ nodeId: 1, script: (request) => ({ ...applied('late'), delayMs: request.id === 1 ? 200 : 0 }) });
    const connection = await open(node.address);
    expect(await failure(connection.request(submit, 50))).toMatchObject({ code: 'request_timeout', sent: true });
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await connection.request(submit, 1000)).toMatchObject({ id: 2 });
  });

  it('fails every waiting request as sent when the node closes the connection', async () => {
    const node = await startFakeNode({ nodeId: 1, script: (_, index) => (index === 0 ? { hang: true } : { close: true }) });
    const connection = await open(node.address);
    const closed = new Promise<RequestFailedError>((resolve) => connection.onClose(resolve));
    const results = await Promise.all([failure(connection.request(submit, 1000)), failure(connection.request(submit, 1000))]);
    expect(results.map((error) => [error.code, error.sent])).toEqual([['connection_closed', true], ['connection_closed', true]]);
    expect((await closed).code).toBe('connection_closed');
    expect(await failure(connection.request(submit, 1000))).toMatchObject({ code: 'connection_closed', sent: false });
  });

  it('refuses, as not sent, requests beyond requestsInFlightMax', async () => {
    const node = await startFakeNode({ nodeId: 1, script: () => ({ hang: true }) });
    const connection = await open(node.address, 1);
    const first = connection.request(submit, 1000);
    expect(await failure(connection.request(submit, 1000))).toMatchObject({ code: 'too_many_requests', sent: false });
    connection.close();
    expect(await failure(first)).toMatchObject({ code: 'connection_closed', sent: true });
  });

  it('refuses, as not sent, a request larger than a frame', async () => {
    const node = await startFakeNode({ nodeId: 1, script: () => ({ hang: true }) });
    const connection = await NodeConnection.open({ address: parseAddress(node.address), connectTimeoutMs: 500, frameBytesMax: 64 });
    connections.push(connection);
    expect(await failure(connection.request({ ...submit, op: ['set', 'x', 'y'.repeat(100)] }, 1000))).toMatchObject({ code: 'request_too_large', sent: false });
  });
});
