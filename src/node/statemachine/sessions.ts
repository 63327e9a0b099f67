// Client sessions (Raft thesis §6.3, with a window per session): the part of
// the replicated state that makes retries safe. A client first registers: a
// command with seq 0 and no op, whose apply creates a session named after where
// it was chosen (`<nonce>@<slot>.<position>`, unique forever) and returns that
// id. Every later command carries the session id and a seq. Each session keeps
// the outcomes of its last `sessionWindow` seqs, so a retry chosen in a second
// slot, in any order, is answered with the outcome kept, and the command is
// executed at most once. A command of a session the state does not know (never
// registered, or evicted) is never executed: `session_expired`. A seq below the
// window is never executed either: `result_forgotten`. The table is replicated
// state: it changes only in applyValue, identically everywhere.
import { createHash } from 'node:crypto';
import type { Command, Slot, Value } from '../core/messages.js';
import { dataBytes } from '../core/size.js';
import { isCount, isRecord, packSnapshot, unpackSnapshot } from './snapshot-codec.js';
import { CommandRefused, SnapshotInvalid, type StateMachine, type StateMachineFactory } from './types.js';
import { truncateText, utf8ByteLength } from './values.js';
import { sessionWindow } from './window.js';

export { sessionWindow } from './window.js';

/**
 * Why a command was answered without being executed, though it was chosen.
 * Neither is a refusal ("applied and changed nothing"): the command's own
 * earlier copies may have run, so a client must report its outcome as unknown.
 */
export type SessionErrorCode = 'session_expired' | 'result_forgotten';

/**
 * The one table of what each session error means to a client: `indeterminate`
 * is what travels in the error answer (true: the command may have been
 * applied); `meaning` is the sentence that follows the code.
 */
export const sessionErrors: Readonly<Record<SessionErrorCode, { readonly indeterminate: boolean; readonly meaning: string }>> = Object.freeze({
  session_expired: {
    indeterminate: true,
    meaning: 'the replicas do not know this session (never registered, or evicted as least recently used); the command was not executed now, but an earlier copy of it may have been: register again',
  },
  result_forgotten: {
    indeterminate: true,
    meaning: `the command's seq is below the session's window of ${sessionWindow} seqs: it may have been applied and its result is no longer kept; it was not executed now`,
  },
});

/**
 * What became of one command of a chosen slot. `slot` is where the command
 * took effect: for a retry answered from the session, the slot of the first
 * execution; for a command not executed (`sessionError`), the slot it was
 * answered in.
 */
export type CommandOutcome =
  | { client: string; seq: number; slot: Slot; ok: true; result: unknown }
  | { client: string; seq: number; slot: Slot; ok: false; error: string; sessionError?: SessionErrorCode };

/** What a registration returns: the session id every later command carries. */
export interface Registration {
  session: string;
}

/** Options every replica of a cluster must set alike: they shape the replicated state. */
export interface ReplicatedServiceOptions {
  /** Sessions kept; see {@link clientSessionsMaxDefault}. */
  clientSessionsMax?: number;
  /**
   * Deliberately broken, only to show that the simulation catches it: the
   * session forgets which seqs it executed, so a retry chosen again runs again.
   */
  unsafeForgetsExecutedSeqs?: boolean;
}

/**
 * Sessions kept by default; registering one more evicts the least recently
 * active. Each keeps up to {@link sessionWindow} outcomes, so this bounds the
 * table's memory and snapshot size. An evicted session's commands are refused
 * as `session_expired`, never executed again; it should be far above the
 * number of clients active at once.
 */
export const clientSessionsMaxDefault = 10_000;

/** The seq of a registration (its op must be null); a session's own commands count from 1. */
export const registrationSeq = 0;

/** Client ids longer than this (UTF-8 bytes) are refused: every session keeps its id. */
export const clientIdBytesMax = 256;

/**
 * A registration's nonce (its `client` field) is at most this many characters,
 * so that `<nonce>@<slot>.<position>` fits a client id on the wire (128
 * characters): a slot takes at most 16 digits, a position a few.
 */
export const clientNonceCharsMax = 96;

/**
 * Refusal messages are cut to this many characters: a session keeps its
 * outcomes, and a message from a user's state machine could be any size.
 */
export const refusalMessageCharsMax = 1024;

/** The `format` field of a replicated service snapshot. */
export const serviceSnapshotFormat = 'paxos-service';

/**
 * The service snapshot's layout. 2: registered sessions with a window of
 * outcomes each (1 kept one outcome per client id, and cannot be read: its
 * sessions have no window, and its clients never registered).
 */
export const serviceSnapshotVersion = 2;

/**
 * Bytes of results and refusal messages one session keeps beyond its newest
 * outcome (always kept, whatever its size): with {@link clientSessionsMax}
 * it bounds the table's memory and snapshot size. When a session's kept
 * outcomes exceed it, the oldest lose their result and keep only the fact that
 * they ran, so a retry of one gets `result_forgotten`, never a second run.
 */
export const sessionResultBytesMax = 64 * 1024;

type StoredOutcome = { slot: Slot; ok: true; result: unknown } | { slot: Slot; ok: false; error: string };

/** An executed seq: its outcome, or only the slot it ran in once its result was dropped for space. */
type ExecutedEntry = StoredOutcome | { slot: Slot; ok: null };

interface ClientSession {
  /** The highest seq executed for this session; 0 before any. */
  highestSeq: number;
  /** Seqs at or below it are forgotten: max over time of highestSeq - sessionWindow. */
  floor: number;
  /** Every executed seq in (floor, highestSeq], with its outcome unless dropped for space. */
  executed: Map<number, ExecutedEntry>;
  /** Bytes of the outcomes kept in `executed` (see sessionResultBytesMax); not stored, recomputed on restore. */
  keptBytes: number;
  /** The last slot holding any command of this session; the least recent is evicted first. */
  activitySlot: Slot;
}

/**
 * A state machine together with its client-session table: what a replica
 * applies chosen slots to. Deterministic by construction: it reads no clock,
 * draws no random numbers, and never depends on Map iteration order.
 */
export class ReplicatedService {
  private readonly machine: StateMachine;
  private readonly clientSessionsMax: number;
  private readonly forgetsExecutedSeqs: boolean;
  private sessions = new Map<string, ClientSession>();
  private lastApplied: Slot = 0;

  constructor(machine: StateMachine, options: ReplicatedServiceOptions = {}) {
    const clientSessionsMax = options.clientSessionsMax ?? clientSessionsMaxDefault;
    assert(Number.isSafeInteger(clientSessionsMax), 'clientSessionsMax must be an integer');
    assert(clientSessionsMax >= 1, 'clientSessionsMax must be at least 1');
    this.machine = machine;
    this.clientSessionsMax = clientSessionsMax;
    this.forgetsExecutedSeqs = options.unsafeForgetsExecutedSeqs === true;
  }

  /** A service with a fresh machine from `factory`, restored from `bytes` (a {@link snapshot}). */
  static fromSnapshot(
    factory: StateMachineFactory,
    bytes: Uint8Array,
    options: ReplicatedServiceOptions = {},
  ): ReplicatedService {
    const service = new ReplicatedService(factory(), options);
    service.restore(bytes);
    return service;
  }

  /** The last slot applied; 0 before any. */
  get lastAppliedSlot(): Slot {
    return this.lastApplied;
  }

  /** How many client sessions the table holds. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Whether the replicated state knows `session` (registered and not evicted). */
  hasSession(session: string): boolean {
    return this.sessions.has(session);
  }

  /**
   * Applies every command of the chosen `slot`, in order, and returns their
   * outcomes in the same order (but none for a command `notForTheService`
   * says to skip). Slots must arrive consecutively: a gap or a repeat means
   * the caller broke the log's order, and this throws.
   */
  applyValue(slot: Slot, value: Value, notForTheService: (command: Command) => boolean = () => false): CommandOutcome[] {
    assert(Number.isSafeInteger(slot), `slot must be an integer, got ${slot}`);
    const expected = this.lastApplied + 1;
    assert(slot === expected, `slot ${slot} applied after slot ${this.lastApplied}: slots must be applied in order, once`);
    assert(Array.isArray(value.commands), `slot ${slot} has no commands array`);
    // A command that is not the service's (a membership change, the core's) is
    // skipped but keeps its position: positions, and so the session names
    // `<nonce>@<slot>.<position>`, count over the value as chosen, alike on
    // every replica whatever a caller skips.
    const outcomes: CommandOutcome[] = [];
    value.commands.forEach((command, position) => {
      if (!notForTheService(command)) outcomes.push(this.applyCommand(slot, position, command));
    });
    this.lastApplied = slot;
    return outcomes;
  }

  /**
   * Answers a read-only `op` from the state applied so far, through the
   * machine's optional `query` (StateMachine.query): null when the machine
   * has none. Changes nothing here (no session, no slot), so it may run at
   * any moment between two applied slots.
   */
  query(op: unknown): { ok: true; result: unknown } | { ok: false; error: string } | null {
    if (typeof this.machine.query !== 'function') return null;
    try {
      const result = this.machine.query(op);
      return { ok: true, result: result === undefined ? null : result };
    } catch (thrown) {
      return { ok: false, error: refusalMessage(thrown) };
    }
  }

  /**
   * The kept outcome when `seq` of `session` was executed and is still in its
   * window, else null. Lets a leader answer a retry at once, without proposing
   * it again; anything else (an unknown session, a forgotten seq) is decided
   * only by applying, where every replica decides alike.
   */
  cachedOutcome(session: string, seq: number): CommandOutcome | null {
    const kept = this.forgetsExecutedSeqs ? undefined : this.sessions.get(session)?.executed.get(seq);
    return kept === undefined || kept.ok === null ? null : toCommandOutcome(session, seq, kept);
  }

  private applyCommand(slot: Slot, position: number, command: Command): CommandOutcome {
    const invalid = describeInvalidCommand(command);
    if (invalid !== undefined) {
      // Chosen values were checked before they were proposed, so this should not
      // happen; refusing (rather than throwing) keeps one bad command from
      // stopping every replica at the same slot forever.
      const fields: Partial<Command> = isRecord(command) ? command : {};
      const client = typeof fields.client === 'string' ? fields.client : '';
      const seq = isCount(fields.seq) ? fields.seq : -1;
      return { client, seq, slot, ok: false, error: invalid };
    }
    if (command.seq === registrationSeq) return this.register(slot, position, command.client);
    return this.applySessionCommand(slot, command);
  }

  /**
   * Opens a session named after where it was chosen, so that every replica
   * names it alike and no two registrations (not even a retried one) share a
   * name; a full table first evicts its least recently active session.
   */
  private register(slot: Slot, position: number, nonce: string): CommandOutcome {
    const session = `${nonce}@${slot}.${position}`;
    assert(!this.sessions.has(session), `session ${session} registered twice`);
    if (this.sessions.size >= this.clientSessionsMax) this.sessions.delete(this.leastRecentSession());
    this.sessions.set(session, { highestSeq: 0, floor: 0, executed: new Map(), keptBytes: 0, activitySlot: slot });
    const result: Registration = { session };
    return { client: nonce, seq: registrationSeq, slot, ok: true, result };
  }

  private applySessionCommand(slot: Slot, { client, seq, op }: Command): CommandOutcome {
    const session = this.sessions.get(client);
    if (session === undefined) return sessionError(client, seq, slot, 'session_expired');
    session.activitySlot = slot;
    if (!this.forgetsExecutedSeqs) {
      const kept = session.executed.get(seq);
      if (kept !== undefined && kept.ok !== null) return toCommandOutcome(client, seq, kept);
      if (kept !== undefined || seq <= session.floor) return sessionError(client, seq, slot, 'result_forgotten');
    }
    // Pipelined commands may be chosen out of order: any seq above the floor not yet executed runs now.
    const outcome = this.execute(slot, op);
    session.executed.set(seq, outcome);
    session.keptBytes += outcomeBytes(outcome);
    if (seq > session.highestSeq) {
      session.highestSeq = seq;
      const floor = Math.max(session.floor, seq - sessionWindow);
      if (floor > session.floor) {
        // Forget what fell below the floor: by seq when the floor moved by less than a window (the usual one step), else by a scan.
        if (floor - session.floor <= sessionWindow) for (let forgotten = session.floor + 1; forgotten <= floor; forgotten++) forgetSeq(session, forgotten);
        else for (const executedSeq of [...session.executed.keys()]) if (executedSeq <= floor) forgetSeq(session, executedSeq);
        session.floor = floor;
      }
    }
    dropOldestResults(session, seq);
    return toCommandOutcome(client, seq, outcome);
  }

  private execute(slot: Slot, op: unknown): StoredOutcome {
    try {
      const result = this.machine.apply(op);
      // undefined does not survive every encoding the same way; null does.
      return { slot, ok: true, result: result === undefined ? null : result };
    } catch (thrown) {
      return { slot, ok: false, error: refusalMessage(thrown) };
    }
  }

  /**
   * The session whose last activity is oldest, ties broken by the smaller id: a
   * total order on the table's contents, so every replica (including one that
   * restored a snapshot and so filled its Map in another order) evicts the same.
   * A linear scan, paid only when a registration arrives at a full table.
   */
  private leastRecentSession(): string {
    let oldest: { client: string; activitySlot: Slot } | undefined;
    for (const [client, { activitySlot }] of this.sessions) {
      const candidate = { client, activitySlot };
      if (oldest === undefined || lessRecent(candidate, oldest)) oldest = candidate;
    }
    assert(oldest !== undefined, 'eviction from an empty session table');
    return oldest.client;
  }

  /**
   * Serialises the sessions, the last applied slot and the machine's own
   * snapshot. Sessions are sorted by id and their outcomes by seq, so equal
   * states give equal bytes.
   */
  snapshot(): Uint8Array {
    const ids = [...this.sessions.keys()].sort();
    const sessions = ids.map((id) => writeSession(id, this.sessionOf(id)));
    return packSnapshot(
      serviceSnapshotFormat,
      { lastAppliedSlot: this.lastApplied, window: sessionWindow, sessions, machine: this.machine.snapshot() },
      serviceSnapshotVersion,
    );
  }

  /**
   * Replaces this service's whole state with a snapshot's. Everything is
   * validated before anything changes; the machine's restore runs last and,
   * per the StateMachine contract, also validates before it changes anything.
   */
  restore(bytes: Uint8Array): void {
    const body = unpackSnapshot(
      bytes,
      serviceSnapshotFormat,
      serviceSnapshotVersion,
      ': it was written by a build whose sessions had no window; restore from a newer snapshot, or start this node on an empty data dir and let it fetch one from a peer',
    );
    const lastAppliedSlot = body.lastAppliedSlot;
    if (!isCount(lastAppliedSlot)) throw new SnapshotInvalid('service snapshot has an invalid lastAppliedSlot');
    if (body.window !== sessionWindow) {
      throw new SnapshotInvalid(`service snapshot keeps a window of ${String(body.window)} seqs per session; this build keeps ${sessionWindow}`);
    }
    const sessions = readSessions(body.sessions, lastAppliedSlot, this.clientSessionsMax);
    if (!(body.machine instanceof Uint8Array)) throw new SnapshotInvalid('service snapshot has no machine bytes');
    // A copy: the decoded bytes share memory with `bytes`, which the caller may reuse.
    this.machine.restore(new Uint8Array(body.machine));
    this.sessions = sessions;
    this.lastApplied = lastAppliedSlot;
  }

  /** sha256 (hex) of {@link snapshot}: replicas that applied the same slots have equal digests. */
  stateDigest(): string {
    return createHash('sha256').update(this.snapshot()).digest('hex');
  }

  private sessionOf(id: string): ClientSession {
    const session = this.sessions.get(id);
    assert(session !== undefined, `no session ${id}`);
    return session;
  }
}

/** Bytes an outcome keeps: its result or refusal message. */
function outcomeBytes(entry: ExecutedEntry): number {
  if (entry.ok === null) return 0;
  return entry.ok ? dataBytes(entry.result) : dataBytes(entry.error);
}

function forgetSeq(session: ClientSession, seq: number): void {
  const entry = session.executed.get(seq);
  if (entry === undefined) return;
  session.keptBytes -= outcomeBytes(entry);
  session.executed.delete(seq);
}

/**
 * Keeps a session's outcomes within sessionResultBytesMax, besides the newest
 * (`newestSeq`): the oldest by seq lose their result first (a scan of at most
 * a window, paid only when over the budget). Ordered by seq, not by the Map's
 * insertion order, so every replica (and one restored from a snapshot) drops alike.
 */
function dropOldestResults(session: ClientSession, newestSeq: number): void {
  const newest = session.executed.get(newestSeq);
  const newestBytes = newest === undefined ? 0 : outcomeBytes(newest);
  while (session.keptBytes - newestBytes > sessionResultBytesMax) {
    let oldest: number | undefined;
    for (const [seq, entry] of session.executed) {
      if (seq !== newestSeq && entry.ok !== null && (oldest === undefined || seq < oldest)) oldest = seq;
    }
    assert(oldest !== undefined, 'session keeps more result bytes than its outcomes hold');
    const entry = session.executed.get(oldest) as StoredOutcome;
    session.keptBytes -= outcomeBytes(entry);
    session.executed.set(oldest, { slot: entry.slot, ok: null });
  }
}

/** The state machine's own snapshot inside a service snapshot (for tools that compare machines alone). */
export function machineSnapshotOf(serviceBytes: Uint8Array): Uint8Array {
  const machine = unpackSnapshot(serviceBytes, serviceSnapshotFormat, serviceSnapshotVersion).machine;
  if (!(machine instanceof Uint8Array)) throw new SnapshotInvalid('service snapshot has no machine bytes');
  return machine;
}

function sessionError(client: string, seq: number, slot: Slot, code: SessionErrorCode): CommandOutcome {
  return { client, seq, slot, ok: false, error: `${code}: ${sessionErrors[code].meaning}`, sessionError: code };
}

function lessRecent(a: { client: string; activitySlot: Slot }, b: { client: string; activitySlot: Slot }): boolean {
  if (a.activitySlot !== b.activitySlot) return a.activitySlot < b.activitySlot;
  return a.client < b.client;
}

function toCommandOutcome(client: string, seq: number, outcome: StoredOutcome): CommandOutcome {
  return outcome.ok
    ? { client, seq, slot: outcome.slot, ok: true, result: outcome.result }
    : { client, seq, slot: outcome.slot, ok: false, error: outcome.error };
}

function describeInvalidCommand(command: Command): string | undefined {
  if (!isRecord(command)) return 'invalid command: not a {client, seq, op} record';
  const { client, seq } = command;
  if (typeof client !== 'string' || client.length === 0) return 'invalid command: client id must be a non-empty string';
  if (utf8ByteLength(client) > clientIdBytesMax) return `invalid command: client id is longer than ${clientIdBytesMax} bytes`;
  if (!isCount(seq)) return 'invalid command: seq must be a non-negative integer';
  if (seq === registrationSeq) {
    if (command.op !== null) return `invalid command: seq ${registrationSeq} registers a session and carries no op (op must be null)`;
    if (client.length > clientNonceCharsMax) return `invalid command: a registration's nonce is longer than ${clientNonceCharsMax} characters`;
  }
  return undefined;
}

/**
 * The message a client sees for a refused command. It must be the same on
 * every replica, so it is built only from the thrown value itself.
 */
function refusalMessage(thrown: unknown): string {
  let message: string;
  if (thrown instanceof CommandRefused) message = thrown.message;
  else if (thrown instanceof Error) message = describeThrown(thrown);
  else if (typeof thrown === 'string') message = thrown;
  else return truncateText(`command refused: the state machine ${describeThrown(thrown)}`, refusalMessageCharsMax);
  return truncateText(message === '' ? 'command refused' : message, refusalMessageCharsMax);
}

/**
 * What a state machine's code threw, as text: an Error's name (unless plain)
 * and message, else `threw <the value>` (`throw 42`, `throw 'x'`). Built from
 * the value alone, so every replica says the same.
 */
export function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.name === 'Error' ? thrown.message : `${thrown.name}: ${thrown.message}`;
  return `threw ${describeThrownValue(thrown)}`;
}

/**
 * A thrown value that is not an Error (`throw 42`, `throw { code }`, `throw 'x'`),
 * shown as itself: JSON for plain data, else its type. Built from the value
 * alone, so every replica says the same.
 */
function describeThrownValue(thrown: unknown): string {
  if (thrown === undefined) return 'undefined';
  if (typeof thrown === 'bigint') return `${thrown}n`;
  if (typeof thrown === 'function' || typeof thrown === 'symbol') return `a ${typeof thrown}`;
  try {
    const json = JSON.stringify(thrown);
    if (json !== undefined) return json;
  } catch {
    // a cycle, a bigint inside, a throwing toJSON: fall through to the type
  }
  return `${Array.isArray(thrown) ? 'a list' : 'an object'} that cannot be shown as JSON`;
}

interface OutcomeRecord {
  seq: number;
  slot: Slot;
  /** null: the seq ran, and its result was dropped for space (sessionResultBytesMax). */
  ok: boolean | null;
  result?: unknown;
  error?: string;
}

interface SessionRecord {
  session: string;
  highestSeq: number;
  floor: number;
  activitySlot: Slot;
  /** Sorted by seq. */
  executed: OutcomeRecord[];
}

function writeSession(session: string, { highestSeq, floor, activitySlot, executed }: ClientSession): SessionRecord {
  const seqs = [...executed.keys()].sort((a, b) => a - b);
  const records = seqs.map((seq): OutcomeRecord => {
    const outcome = executed.get(seq) as ExecutedEntry;
    if (outcome.ok === null) return { seq, slot: outcome.slot, ok: null };
    return outcome.ok ? { seq, slot: outcome.slot, ok: true, result: outcome.result } : { seq, slot: outcome.slot, ok: false, error: outcome.error };
  });
  return { session, highestSeq, floor, activitySlot, executed: records };
}

function readSessions(raw: unknown, lastAppliedSlot: Slot, clientSessionsMax: number): Map<string, ClientSession> {
  if (!Array.isArray(raw)) throw new SnapshotInvalid('service snapshot has no sessions array');
  if (raw.length > clientSessionsMax) {
    throw new SnapshotInvalid(`service snapshot holds ${raw.length} sessions, more than clientSessionsMax ${clientSessionsMax}`);
  }
  const sessions = new Map<string, ClientSession>();
  let previous: string | undefined;
  for (let index = 0; index < raw.length; index++) {
    const [id, session] = readSession(raw[index], index, lastAppliedSlot);
    if (previous !== undefined && !(previous < id)) {
      throw new SnapshotInvalid(`service snapshot session ${index} is out of order or repeats a session`);
    }
    sessions.set(id, session);
    previous = id;
  }
  return sessions;
}

function readSession(raw: unknown, index: number, lastAppliedSlot: Slot): [string, ClientSession] {
  const invalid = (what: string) => new SnapshotInvalid(`service snapshot session ${index} has ${what}`);
  if (!isRecord(raw)) throw invalid('no fields');
  const { session, highestSeq, floor, activitySlot } = raw;
  if (typeof session !== 'string' || session.length === 0 || utf8ByteLength(session) > clientIdBytesMax) {
    throw invalid('an invalid session id');
  }
  if (!isCount(activitySlot) || activitySlot > lastAppliedSlot) throw invalid('an invalid activitySlot');
  if (!isCount(highestSeq)) throw invalid('an invalid highestSeq');
  // The floor follows the highest seq: never more than a window behind it, never at or above it once anything ran.
  if (!isCount(floor) || floor > highestSeq || highestSeq - floor > sessionWindow || (highestSeq > 0 && floor === highestSeq)) {
    throw invalid('an invalid floor');
  }
  if (!Array.isArray(raw.executed) || raw.executed.length > sessionWindow) throw invalid('an invalid executed list');
  const executed = new Map<number, ExecutedEntry>();
  let keptBytes = 0;
  let previousSeq = floor;
  for (const entry of raw.executed as unknown[]) {
    if (!isRecord(entry)) throw invalid('an executed entry with no fields');
    const { seq, slot, ok } = entry;
    if (!isCount(seq) || seq <= previousSeq || seq > highestSeq) throw invalid(`an executed seq out of order or outside (floor ${floor}, highestSeq ${highestSeq}]`);
    if (!isCount(slot) || slot < 1 || slot > activitySlot) throw invalid(`an invalid slot for seq ${seq}`);
    let outcome: ExecutedEntry;
    if (ok === true) outcome = { slot, ok, result: entry.result };
    else if (ok === false && typeof entry.error === 'string') outcome = { slot, ok, error: entry.error };
    else if (ok === null) outcome = { slot, ok };
    else throw invalid(`an invalid outcome for seq ${seq}`);
    executed.set(seq, outcome);
    keptBytes += outcomeBytes(outcome);
    previousSeq = seq;
  }
  if (highestSeq > 0 && !executed.has(highestSeq)) throw invalid(`no outcome for its highestSeq ${highestSeq}`);
  return [session, { highestSeq, floor, activitySlot, executed, keptBytes }];
}

/** A broken invariant is a bug: stop rather than let replicas drift apart. */
function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}
