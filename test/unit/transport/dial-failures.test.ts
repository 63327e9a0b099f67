// A node that cannot dial a peer says so, once per distinct reason: a typo'd
// host (warn) must not be silent, and a peer that is down (info) must not flood.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/node/runtime/log.js';
import { startNode, type RunningNode } from '../../../src/node/runtime/node.js';

let node: RunningNode | undefined;
let dataDir: string | undefined;

afterEach(async () => {
  await node?.stop();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  node = undefined;
});

async function refusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('dialling a peer that cannot be reached', () => {
  it('logs once per peer and reason, however often it redials: warn for a host that does not resolve, info for a refusal', async () => {
    const lines: { level: string; msg: string; peer?: number; reason?: string }[] = [];
    const log = createLogger({ level: 'info', format: 'json', write: (line) => void lines.push(JSON.parse(line)) });
    dataDir = mkdtempSync(join(tmpdir(), 'paxos-dial-'));
    const peers = new Map([
      [1, { host: '127.0.0.1', port: 0 }],
      [2, { host: 'nohost.invalid', port: 7402 }],
      [3, { host: '127.0.0.1', port: await refusedPort() }],
    ]);
    node = await startNode({ id: 1, peers, dataDir, log });
    // Backoff starts at 50 ms and doubles to 1 s: several redials of each peer in 2.5 s.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const dials = lines.filter((line) => line.msg === 'cannot reach peer; retrying');
    // ENOTFOUND, or EAI_AGAIN on a machine without a resolver.
    expect(dials.filter((line) => line.peer === 2)).toEqual([
      expect.objectContaining({ level: 'warn', reason: expect.stringMatching(/^cannot resolve the host \((ENOTFOUND|EAI_AGAIN)\): check node 2's address in --peers$/) }),
    ]);
    expect(dials.filter((line) => line.peer === 3)).toEqual([
      expect.objectContaining({ level: 'info', reason: 'connection refused (ECONNREFUSED): node 3 is not up yet, or not at this address' }),
    ]);
  });
});
