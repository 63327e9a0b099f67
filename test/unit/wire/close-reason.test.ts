// What a real node (in this process) answers to malformed input after the hello:
// the close reason docs/protocol.md gives for it.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../../src/node/runtime/node.js';
import { encodeFrame, FrameDecoder } from '../../../src/wire/frame.js';

let node: RunningNode;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'paxos-close-'));
  node = await startNode({ id: 1, peers: new Map([[1, { host: '127.0.0.1', port: 0 }]]), dataDir });
});

afterAll(async () => {
  await node.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Says hello as a client, then sends `body` as one frame; resolves with the goodbye the node closes with. */
function afterHello(body: Buffer): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: node.address.port });
    const decoder = new FrameDecoder({ frameBytesMax: 1024 * 1024 });
    socket.on('connect', () => socket.write(encodeFrame({ type: 'hello', protocol: 1, clusterId: null, role: 'client', nodeId: null })));
    socket.on('data', (chunk) => {
      for (const frame of decoder.push(chunk) as { type: string }[]) {
        if (frame.type === 'welcome') {
          const header = Buffer.alloc(4);
          header.writeUInt32BE(body.length);
          socket.write(Buffer.concat([header, body]));
        } else if (frame.type === 'goodbye') {
          resolve(frame);
          socket.destroy();
        }
      }
    });
    socket.on('error', reject);
    setTimeout(() => reject(new Error('no goodbye in 3 s')), 3000).unref();
  });
}

describe('close reasons after the hello', () => {
  it('malformed msgpack, including the never-used byte 0xc1, is decode_failed', async () => {
    expect(await afterHello(Buffer.from([0xc1]))).toMatchObject({ code: 'decode_failed', reason: 'malformed msgpack: the never-used byte 0xc1' });
    expect(await afterHello(Buffer.from([0x82, 0xa4, ...Buffer.from('type'), 0xa6, ...Buffer.from('status'), 0xa2, ...Buffer.from('id'), 0xc1])))
      .toMatchObject({ code: 'decode_failed' });
    expect(await afterHello(Buffer.from([0x92, 0x01]))).toMatchObject({ code: 'decode_failed' });
  });

  it('well-formed msgpack of the wrong shape is invalid_message', async () => {
    expect(await afterHello(Buffer.from([0x01]))).toMatchObject({ code: 'invalid_message' });
  });
});
