// Fault injection for local testing (`paxos node start --enable-faults`). The
// transport asks a FaultInjector about every message between nodes: one sent
// to a peer may be dropped, held back for a while, or sent at once; one from a
// peer may be dropped. Faults live inside the node, so a partition or a slow
// link behaves the same on any machine, with no firewall rules or root.
//
// Only node-to-node traffic is touched (Paxos and snapshot transfer); clients
// are served as usual, which is what a client on the node's side of a
// partition sees. Paxos must stay safe under all of it: it tolerates lost,
// late and reordered messages, so this tests the code, not the algorithm.
import type { NodeId } from '../core/messages.js';
import type { FaultRequest, FaultResponse } from '../../wire/protocol.js';
import type { Logger } from './log.js';

/** A longer hold is a partition, and should be asked for as one; it also bounds the delay line's age. */
export const faultDelayMsMax = 60_000;

/**
 * Messages held for one peer at once. At a few thousand messages a second a
 * long delay could otherwise hold without bound; past it, messages are dropped
 * (counted), which Paxos survives by resending.
 */
export const delayedMessagesMax = 10_000;

/** Raised for a fault request that names a node that is not a peer, or an out-of-range value. */
export class FaultRequestError extends Error {
  readonly code = 'invalid_fault' as const;

  constructor(message: string) {
    super(message);
    this.name = 'FaultRequestError';
  }
}

export interface FaultInjectorOptions {
  self: NodeId;
  /** Every other node of the cluster. */
  peers: readonly NodeId[];
  log: Logger;
  /** Uniform in [0, 1). Math.random by default: the runtime may use it (the core may not). */
  random?: () => number;
}

/** What is done to the traffic with one peer. */
interface PeerFaults {
  /** Everything to and from the peer is dropped. */
  partitioned: boolean;
  /** Messages to the peer are held this long, in order. */
  delayMs: number;
  /** Each message to or from the peer is dropped with this probability. */
  dropRate: number;
}

interface FaultCounters {
  droppedByPartition: number;
  droppedAtRandom: number;
  delayed: number;
  droppedDelayLineFull: number;
}

const noFaults: Readonly<PeerFaults> = Object.freeze({ partitioned: false, delayMs: 0, dropRate: 0 });

/**
 * The faults one node injects into its own traffic with its peers. A
 * partition applied at one node cuts both directions (it neither sends to nor
 * accepts from the peers named), so partitioning node 1 from 2 and 3 isolates
 * it without touching 2 and 3.
 */
export class FaultInjector {
  private readonly faults = new Map<NodeId, PeerFaults>();
  private readonly delayLines = new Map<NodeId, DelayLine>();
  private readonly counters: FaultCounters = { droppedByPartition: 0, droppedAtRandom: 0, delayed: 0, droppedDelayLineFull: 0 };
  private readonly random: () => number;

  constructor(private readonly options: FaultInjectorOptions) {
    this.random = options.random ?? Math.random;
  }

  /** Applies a fault request; returns what the node now injects. Throws FaultRequestError on a bad request. */
  apply(request: Omit<FaultRequest, 'type' | 'id'>): string {
    const targets = this.targets(request.nodes, request.action === 'partition');
    switch (request.action) {
      case 'partition':
        for (const peer of targets) this.change(peer, { partitioned: true });
        break;
      case 'heal':
        for (const peer of targets) this.faults.delete(peer);
        break;
      case 'delay':
        if (request.delayMs > faultDelayMsMax) throw new FaultRequestError(`a delay is at most ${faultDelayMsMax}ms; use a partition for longer`);
        for (const peer of targets) this.change(peer, { delayMs: request.delayMs });
        break;
      case 'drop':
        if (!(request.rate >= 0 && request.rate <= 1)) throw new FaultRequestError(`a drop rate is between 0 and 1, got ${request.rate}`);
        for (const peer of targets) this.change(peer, { dropRate: request.rate });
        break;
    }
    const description = this.describe();
    this.options.log.warn('fault injection changed', { action: request.action, nodes: targets, faults: description });
    return description;
  }

  /** Whether a message that arrived from `from` is let through. */
  admits(from: NodeId): boolean {
    const faults = this.faults.get(from);
    if (faults === undefined) return true;
    if (faults.partitioned) {
      this.counters.droppedByPartition += 1;
      return false;
    }
    return !this.dropsAtRandom(faults);
  }

  /** Hands the messages for `to` to `send` now, later (delay) or never (partition, drop). */
  deliver<M>(to: NodeId, messages: M[], send: (messages: M[]) => void): void {
    const injected = this.faults.get(to);
    // Messages still held from an earlier delay go first, or healing would reorder the stream.
    const holding = this.delayLines.get(to)?.busy === true;
    if (injected === undefined && !holding) return send(messages);
    const faults = injected ?? noFaults;
    if (faults.partitioned) {
      this.counters.droppedByPartition += messages.length;
      return;
    }
    const kept = faults.dropRate === 0 ? messages : messages.filter(() => !this.dropsAtRandom(faults));
    if (kept.length === 0) return;
    if (faults.delayMs === 0 && !holding) return send(kept);
    this.hold(to, faults.delayMs, kept, send);
  }

  /** One line for people: what is injected now, and what it has done so far. */
  describe(): string {
    const parts: string[] = [];
    const partitioned = this.peersWhere((faults) => faults.partitioned);
    if (partitioned.length > 0) parts.push(`partitioned from ${partitioned.join(', ')}`);
    for (const [delayMs, peers] of this.groupBy((faults) => faults.delayMs)) parts.push(`delaying messages to ${peers.join(', ')} by ${delayMs}ms`);
    for (const [rate, peers] of this.groupBy((faults) => faults.dropRate)) {
      parts.push(`dropping ${formatRate(rate)} of messages to and from ${peers.join(', ')}`);
    }
    const now = parts.length === 0 ? 'no faults' : parts.join('; ');
    const c = this.counters;
    const dropped = c.droppedByPartition + c.droppedAtRandom + c.droppedDelayLineFull;
    return `node ${this.options.self}: ${now} (so far ${dropped} messages dropped, ${c.delayed} delayed)`;
  }

  /** Stops the delay lines' timers; held messages are dropped (the node is stopping). */
  close(): void {
    for (const line of this.delayLines.values()) line.clear();
  }

  private targets(nodes: readonly NodeId[], required: boolean): NodeId[] {
    const peers = this.options.peers;
    if (required && nodes.length === 0) throw new FaultRequestError('name at least one peer to partition from');
    for (const node of nodes) {
      if (node === this.options.self) throw new FaultRequestError(`node ${node} is this node; name its peers (${peers.join(', ')})`);
      if (!peers.includes(node)) throw new FaultRequestError(`node ${node} is not a peer of node ${this.options.self} (peers: ${peers.join(', ')})`);
    }
    return nodes.length === 0 ? [...peers] : [...new Set(nodes)];
  }

  private change(peer: NodeId, change: Partial<PeerFaults>): void {
    const next = { ...(this.faults.get(peer) ?? noFaults), ...change };
    // An entry only while something is injected keeps the per-message check to one lookup.
    if (!next.partitioned && next.delayMs === 0 && next.dropRate === 0) this.faults.delete(peer);
    else this.faults.set(peer, next);
  }

  private dropsAtRandom(faults: PeerFaults): boolean {
    if (faults.dropRate === 0 || this.random() >= faults.dropRate) return false;
    this.counters.droppedAtRandom += 1;
    return true;
  }

  private hold<M>(to: NodeId, delayMs: number, messages: M[], send: (messages: M[]) => void): void {
    const line = this.delayLineOf(to);
    if (line.heldMessages + messages.length > delayedMessagesMax) {
      this.counters.droppedDelayLineFull += messages.length;
      return;
    }
    this.counters.delayed += messages.length;
    // Checked again on release: a partition that began meanwhile cuts what was still in the wire.
    line.push(delayMs, messages.length, () => {
      if (this.faults.get(to)?.partitioned === true) this.counters.droppedByPartition += messages.length;
      else send(messages);
    });
  }

  private delayLineOf(peer: NodeId): DelayLine {
    let line = this.delayLines.get(peer);
    if (line === undefined) {
      line = new DelayLine();
      this.delayLines.set(peer, line);
    }
    return line;
  }

  private peersWhere(test: (faults: PeerFaults) => boolean): NodeId[] {
    return [...this.faults].filter(([, faults]) => test(faults)).map(([peer]) => peer).sort((a, b) => a - b);
  }

  /** Peers grouped by a non-zero number (a delay, a rate), for describe. */
  private groupBy(value: (faults: PeerFaults) => number): Map<number, NodeId[]> {
    const groups = new Map<number, NodeId[]>();
    for (const peer of this.peersWhere((faults) => !faults.partitioned && value(faults) > 0)) {
      const key = value(this.faults.get(peer) as PeerFaults);
      groups.set(key, [...(groups.get(key) ?? []), peer]);
    }
    return groups;
  }
}

/**
 * Messages held for one peer, released in the order they were sent: each
 * batch leaves at its send time plus the delay, but never before the batch
 * sent ahead of it, so shortening a delay cannot reorder the stream.
 */
class DelayLine {
  private readonly queue: { releaseAtMs: number; count: number; release: () => void }[] = [];
  private timer: NodeJS.Timeout | null = null;
  heldMessages = 0;

  /** True while batches wait: later ones must queue behind them even with no delay, to keep order. */
  get busy(): boolean {
    return this.queue.length > 0;
  }

  push(delayMs: number, count: number, release: () => void): void {
    const last = this.queue[this.queue.length - 1];
    const releaseAtMs = Math.max(Date.now() + delayMs, last?.releaseAtMs ?? 0);
    this.queue.push({ releaseAtMs, count, release });
    this.heldMessages += count;
    this.arm();
  }

  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
    this.heldMessages = 0;
  }

  private arm(): void {
    const head = this.queue[0];
    if (this.timer !== null || head === undefined) return;
    this.timer = setTimeout(() => this.releaseDue(), Math.max(0, head.releaseAtMs - Date.now()));
    // Held messages must not keep a stopping process alive.
    this.timer.unref();
  }

  private releaseDue(): void {
    this.timer = null;
    const now = Date.now();
    while (this.queue.length > 0 && this.queue[0].releaseAtMs <= now) {
      const batch = this.queue.shift() as (typeof this.queue)[number];
      this.heldMessages -= batch.count;
      batch.release();
    }
    this.arm();
  }
}

/** The node's answer to a fault request; `injector` is null when the node was started without --enable-faults. */
export function answerFault(injector: FaultInjector | null, request: FaultRequest): FaultResponse {
  if (injector === null) {
    return { type: 'fault_reply', id: request.id, ok: false, message: 'fault injection is off: this node was started without --enable-faults' };
  }
  try {
    return { type: 'fault_reply', id: request.id, ok: true, message: injector.apply(request) };
  } catch (error) {
    if (!(error instanceof FaultRequestError)) throw error;
    return { type: 'fault_reply', id: request.id, ok: false, message: error.message };
  }
}

function formatRate(rate: number): string {
  return `${Math.round(rate * 1000) / 10}%`;
}
