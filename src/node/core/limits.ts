// Every quantity that grows has a named limit. Units come last in the name.
// The core counts time in ticks; the runtime decides how long a tick is.

export interface CoreLimits {
  /**
   * Slots a leader may have proposed but not yet seen chosen. Bounds the work a
   * new leader redoes and the memory of in-flight proposals. A leader never has
   * more in flight than the cluster's membership window (membership.ts) either:
   * it proposes slot t only once config(t) is certain.
   */
  slotsInFlightMax: number;
  /** Client commands batched into one slot value: bounds the work of an accept. */
  batchCommandsMax: number;
  /**
   * Bytes of commands batched into one slot value (a single larger command
   * still gets a slot of its own): with the frame limit, what keeps an accept,
   * a WAL record and a catch-up reply sendable whatever the commands' sizes.
   */
  batchBytesMax: number;
  /**
   * Bytes of values a leader may have proposed and not yet seen chosen (at
   * least one slot is always allowed): bounds memory at every acceptor and
   * what a promise must report after a leader change.
   */
  windowBytesMax: number;
  /** Bytes of chosen values sent in one chosen_reply or promise (at least one value). */
  catchupBytesMax: number;
  /** Client commands a leader queues while the window is full; beyond it, propose says busy. */
  pendingCommandsMax: number;
  /**
   * Reads a leader holds while it confirms that it still leads (one heartbeat
   * round serves them all); beyond it, read says busy.
   */
  readsWaitingMax: number;
  /**
   * A read no majority has confirmed for this many ticks is given up (the
   * client retries elsewhere): a leader cut off from the others would
   * otherwise hold its reads, and fill readsWaitingMax, until it hears a
   * higher ballot.
   */
  readWaitTicksMax: number;
  /** Chosen values sent in one chosen_reply: bounds catch-up frame size. */
  catchupSlotsMax: number;
  /** A leader says it is alive this often. */
  heartbeatTicks: number;
  /** A follower that hears no leader for a random time in [min, max) ticks starts phase 1. */
  electionTimeoutTicksMin: number;
  electionTimeoutTicksMax: number;
  /** A proposal not yet chosen is sent again after this many ticks (messages can be lost). */
  resendTicks: number;
}

export const defaultCoreLimits: CoreLimits = Object.freeze({
  slotsInFlightMax: 256,
  batchCommandsMax: 512,
  batchBytesMax: 4 * 1024 * 1024,
  windowBytesMax: 6 * 1024 * 1024,
  catchupBytesMax: 4 * 1024 * 1024,
  pendingCommandsMax: 16_384,
  readsWaitingMax: 16_384,
  readWaitTicksMax: 100,
  catchupSlotsMax: 256,
  heartbeatTicks: 5,
  electionTimeoutTicksMin: 30,
  electionTimeoutTicksMax: 60,
  resendTicks: 20,
});

/** Checks how the limits relate, once, at start. Throws on a configuration that cannot work. */
export function checkCoreLimits(limits: CoreLimits): void {
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`limit ${name} must be a positive integer, got ${value}`);
  }
  if (limits.windowBytesMax < limits.batchBytesMax) {
    throw new Error('windowBytesMax must be at least batchBytesMax, or a full batch could never be proposed');
  }
  if (limits.electionTimeoutTicksMin <= limits.heartbeatTicks * 2) {
    throw new Error('electionTimeoutTicksMin must exceed two heartbeats, or followers depose a live leader');
  }
  if (limits.electionTimeoutTicksMax <= limits.electionTimeoutTicksMin) {
    throw new Error('electionTimeoutTicksMax must exceed electionTimeoutTicksMin, or duelling candidates never separate');
  }
}
