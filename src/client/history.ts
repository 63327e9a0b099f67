// Records what clients did, in SPEC's history format (JSON lines), for
// `paxos check`: an invocation before a command is sent and its completion
// after the outcome is known. Used by `paxos submit --history` (one process)
// and meant for `paxos bench --history` (one process per closed-loop client).
//
// Only get, set and cas are recorded, as read, write and cas: the history
// format and the checker's register model know those three. Other commands
// (del, incr, append, noop) are sent but not recorded, so a history is only
// checkable when nothing else changed the keys it covers.
//
// How an outcome maps to a completion:
// - applied: `ok`; a read's value is what it returned (null for a missing key).
// - refused by the state machine (a cas whose expected value did not match):
//   `fail`. It was ordered and applied but changed nothing, which is what
//   "did not take effect" means to a register: recording it as ok would claim
//   the swap happened, and as info would let the checker pretend it did.
// - not applied (no node reachable, rejected before it was proposed): `fail`.
// - unknown (timed out or the connection died after sending): `info`.
// A submit that throws is recorded as `info`, then the error goes on.
import { closeSync, openSync, writeSync } from 'node:fs';
import type { SubmitOutcome } from './client.js';

/** What a command does to its key's register, in the history format's words. */
export interface HistoryInvocation {
  f: 'read' | 'write' | 'cas';
  key: string;
  /** write: the value; cas: [expected, new]; read: null. */
  value: unknown;
}

/** The history event of a command submitted by `process`, still in flight. */
export interface PendingOperation {
  readonly process: number;
  readonly invocation: HistoryInvocation;
}

/** Microseconds on a monotonic clock; see {@link monotonicMicroseconds}. */
export type HistoryClock = () => number;

/**
 * CLOCK_MONOTONIC in microseconds: it never goes back, and on one machine it
 * is the same clock in every process, so histories recorded by several
 * clients side by side can be checked together. Microseconds because
 * nanoseconds since boot pass 2^53 after about 104 days of uptime, beyond
 * what a JSON number holds exactly.
 */
export function monotonicMicroseconds(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** Writing to the history file failed; the history would be incomplete, so recording stops. */
export class HistoryWriteError extends Error {
  readonly code = 'history_write' as const;

  constructor(path: string, cause: unknown) {
    super(`cannot write history ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'HistoryWriteError';
  }
}

/**
 * The register operation a key-value command is, or undefined for commands
 * that are not recorded. `op` is the array the store applies (`["set","x","1"]`).
 */
export function historyInvocation(op: unknown): HistoryInvocation | undefined {
  if (!Array.isArray(op) || typeof op[1] !== 'string') return undefined;
  const key = op[1];
  if (op[0] === 'get' && op.length === 2) return { f: 'read', key, value: null };
  if (op[0] === 'set' && op.length === 3) return { f: 'write', key, value: op[2] };
  if (op[0] === 'cas' && op.length === 4) return { f: 'cas', key, value: [op[2], op[3]] };
  return undefined;
}

/**
 * Appends history events to a file, one line per event, each written with
 * one write(2) to a file opened for appending: a line is in the kernel before
 * the command it describes is sent, so it survives the client being killed.
 * Several recorders may append to one file; give each a distinct process.
 */
export class HistoryRecorder {
  readonly path: string;
  private readonly descriptor: number;
  private readonly clock: HistoryClock;
  private readonly inFlight = new Set<number>();
  private lastTime = 0;
  private closed = false;

  /** Opens (creating, never truncating) `path`. Throws the open error (ENOENT, EACCES, EISDIR). */
  constructor(path: string, options: { clock?: HistoryClock } = {}) {
    this.path = path;
    this.descriptor = openSync(path, 'a');
    this.clock = options.clock ?? monotonicMicroseconds;
  }

  /** Records the invocation; call right before sending. A process has at most one operation in flight. */
  invoke(process: number, invocation: HistoryInvocation): PendingOperation {
    if (!Number.isSafeInteger(process) || process < 0) throw new Error(`assertion: process ${process} is not a non-negative integer`);
    if (this.inFlight.has(process)) throw new Error(`assertion: process ${process} already has an operation in flight`);
    this.inFlight.add(process);
    this.write({ process, type: 'invoke', ...invocation });
    return { process, invocation };
  }

  /** Records how `pending` ended; `outcome` undefined means the submit threw (recorded as info). */
  complete(pending: PendingOperation, outcome: SubmitOutcome | undefined): void {
    if (!this.inFlight.delete(pending.process)) throw new Error(`assertion: process ${pending.process} has no operation in flight`);
    const { type, ...fields } = completionFields(pending.invocation, outcome);
    this.write({ process: pending.process, type, ...fields });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.descriptor);
  }

  private write(event: Record<string, unknown>): void {
    if (this.closed) throw new Error('assertion: the history recorder is closed');
    // hrtime never goes back, but an injected clock might: the format requires monotonic time.
    this.lastTime = Math.max(this.lastTime, this.clock());
    const line = `${JSON.stringify({ ...event, time: this.lastTime })}\n`;
    try {
      writeSync(this.descriptor, line);
    } catch (error) {
      throw new HistoryWriteError(this.path, error);
    }
  }
}

function completionFields(invocation: HistoryInvocation, outcome: SubmitOutcome | undefined): Record<string, unknown> {
  const fields = { f: invocation.f, key: invocation.key, value: invocation.value };
  if (outcome === undefined) return { type: 'info', ...fields, error: 'the submit threw' };
  switch (outcome.status) {
    case 'applied':
      return { type: 'ok', ...fields, value: invocation.f === 'read' ? (outcome.result ?? null) : invocation.value };
    case 'refused':
    case 'not_applied':
      return { type: 'fail', ...fields, error: outcome.error };
    case 'unknown':
      return { type: 'info', ...fields, error: outcome.error };
  }
}

/**
 * Submits `op` through `submit`, recording it for `process` when `recorder` is
 * given and the command is one that is recorded.
 *
 * @example
 * // One closed-loop client of a benchmark, as process `index`:
 * const outcome = await recordSubmit(recorder, index, op, () => client.submit(op));
 */
export async function recordSubmit<T extends SubmitOutcome>(
  recorder: HistoryRecorder | undefined,
  process: number,
  op: unknown,
  submit: () => Promise<T>,
): Promise<T> {
  const invocation = recorder === undefined ? undefined : historyInvocation(op);
  if (recorder === undefined || invocation === undefined) return submit();
  const pending = recorder.invoke(process, invocation);
  let outcome: T | undefined;
  try {
    outcome = await submit();
    return outcome;
  } finally {
    recorder.complete(pending, outcome);
  }
}
