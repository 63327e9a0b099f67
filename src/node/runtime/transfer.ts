// State transfer: a node whose missing slots a peer has compacted away fetches
// that peer's latest snapshot file, one chunk per round trip, and hands the
// whole file (checked by its own CRC when decoded) to the runtime to install.
// Serving always reads from the snapshot bytes held in memory, so compaction
// on the serving side cannot pull a file from under a transfer (consul #9609);
// a transfer that asked for an older snapshot simply restarts on the newest.
import type { NodeId, Slot } from '../core/messages.js';
import type { SnapshotChunkMessage, TransferMessage } from '../../wire/protocol.js';
import type { Logger } from './log.js';

export interface HeldSnapshot {
  slot: Slot;
  bytes: Buffer;
}

export interface SnapshotTransferOptions {
  self: NodeId;
  /** Bytes per chunk: one frame each, well under the frame limit. */
  chunkBytes: number;
  /** A transfer that hears nothing for this long is abandoned (the core asks again). */
  idleMsMax: number;
  /** The largest snapshot this node accepts. */
  snapshotBytesMax: number;
  send: (message: TransferMessage) => void;
  latest: () => HeldSnapshot | null;
  onComplete: (bytes: Buffer, from: NodeId) => void;
  log: Logger;
  now?: () => number;
}

interface Incoming {
  from: NodeId;
  slot: Slot;
  totalBytes: number;
  chunks: Buffer[];
  received: number;
  lastActivityMs: number;
}

export class SnapshotTransfer {
  private incoming: Incoming | null = null;
  private readonly now: () => number;

  constructor(private readonly options: SnapshotTransferOptions) {
    this.now = options.now ?? Date.now;
  }

  get active(): boolean {
    return this.incoming !== null;
  }

  /** Starts fetching `from`'s latest snapshot unless a transfer is already under way. */
  fetch(from: NodeId): void {
    this.abandonIfIdle();
    if (this.incoming !== null) return;
    this.incoming = { from, slot: 0, totalBytes: 0, chunks: [], received: 0, lastActivityMs: this.now() };
    this.options.log.info('fetching a snapshot from a peer', { peer: from });
    this.request(0, 0);
  }

  onMessage(message: TransferMessage): void {
    if (message.type === 'snapshot_request') this.serve(message.from, message.slot, message.offset);
    else this.receive(message);
  }

  /** Called periodically: a peer that went silent mid-transfer must not block the next one. */
  abandonIfIdle(): void {
    const incoming = this.incoming;
    if (incoming === null || this.now() - incoming.lastActivityMs < this.options.idleMsMax) return;
    this.options.log.warn('abandoned a stalled snapshot transfer', { peer: incoming.from, received: incoming.received, totalBytes: incoming.totalBytes });
    this.incoming = null;
  }

  private serve(to: NodeId, slot: Slot, offset: number): void {
    const latest = this.options.latest();
    if (latest === null) return;
    // The snapshot asked for is gone or the offset is off: start over on the newest.
    const start = slot === latest.slot && offset < latest.bytes.length ? offset : 0;
    const data = latest.bytes.subarray(start, start + this.options.chunkBytes);
    this.options.send({ type: 'snapshot_chunk', from: this.options.self, to, slot: latest.slot, offset: start, totalBytes: latest.bytes.length, data });
  }

  private receive(chunk: SnapshotChunkMessage): void {
    const incoming = this.incoming;
    if (incoming === null || chunk.from !== incoming.from) return;
    if (chunk.offset === 0) this.restart(incoming, chunk);
    if (chunk.slot !== incoming.slot || chunk.offset !== incoming.received || chunk.totalBytes !== incoming.totalBytes) return;
    if (incoming.totalBytes > this.options.snapshotBytesMax) {
      this.options.log.error('refused a snapshot larger than the limit', { peer: chunk.from, totalBytes: incoming.totalBytes });
      this.incoming = null;
      return;
    }
    incoming.chunks.push(Buffer.from(chunk.data));
    incoming.received += chunk.data.length;
    incoming.lastActivityMs = this.now();
    if (incoming.received < incoming.totalBytes) return this.request(incoming.slot, incoming.received);
    this.incoming = null;
    this.options.onComplete(Buffer.concat(incoming.chunks), incoming.from);
  }

  private restart(incoming: Incoming, chunk: SnapshotChunkMessage): void {
    incoming.slot = chunk.slot;
    incoming.totalBytes = chunk.totalBytes;
    incoming.chunks = [];
    incoming.received = 0;
  }

  private request(slot: Slot, offset: number): void {
    const incoming = this.incoming;
    if (incoming === null) return;
    this.options.send({ type: 'snapshot_request', from: this.options.self, to: incoming.from, slot, offset });
  }
}
