// State transfer between two SnapshotTransfer instances over a scripted
// network: messages wait in a queue until the test delivers them, and time is
// a counter the test moves, so a new snapshot can be taken between any two
// chunks and a transfer can be made to go quiet.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeSnapshot, type Snapshot } from '../../../src/node/storage/snapshot.js';
import { SnapshotTransfer, type HeldSnapshot, type SnapshotTransferLimits } from '../../../src/node/driver/transfer.js';
import type { Logger, LogFields } from '../../../src/node/runtime/log.js';
import type { TransferMessage } from '../../../src/wire/protocol.js';

interface Line {
  level: string;
  message: string;
  fields: LogFields;
}

function recordingLogger(lines: Line[]): Logger {
  const logger: Logger = {
    debug: (message, fields = {}) => lines.push({ level: 'debug', message, fields }),
    info: (message, fields = {}) => lines.push({ level: 'info', message, fields }),
    warn: (message, fields = {}) => lines.push({ level: 'warn', message, fields }),
    error: (message, fields = {}) => lines.push({ level: 'error', message, fields }),
    child: () => logger,
  };
  return logger;
}

function snapshotAt(slot: number, stateBytes: number): HeldSnapshot {
  return { slot, bytes: encodeSnapshot({ slot, appliedDigest: `digest-${slot}`, state: randomBytes(stateBytes) }) };
}

const limits: SnapshotTransferLimits = {
  chunkBytes: 1024,
  idleMsMax: 5_000,
  snapshotBytesMax: 1024 * 1024,
  snapshotsHeldForTransfersMax: 2,
  compactionHoldSlotsMax: 1_000,
};

/** Node 1 serves snapshots; nodes 2 and 3 fetch them. */
class Network {
  clock = 0;
  readonly queue: TransferMessage[] = [];
  readonly sent: TransferMessage[] = [];
  readonly lines: Line[] = [];
  readonly installed = new Map<number, { snapshot: Snapshot; bytes: Buffer }[]>();
  latest: HeldSnapshot | null;
  /** Changes a chunk on its way (to damage it). */
  tamper: (message: TransferMessage) => TransferMessage = (message) => message;
  readonly nodes = new Map<number, SnapshotTransfer>();

  constructor(latest: HeldSnapshot | null, overrides: Partial<SnapshotTransferLimits> = {}) {
    this.latest = latest;
    for (const self of [1, 2, 3]) this.nodes.set(self, this.makeNode(self, overrides));
  }

  makeNode(self: number, overrides: Partial<SnapshotTransferLimits> = {}): SnapshotTransfer {
    return new SnapshotTransfer({
      ...limits,
      ...overrides,
      self,
      send: (message) => {
        this.sent.push(message);
        this.queue.push(message);
      },
      latest: () => (self === 1 ? this.latest : null),
      onComplete: (snapshot, bytes, _from, installed) => {
        this.installed.set(self, [...(this.installed.get(self) ?? []), { snapshot, bytes }]);
        installed();
      },
      log: recordingLogger(this.lines),
      now: () => this.clock,
    });
  }

  node(id: number): SnapshotTransfer {
    return this.nodes.get(id)!;
  }

  /** Delivers queued messages (and those they cause) until none is left, or `limit` have been delivered. */
  run(limit = Number.POSITIVE_INFINITY): number {
    let delivered = 0;
    while (this.queue.length > 0 && delivered < limit) {
      const message = this.tamper(this.queue.shift()!);
      this.clock += 10;
      this.nodes.get(message.to)!.onMessage(message);
      delivered += 1;
    }
    return delivered;
  }

  requests(to = 1): { slot: number; offset: number }[] {
    return this.sent.flatMap((message) => (message.type === 'snapshot_request' && message.to === to ? [{ slot: message.slot, offset: message.offset }] : []));
  }

  chunks(to: number): { slot: number; offset: number }[] {
    return this.sent.flatMap((message) => (message.type === 'snapshot_chunk' && message.to === to ? [{ slot: message.slot, offset: message.offset }] : []));
  }

  logged(pattern: RegExp): Line[] {
    return this.lines.filter((line) => pattern.test(line.message));
  }
}

/** Lets anything still pending in the event loop run. */
async function settle(): Promise<void> {
  await new Promise((done) => setImmediate(done));
}

describe('snapshot transfer', () => {
  it('fetches a snapshot of many chunks, asking for each offset in turn', async () => {
    const snapshot = snapshotAt(40, 10_000);
    const net = new Network(snapshot);
    net.node(2).fetch(1);
    net.run();
    const chunkCount = Math.ceil(snapshot.bytes.length / limits.chunkBytes);
    expect(chunkCount).toBeGreaterThan(5);
    expect(net.requests()).toEqual([
      { slot: 0, offset: 0 },
      ...Array.from({ length: chunkCount - 1 }, (_, i) => ({ slot: 40, offset: (i + 1) * limits.chunkBytes })),
    ]);
    const installed = net.installed.get(2)!;
    expect(installed).toHaveLength(1);
    expect(installed[0].bytes.equals(snapshot.bytes)).toBe(true);
    expect(installed[0].snapshot.slot).toBe(40);
    expect(installed[0].snapshot.appliedDigest).toBe('digest-40');
    await settle();
    expect(net.node(2).active).toBe(false);
  });

  it('finishes on the snapshot it started with when the server takes a newer one mid-transfer', async () => {
    const first = snapshotAt(40, 10_000);
    const net = new Network(first);
    net.node(2).fetch(1);
    net.run(6); // three round trips
    expect(net.chunks(2).length).toBe(3);
    // The server takes two more snapshots while the transfer runs.
    net.latest = snapshotAt(90, 12_000);
    net.run(4);
    net.latest = snapshotAt(140, 12_000);
    net.run();
    expect(net.chunks(2).every((chunk) => chunk.slot === 40)).toBe(true);
    expect(net.chunks(2).filter((chunk) => chunk.offset === 0)).toHaveLength(1);
    const installed = net.installed.get(2)!;
    expect(installed).toHaveLength(1);
    expect(installed[0].bytes.equals(first.bytes)).toBe(true);
    // Once it is sent the server lets go of the old snapshot's bytes.
    expect(net.node(1).snapshotsHeld).toBe(0);
    await settle();
    // The next transfer starts on the newest.
    net.node(2).fetch(1);
    net.run();
    expect(net.installed.get(2)!.map((entry) => entry.snapshot.slot)).toEqual([40, 140]);
  });

  it('never restarts on a chunk at offset 0 that it did not ask for', () => {
    const net = new Network(snapshotAt(40, 10_000));
    net.node(2).fetch(1);
    net.run(4);
    const received = net.chunks(2).length;
    // A stray first chunk of another snapshot (an old server's restart) is ignored.
    const stray = snapshotAt(90, 3_000);
    net.node(2).onMessage({ type: 'snapshot_chunk', from: 1, to: 2, slot: 90, offset: 0, totalBytes: stray.bytes.length, data: stray.bytes.subarray(0, 1024) });
    net.run();
    expect(net.chunks(2).length).toBeGreaterThan(received);
    expect(net.installed.get(2)![0].snapshot.slot).toBe(40);
  });

  it('abandons a transfer that goes quiet, on both sides, and starts afresh on the newest', async () => {
    const net = new Network(snapshotAt(40, 10_000));
    net.node(2).fetch(1);
    net.run(4);
    net.queue.length = 0; // the link goes dead mid-transfer
    expect(net.node(2).active).toBe(true);
    expect(net.node(1).snapshotsHeld).toBe(1);
    net.clock += limits.idleMsMax - 1;
    net.node(2).abandonIfIdle();
    net.node(1).abandonIfIdle();
    expect(net.node(2).active).toBe(true);
    net.clock += 1;
    net.node(2).abandonIfIdle();
    net.node(1).abandonIfIdle();
    expect(net.node(2).active).toBe(false);
    expect(net.logged(/abandoned a stalled snapshot transfer/)).toHaveLength(1);
    expect(net.node(1).snapshotsHeld).toBe(0);
    // A late request for the abandoned snapshot, now replaced, is answered "gone".
    net.latest = snapshotAt(90, 10_000);
    net.node(1).onMessage({ type: 'snapshot_request', from: 3, to: 1, slot: 40, offset: 2048 });
    expect(net.queue.pop()).toMatchObject({ type: 'snapshot_unavailable', to: 3, slot: 40, reason: 'gone' });
    // The next fetch starts over, on the newest.
    net.node(2).fetch(1);
    net.run();
    expect(net.installed.get(2)!.map((entry) => entry.snapshot.slot)).toEqual([90]);
  });

  it('drops a transfer the server can no longer serve, and asks again later', () => {
    const net = new Network(snapshotAt(40, 10_000));
    net.node(2).fetch(1);
    net.run(4);
    // The server restarts: it forgets the transfer and its newest snapshot is another one.
    net.nodes.set(1, net.makeNode(1));
    net.latest = snapshotAt(90, 10_000);
    net.run();
    expect(net.node(2).active).toBe(false);
    expect(net.logged(/cannot serve the snapshot/)[0].fields).toMatchObject({ reason: 'gone', slot: 40 });
    expect(net.installed.get(2)).toBeUndefined();
  });

  it('resumes after the server restarts when its newest snapshot is the one being sent', () => {
    const snapshot = snapshotAt(40, 10_000);
    const net = new Network(snapshot);
    net.node(2).fetch(1);
    net.run(4);
    net.nodes.set(1, net.makeNode(1));
    net.run();
    expect(net.installed.get(2)![0].bytes.equals(snapshot.bytes)).toBe(true);
  });

  it('refuses a snapshot larger than its limit before receiving it', () => {
    const net = new Network(snapshotAt(40, 10_000));
    net.nodes.set(2, net.makeNode(2, { snapshotBytesMax: 4096 }));
    net.node(2).fetch(1);
    net.run();
    expect(net.requests()).toEqual([{ slot: 0, offset: 0 }]);
    expect(net.node(2).active).toBe(false);
    expect(net.logged(/refused a snapshot larger than the limit/)[0].fields).toMatchObject({ peer: 1, snapshotBytesMax: 4096 });
    expect(net.installed.get(2)).toBeUndefined();
  });

  it('refuses a snapshot damaged on the way, and fetches it again whole', () => {
    const net = new Network(snapshotAt(40, 10_000));
    net.tamper = (message) => {
      if (message.type !== 'snapshot_chunk' || message.offset !== 3 * limits.chunkBytes) return message;
      const data = Buffer.from(message.data);
      data[17] ^= 0x01;
      return { ...message, data };
    };
    net.node(2).fetch(1);
    net.run();
    expect(net.installed.get(2)).toBeUndefined();
    expect(net.node(2).active).toBe(false);
    expect(String(net.logged(/refused a damaged snapshot/)[0].fields.error)).toMatch(/checksum mismatch/);
    net.tamper = (message) => message;
    net.node(2).fetch(1);
    net.run();
    expect(net.installed.get(2)).toHaveLength(1);
  });

  it('holds at most snapshotsHeldForTransfersMax snapshots, and makes new transfers wait rather than cut one off', async () => {
    const net = new Network(snapshotAt(40, 10_000), { snapshotsHeldForTransfersMax: 1 });
    net.node(2).fetch(1);
    net.run(4);
    net.latest = snapshotAt(90, 10_000);
    net.node(3).fetch(1);
    net.run(4); // node 3's request is refused; node 2's transfer goes on
    expect(net.sent.find((message) => message.type === 'snapshot_unavailable')).toMatchObject({ to: 3, slot: 0, reason: 'busy' });
    expect(net.node(3).active).toBe(false);
    net.run();
    expect(net.installed.get(2)![0].snapshot.slot).toBe(40);
    // With node 2's transfer done, node 3 gets the newest.
    net.node(3).fetch(1);
    net.run();
    expect(net.installed.get(3)![0].snapshot.slot).toBe(90);
  });

  it('lets transfers on the same snapshot share it', () => {
    const net = new Network(snapshotAt(40, 10_000), { snapshotsHeldForTransfersMax: 1 });
    net.node(2).fetch(1);
    net.node(3).fetch(1);
    net.run();
    expect(net.installed.get(2)![0].snapshot.slot).toBe(40);
    expect(net.installed.get(3)![0].snapshot.slot).toBe(40);
  });

  it('waits for an install to finish before it fetches again', async () => {
    const net = new Network(snapshotAt(40, 2_000));
    let finish: () => void = () => undefined;
    net.nodes.set(2, new SnapshotTransfer({
      ...limits,
      self: 2,
      send: (message) => net.queue.push(message),
      latest: () => null,
      onComplete: (_snapshot, _bytes, _from, installed) => (finish = installed),
      log: recordingLogger(net.lines),
      now: () => net.clock,
    }));
    net.node(2).fetch(1);
    net.run();
    expect(net.node(2).active).toBe(true);
    net.node(2).fetch(1);
    expect(net.queue).toHaveLength(0);
    finish();
    await settle();
    expect(net.node(2).active).toBe(false);
  });

  it('keeps the log after the snapshot being sent, and after it while the peer catches up', () => {
    const net = new Network(snapshotAt(40, 10_000));
    const server = net.node(1);
    expect(server.compactionFloor(40)).toBe(40); // no transfer: compact all the way
    net.node(2).fetch(1);
    net.run(4);
    expect(server.compactionFloor(90)).toBe(40); // mid-transfer
    net.run();
    expect(server.compactionFloor(90)).toBe(40); // sent; the peer has yet to ask for what follows
    server.onCatchupRequest(2, 41);
    expect(server.compactionFloor(140)).toBe(40);
    server.onCatchupRequest(2, 301);
    expect(server.compactionFloor(140)).toBe(140);
    expect(server.compactionFloor(400)).toBe(300);
    // A peer that catches up no more releases the hold once it has been quiet long enough.
    net.clock += limits.idleMsMax;
    expect(server.compactionFloor(400)).toBe(400);
    // Requests from a peer we sent nothing to hold nothing.
    server.onCatchupRequest(3, 5);
    expect(server.compactionFloor(450)).toBe(450);
  });

  it('holds the log no more than compactionHoldSlotsMax behind the newest snapshot', () => {
    const net = new Network(snapshotAt(40, 10_000));
    net.node(2).fetch(1);
    net.run(4);
    expect(net.node(1).compactionFloor(40 + limits.compactionHoldSlotsMax)).toBe(40);
    expect(net.node(1).compactionFloor(50 + limits.compactionHoldSlotsMax)).toBe(50);
    expect(net.logged(/catches up too slowly/)).toHaveLength(1);
    // The transfer itself goes on, on the snapshot it started with.
    net.run();
    expect(net.installed.get(2)![0].snapshot.slot).toBe(40);
  });

  it('answers "none" when it has no snapshot', () => {
    const net = new Network(null);
    net.node(2).fetch(1);
    net.run();
    expect(net.sent.at(-1)).toMatchObject({ type: 'snapshot_unavailable', reason: 'none', slot: 0 });
    expect(net.node(2).active).toBe(false);
  });
});

describe('holding snapshots for peers that gave up', () => {
  it('a peer that gave a transfer up and asks for chosen slots does not keep its snapshot held (three such peers refused every transfer for good)', () => {
    const network = new Network(snapshotAt(10, 4096));
    const server = network.node(1);
    server.onMessage({ type: 'snapshot_request', from: 2, to: 1, slot: 0, offset: 0 });
    network.latest = snapshotAt(20, 4096);
    server.onMessage({ type: 'snapshot_request', from: 3, to: 1, slot: 0, offset: 0 });
    expect(server.snapshotsHeld).toBe(2);
    // Both stop fetching (refused elsewhere, restarted, ...) and keep asking for chosen slots, as a lagging replica does.
    for (let step = 0; step < 10; step += 1) {
      network.clock += 1_000;
      server.onCatchupRequest(2, 1);
      server.onCatchupRequest(3, 1);
    }
    network.latest = snapshotAt(30, 4096);
    network.queue.length = 0;
    server.onMessage({ type: 'snapshot_request', from: 4, to: 1, slot: 0, offset: 0 });
    expect(network.queue.map((message) => message.type)).toEqual(['snapshot_chunk']);
  });
});
