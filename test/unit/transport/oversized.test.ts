// The transport never throws on a message too large for a frame: it drops it
// and says so. The core bounds its messages in bytes, so this is the net under
// a configuration those bounds did not foresee, not a path Paxos relies on.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/node/runtime/log.js';
import { defaultTransportLimits, Transport } from '../../../src/node/runtime/transport.js';
import type { PeerMessage } from '../../../src/node/core/messages.js';

describe('Transport.send of a message over the frame limit', () => {
  it('drops it, counts it and logs an error, and still sends the rest', async () => {
    const lines: { level: string; msg: string; type?: string }[] = [];
    const transport = new Transport({
      self: 1,
      clusterId: 'c',
      peers: new Map([[2, { host: '127.0.0.1', port: 9 }]]),
      listen: { host: '127.0.0.1', port: 0 },
      limits: { ...defaultTransportLimits, frameBytesMax: 4096 },
      log: createLogger({ level: 'info', format: 'json', write: (line) => void lines.push(JSON.parse(line)) }),
      onPeerMessage: () => undefined,
      onTransferMessage: () => undefined,
      onClientRequest: () => undefined,
    });
    await transport.listen();
    try {
      const accept = (bytes: number): PeerMessage => ({
        type: 'accept', from: 1, to: 2, ballot: { round: 1, node: 1 }, slot: 1, commitIndex: 0,
        value: { commands: [{ client: 'c', seq: 1, op: 'x'.repeat(bytes) }] },
      });
      expect(() => transport.send([accept(10_000), accept(10)])).not.toThrow();
      expect(transport.peerStatus()[0].dropped).toBe(1);
      expect(lines).toContainEqual(expect.objectContaining({ level: 'error', msg: 'dropped a message too large to send', type: 'accept' }));
    } finally {
      await transport.close();
    }
  });
});
