// Linearizable reads without the log (etcd-io/raft's ReadIndex, ReadOnlySafe):
// a read that reaches the leader is stamped with a read slot, the leader then
// confirms that it still leads with a heartbeat round at its ballot that a
// majority answers after the read arrived, and the driver answers the read
// from its state machine once it has applied the read slot. Nothing is
// written to the log and nothing waits for an fsync. Why the read slot and
// the round make the answer linearizable: docs/protocol.md, "Reads".
import { assert } from './assert.js';
import type { Incarnation } from './membership.js';
import type { NodeId, Slot } from './messages.js';

/**
 * Who must answer a round: with membership, a majority of the voters of every
 * configuration that governs an open slot, counted per (id, incarnation)
 * (membership.ts, VoterQuorums). An answer from a learner, a non-member or a
 * stale incarnation adds nothing.
 */
export interface AckQuorum {
  add(id: NodeId, incarnation: Incarnation | null): boolean;
  reached(): boolean;
}

/** The driver's name for one read; the core only hands it back. */
export type ReadId = number;

/** A read the leader confirmed: answer it once the state machine has applied `slot`. */
export interface ConfirmedRead {
  id: ReadId;
  slot: Slot;
}

/**
 * Why a read was given up, both retryable elsewhere: `not_leader`, this node
 * saw a higher ballot (or otherwise stopped leading) before the read was
 * confirmed; `expired`, no majority answered its rounds for readWaitTicksMax
 * (the leader is probably cut off from the others).
 */
export type ReadFailure = 'not_leader' | 'expired';

export interface FailedRead {
  id: ReadId;
  reason: ReadFailure;
}

interface WaitingRead {
  id: ReadId;
  slot: Slot;
  arrivedTick: number;
  /** The first slot not known chosen when it arrived: a write acknowledged before it may sit at any slot from here on. */
  firstOpen: Slot;
}

/** A heartbeat round in flight: the reads that arrived before it started, and who has answered. */
interface Round {
  number: number;
  reads: WaitingRead[];
  acks: AckQuorum;
  startedTick: number;
}

/**
 * The leader's reads: those waiting for the next round, and the one round in
 * flight. One round serves every read waiting when it starts; a read that
 * arrives during a round waits for the next, because the round's heartbeats
 * left before it arrived and so say nothing about leadership after that.
 */
export class ReadTracker {
  private waiting: WaitingRead[] = [];
  private round: Round | null = null;
  /** Round numbers only grow (across leaderships too), so an answer to an old round never counts. */
  private lastRound = 0;
  /** The highest slot this leader proposed when it took over (see readSlot). */
  private recoveredTo: Slot = 0;

  /** `ignoreRecovered`: only for the sabotage that shows the simulation needs recoveredTo (PaxosNodeOptions.unsafe). */
  constructor(
    private readonly readsWaitingMax: number,
    private readonly ignoreRecovered = false,
  ) {
    assert(Number.isSafeInteger(readsWaitingMax) && readsWaitingMax >= 1, 'readsWaitingMax is a positive integer');
  }

  /** Reads waiting for a round or in the round in flight. */
  get size(): number {
    return this.waiting.length + (this.round?.reads.length ?? 0);
  }

  /** The round in flight, or 0. */
  get roundInFlight(): number {
    return this.round?.number ?? 0;
  }

  /**
   * A new leadership begins: `recoveredTo` is the highest slot it proposed in
   * taking over (every slot a promise reported accepted, and every slot it
   * knew chosen). Anything chosen before it led is at or below it.
   */
  lead(recoveredTo: Slot): void {
    assert(this.size === 0, 'a new leadership starts with no reads of an old one');
    this.recoveredTo = recoveredTo;
  }

  /** A promise that came after the leadership began reported a value accepted up to `slot`: reads stamped from now on cover it. */
  recovered(slot: Slot): void {
    this.recoveredTo = Math.max(this.recoveredTo, slot);
  }

  /**
   * The slot a read arriving now must see applied: every write acknowledged
   * before it is at or below it. A write this leader acknowledged was applied,
   * so it is at or below the commit index; one acknowledged before this
   * leadership was chosen before its phase 1 ended, so it is at or below
   * recoveredTo (a new leader's commit index may lag that until its
   * re-proposals are chosen).
   */
  readSlot(commitIndex: Slot): Slot {
    return this.ignoreRecovered ? commitIndex : Math.max(commitIndex, this.recoveredTo);
  }

  /**
   * Queues a read stamped with `slot`, arriving when `firstOpen` is the first
   * slot the leader does not know chosen; false when readsWaitingMax reads already wait.
   */
  add(id: ReadId, slot: Slot, nowTick: number, firstOpen: Slot): boolean {
    assert(Number.isSafeInteger(firstOpen) && firstOpen >= 1, 'a read names the first open slot when it arrived');
    if (this.size >= this.readsWaitingMax) return false;
    this.waiting.push({ id, slot, arrivedTick: nowTick, firstOpen });
    return true;
  }

  /**
   * Starts a round for the reads waiting, when there are some and no round is
   * in flight, or the one in flight has waited `resendTicks` (its heartbeats
   * or answers were probably lost): its reads join the new round, which is
   * just as valid for them since it starts after they arrived. `quorumFor`
   * gives a fresh quorum for the configurations of every slot from
   * `firstOpen` (the smallest first open slot of the round's reads) on; the
   * leader counts itself (`self`, its id and incarnation).
   * Returns the round's number, for the heartbeats, or null when none starts.
   */
  startRound(
    quorumFor: (firstOpen: Slot) => AckQuorum,
    self: { id: NodeId; incarnation: Incarnation | null },
    nowTick: number,
    resendTicks: number,
  ): number | null {
    const stale = this.round !== null && nowTick - this.round.startedTick >= resendTicks;
    if (this.round !== null && !stale) return null;
    const reads = [...(this.round?.reads ?? []), ...this.waiting];
    if (reads.length === 0) return null;
    this.waiting = [];
    this.lastRound += 1;
    const acks = quorumFor(Math.min(...reads.map((read) => read.firstOpen)));
    acks.add(self.id, self.incarnation);
    this.round = { number: this.lastRound, reads, acks, startedTick: nowTick };
    return this.lastRound;
  }

  /**
   * A peer (incarnation `incarnation`) answered round `round` at this
   * leader's ballot (the caller checked the ballot). Returns the reads the
   * round confirms once its quorum has answered (the leader's own answer
   * included), else none.
   */
  ack(from: NodeId, incarnation: Incarnation | null, round: number, mayConfirm = true): ConfirmedRead[] {
    const current = this.round;
    if (current === null || current.number !== round || round === 0) return [];
    current.acks.add(from, incarnation);
    // Not now (the leader has not yet heard from every configuration's majority): the round is redone later.
    return mayConfirm ? this.confirmIfReached() : [];
  }

  /** A round whose quorum is already reached (the leader alone is a majority) confirms at once. */
  confirmIfReached(): ConfirmedRead[] {
    const current = this.round;
    if (current === null || !current.acks.reached()) return [];
    this.round = null;
    return current.reads.map(({ id, slot }) => ({ id, slot }));
  }

  /** Confirms every read without a round: only for the sabotage that shows the simulation catches it. */
  confirmAllUnsafely(): ConfirmedRead[] {
    const reads = [...(this.round?.reads ?? []), ...this.waiting];
    this.round = null;
    this.waiting = [];
    return reads.map(({ id, slot }) => ({ id, slot }));
  }

  /** Gives up every read (leadership lost): the driver tells their clients to retry. */
  failAll(reason: ReadFailure): FailedRead[] {
    const reads = [...(this.round?.reads ?? []), ...this.waiting];
    this.round = null;
    this.waiting = [];
    return reads.map(({ id }) => ({ id, reason }));
  }

  /** Gives up the reads that arrived `waitTicksMax` or more ticks ago: no majority answered in time. */
  expire(nowTick: number, waitTicksMax: number): FailedRead[] {
    const old = (read: WaitingRead) => nowTick - read.arrivedTick >= waitTicksMax;
    const expired: FailedRead[] = [];
    const keep = (reads: WaitingRead[]) =>
      reads.filter((read) => {
        if (!old(read)) return true;
        expired.push({ id: read.id, reason: 'expired' });
        return false;
      });
    this.waiting = keep(this.waiting);
    if (this.round !== null) {
      this.round.reads = keep(this.round.reads);
      if (this.round.reads.length === 0) this.round = null;
    }
    return expired;
  }
}
