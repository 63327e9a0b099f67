// State transfer: a node whose missing slots a peer has compacted away fetches
// that peer's newest snapshot file, one chunk per round trip, checks the whole
// file (its own CRC and format), and hands it to the runtime to install.
//
// A transfer must not livelock (consul #9609): if the serving node took a new
// snapshot mid-transfer and the transfer restarted on it, a transfer slower
// than the snapshot interval would never finish. So, as etcd/raft does, a
// transfer keeps reading the snapshot it started on, identified by its slot,
// until it completes or goes quiet. The serving node holds that snapshot's
// bytes (at most `snapshotsHeldForTransfersMax` distinct ones), and holds its
// log after that snapshot too (`compactionFloor`), so the slots the peer needs
// next are still there when it asks for them.
import type { NodeId, Slot } from '../core/messages.js';
import type { SnapshotChunkMessage, SnapshotUnavailableMessage, SnapshotUnavailableReason, TransferMessage } from '../../wire/protocol.js';
import { decodeSnapshot, type Snapshot } from '../storage/snapshot-codec.js';
import type { Logger } from './log.js';

export interface HeldSnapshot {
  slot: Slot;
  bytes: Buffer;
}

export interface SnapshotTransferLimits {
  /** Bytes per chunk: one frame each, well under the frame limit. */
  chunkBytes: number;
  /** A transfer (either side) that hears nothing for this long is abandoned; the core asks again. */
  idleMsMax: number;
  /** The largest snapshot this node accepts from a peer. */
  snapshotBytesMax: number;
  /**
   * Distinct snapshots that transfers to peers may hold in memory at once
   * (each up to snapshotBytesMax). A transfer keeps its snapshot after newer
   * ones are taken; past this, a new transfer is refused (`busy`) until one
   * finishes, rather than one already under way being cut off.
   */
  snapshotsHeldForTransfersMax: number;
  /**
   * How far behind the newest snapshot this node may hold its log for a peer
   * that is fetching a snapshot or catching up after one. Bounds the memory
   * and disk a slow peer can cost; beyond it that peer needs a newer snapshot.
   */
  compactionHoldSlotsMax: number;
}

export interface SnapshotTransferOptions extends SnapshotTransferLimits {
  self: NodeId;
  send: (message: TransferMessage) => void;
  /** This node's newest durable snapshot. */
  latest: () => HeldSnapshot | null;
  /**
   * A peer's snapshot arrived whole and checked; no other transfer starts until
   * `installed` is called (a callback, not a Promise, so the simulation runs it synchronously).
   */
  onComplete: (snapshot: Snapshot, bytes: Buffer, from: NodeId, installed: () => void) => void;
  log: Logger;
  now?: () => number;
}

interface Incoming {
  from: NodeId;
  /** 0 until the first chunk says which snapshot the peer is sending. */
  slot: Slot;
  totalBytes: number;
  chunks: Buffer[];
  received: number;
  lastActivityMs: number;
}

/** A transfer to a peer, and then the peer's catch-up from our log after it. */
interface Outgoing {
  /** The snapshot being sent; null once the last chunk has gone. */
  snapshot: HeldSnapshot | null;
  /** The peer still needs our log after this slot (the snapshot's, then what it asks for). */
  neededAfter: Slot;
  lastActivityMs: number;
}

export class SnapshotTransfer {
  private incoming: Incoming | null = null;
  private installing = false;
  private readonly outgoing = new Map<NodeId, Outgoing>();
  private readonly now: () => number;

  constructor(private readonly options: SnapshotTransferOptions) {
    this.now = options.now ?? Date.now;
  }

  /** A transfer from a peer is under way or being installed. */
  get active(): boolean {
    return this.incoming !== null || this.installing;
  }

  /** Snapshots held for transfers to peers (the newest may be one of them). */
  get snapshotsHeld(): number {
    return this.heldSlots(null).size;
  }

  /** Starts fetching `from`'s newest snapshot unless a transfer is already under way. */
  fetch(from: NodeId): void {
    this.abandonIfIdle();
    if (this.active) return;
    this.incoming = { from, slot: 0, totalBytes: 0, chunks: [], received: 0, lastActivityMs: this.now() };
    this.options.log.info('fetching a snapshot from a peer', { peer: from });
    this.request(0, 0);
  }

  onMessage(message: TransferMessage): void {
    if (message.type === 'snapshot_request') this.serve(message.from, message.slot, message.offset);
    else if (message.type === 'snapshot_chunk') this.receive(message);
    else this.onUnavailable(message);
  }

  /**
   * A peer asked us for chosen slots from `fromSlot`: if it is catching up
   * after a snapshot we sent, keep our log from there.
   */
  onCatchupRequest(from: NodeId, fromSlot: Slot): void {
    const transfer = this.outgoing.get(from);
    // Only a peer that has the whole snapshot is catching up after it. One mid-transfer that asks for
    // chosen slots has given that transfer up (it is refused, or fetching again): its catch-up requests
    // must not keep the snapshot held, or three such peers hold every slot for transfers for good.
    if (transfer === undefined || transfer.snapshot !== null) return;
    transfer.neededAfter = Math.max(transfer.neededAfter, fromSlot - 1);
    transfer.lastActivityMs = this.now();
  }

  /**
   * The slot to compact the log to, now that a snapshot at `snapshotSlot` is
   * durable: no further than what a peer fetching or catching up still needs,
   * and no more than compactionHoldSlotsMax behind the snapshot.
   */
  compactionFloor(snapshotSlot: Slot): Slot {
    this.abandonIfIdle();
    let floor = snapshotSlot;
    for (const transfer of this.outgoing.values()) floor = Math.min(floor, transfer.neededAfter);
    const lowest = Math.max(0, snapshotSlot - this.options.compactionHoldSlotsMax);
    if (floor < lowest) {
      this.options.log.warn('stopped holding the log for a peer that catches up too slowly; it will need a newer snapshot', {
        neededAfter: floor,
        snapshot: snapshotSlot,
        compactionHoldSlotsMax: this.options.compactionHoldSlotsMax,
      });
      for (const transfer of this.outgoing.values()) transfer.neededAfter = Math.max(transfer.neededAfter, lowest);
      floor = lowest;
    }
    return floor;
  }

  /** Called periodically: a peer that went silent must not block the next transfer or hold memory and log. */
  abandonIfIdle(): void {
    const now = this.now();
    const incoming = this.incoming;
    if (incoming !== null && now - incoming.lastActivityMs >= this.options.idleMsMax) {
      this.options.log.warn('abandoned a stalled snapshot transfer', { peer: incoming.from, slot: incoming.slot, received: incoming.received, totalBytes: incoming.totalBytes });
      this.incoming = null;
    }
    for (const [peer, transfer] of this.outgoing) {
      if (now - transfer.lastActivityMs < this.options.idleMsMax) continue;
      if (transfer.snapshot !== null) this.options.log.info('a peer stopped fetching a snapshot; released it', { peer, slot: transfer.snapshot.slot });
      this.outgoing.delete(peer);
    }
  }

  // ---- serving -----------------------------------------------------------

  private serve(to: NodeId, slot: Slot, offset: number): void {
    this.abandonIfIdle();
    const snapshot = slot === 0 ? this.start(to) : this.resume(to, slot);
    if (typeof snapshot === 'string') return this.refuse(to, slot, snapshot);
    const start = slot === 0 ? 0 : offset;
    if (start >= snapshot.bytes.length) return this.refuse(to, slot, 'gone');
    const data = snapshot.bytes.subarray(start, start + this.options.chunkBytes);
    const transfer = this.outgoing.get(to)!;
    transfer.lastActivityMs = this.now();
    if (start + data.length === snapshot.bytes.length) {
      transfer.snapshot = null; // the peer has it all; keep only the hold on our log
      this.options.log.info('sent a snapshot to a peer', { peer: to, slot: snapshot.slot, bytes: snapshot.bytes.length });
    }
    this.options.send({ type: 'snapshot_chunk', from: this.options.self, to, slot: snapshot.slot, offset: start, totalBytes: snapshot.bytes.length, data });
  }

  /** A new transfer to `to`, on our newest snapshot (it replaces any earlier one to `to`). */
  private start(to: NodeId): HeldSnapshot | SnapshotUnavailableReason {
    const latest = this.options.latest();
    if (latest === null) return 'none';
    return this.hold(to, latest) ? latest : 'busy';
  }

  /** The snapshot a transfer to `to` started on; after our restart, the newest if it is the same one. */
  private resume(to: NodeId, slot: Slot): HeldSnapshot | SnapshotUnavailableReason {
    const held = this.outgoing.get(to)?.snapshot;
    if (held !== undefined && held !== null && held.slot === slot) return held;
    const latest = this.options.latest();
    if (latest === null || latest.slot !== slot) return 'gone';
    return this.hold(to, latest) ? latest : 'busy';
  }

  private hold(to: NodeId, snapshot: HeldSnapshot): boolean {
    const others = this.heldSlots(to);
    if (!others.has(snapshot.slot) && others.size >= this.options.snapshotsHeldForTransfersMax) return false;
    this.outgoing.set(to, { snapshot, neededAfter: snapshot.slot, lastActivityMs: this.now() });
    return true;
  }

  /** Slots of the snapshots held for transfers, leaving out the one to `except`. */
  private heldSlots(except: NodeId | null): Set<Slot> {
    const slots = new Set<Slot>();
    for (const [peer, transfer] of this.outgoing) if (peer !== except && transfer.snapshot !== null) slots.add(transfer.snapshot.slot);
    return slots;
  }

  private refuse(to: NodeId, slot: Slot, reason: SnapshotUnavailableReason): void {
    this.options.log.debug('cannot serve a snapshot request', { peer: to, slot, reason });
    this.options.send({ type: 'snapshot_unavailable', from: this.options.self, to, slot, reason });
  }

  // ---- receiving ---------------------------------------------------------

  private receive(chunk: SnapshotChunkMessage): void {
    const incoming = this.incoming;
    if (incoming === null || chunk.from !== incoming.from) return;
    if (incoming.slot === 0) {
      // The first chunk, in answer to "your newest", says which snapshot this is.
      if (chunk.offset !== 0) return;
      if (chunk.totalBytes > this.options.snapshotBytesMax) {
        this.options.log.error('refused a snapshot larger than the limit', { peer: chunk.from, totalBytes: chunk.totalBytes, snapshotBytesMax: this.options.snapshotBytesMax });
        this.incoming = null;
        return;
      }
      incoming.slot = chunk.slot;
      incoming.totalBytes = chunk.totalBytes;
    }
    // Only the chunk asked for counts; anything else is stale (it never restarts the transfer).
    if (chunk.slot !== incoming.slot || chunk.offset !== incoming.received || chunk.totalBytes !== incoming.totalBytes) return;
    if (chunk.data.length === 0 && incoming.received < incoming.totalBytes) {
      this.options.log.error('abandoned a snapshot transfer: the peer sent an empty chunk', { peer: chunk.from, slot: chunk.slot, offset: chunk.offset });
      this.incoming = null;
      return;
    }
    incoming.chunks.push(Buffer.from(chunk.data));
    incoming.received += chunk.data.length;
    incoming.lastActivityMs = this.now();
    if (incoming.received < incoming.totalBytes) return this.request(incoming.slot, incoming.received);
    this.incoming = null;
    this.complete(incoming);
  }

  private complete(incoming: Incoming): void {
    const bytes = Buffer.concat(incoming.chunks);
    let snapshot: Snapshot;
    try {
      snapshot = decodeSnapshot(bytes, `snapshot ${incoming.slot} from node ${incoming.from}`);
      if (snapshot.slot !== incoming.slot) throw new Error(`it holds slot ${snapshot.slot}, not the slot ${incoming.slot} it was sent as`);
    } catch (error) {
      this.options.log.error('refused a damaged snapshot from a peer', { peer: incoming.from, slot: incoming.slot, error: (error as Error).message });
      return;
    }
    this.installing = true;
    let settled = false;
    this.options.onComplete(snapshot, bytes, incoming.from, () => {
      if (settled) return;
      settled = true;
      this.installing = false;
    });
  }

  private onUnavailable(message: SnapshotUnavailableMessage): void {
    const incoming = this.incoming;
    if (incoming === null || message.from !== incoming.from || message.slot !== incoming.slot) return;
    // `busy` and `none` repeat at the catch-up pace until the peer can serve: keep them out of the way.
    const level = message.reason === 'gone' ? 'warn' : 'debug';
    this.options.log[level]('a peer cannot serve the snapshot; will ask again', { peer: message.from, slot: message.slot, reason: message.reason, received: incoming.received });
    this.incoming = null;
  }

  private request(slot: Slot, offset: number): void {
    const incoming = this.incoming;
    if (incoming === null) return;
    this.options.send({ type: 'snapshot_request', from: this.options.self, to: incoming.from, slot, offset });
  }
}
