// Client sessions: the part of the replicated state that makes retries safe.
// A client numbers its commands; when a retry gets chosen in a second slot,
// every replica sees the session already holds that number and answers with
// the outcome it kept, so the command is executed at most once. The table is
// replicated state: it changes only in applyValue, identically everywhere.
import { createHash } from 'node:crypto';
import type { Command, Slot, Value } from '../core/messages.js';
import { isCount, isRecord, packSnapshot, unpackSnapshot } from './snapshot-codec.js';
import { CommandRefused, SnapshotInvalid, type StateMachine, type StateMachineFactory } from './types.js';
import { truncateText, utf8ByteLength } from './values.js';

/**
 * What became of one command of a chosen slot. `slot` is where the command
 * took effect: for a retry answered from the session, the slot of the first
 * execution; for a stale command, the slot it was refused in.
 */
export type CommandOutcome =
  | { client: string; seq: number; slot: Slot; ok: true; result: unknown }
  | { client: string; seq: number; slot: Slot; ok: false; error: string };

/** Options every replica of a cluster must set alike: they shape the replicated state. */
export interface ReplicatedServiceOptions {
  /** Sessions kept; see {@link clientSessionsMaxDefault}. */
  clientSessionsMax?: number;
}

/**
 * Sessions kept by default. Each holds one cached outcome, so this bounds the
 * table's memory and snapshot size; a client evicted while a retry is still in
 * flight could see that retry executed twice, so it should be far above the
 * number of clients active at once.
 */
export const clientSessionsMaxDefault = 10_000;

/** Client ids longer than this (UTF-8 bytes) are refused: every session keeps its id. */
export const clientIdBytesMax = 256;

/**
 * Refusal messages are cut to this many characters: a session keeps its last
 * outcome, and a message from a user's state machine could be any size.
 */
export const refusalMessageCharsMax = 1024;

/** The `format` field of a replicated service snapshot. */
export const serviceSnapshotFormat = 'paxos-service';

type StoredOutcome = { slot: Slot; ok: true; result: unknown } | { slot: Slot; ok: false; error: string };

interface ClientSession {
  /** The highest seq applied for this client. */
  seq: number;
  /** What that command returned, answered again to a retry. */
  outcome: StoredOutcome;
  /** The last slot holding any command from this client; the least recent is evicted first. */
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
  private sessions = new Map<string, ClientSession>();
  private lastApplied: Slot = 0;

  constructor(machine: StateMachine, options: ReplicatedServiceOptions = {}) {
    const clientSessionsMax = options.clientSessionsMax ?? clientSessionsMaxDefault;
    assert(Number.isSafeInteger(clientSessionsMax), 'clientSessionsMax must be an integer');
    assert(clientSessionsMax >= 1, 'clientSessionsMax must be at least 1');
    this.machine = machine;
    this.clientSessionsMax = clientSessionsMax;
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

  /**
   * Applies every command of the chosen `slot`, in order, and returns their
   * outcomes in the same order. Slots must arrive consecutively: a gap or a
   * repeat means the caller broke the log's order, and this throws.
   */
  applyValue(slot: Slot, value: Value): CommandOutcome[] {
    assert(Number.isSafeInteger(slot), `slot must be an integer, got ${slot}`);
    const expected = this.lastApplied + 1;
    assert(slot === expected, `slot ${slot} applied after slot ${this.lastApplied}: slots must be applied in order, once`);
    assert(Array.isArray(value.commands), `slot ${slot} has no commands array`);
    const outcomes = value.commands.map((command) => this.applyCommand(slot, command));
    this.lastApplied = slot;
    return outcomes;
  }

  /**
   * The kept outcome when `seq` is the last command applied for `client`, else
   * null. Lets a leader answer a retry at once, without proposing it again.
   */
  cachedOutcome(client: string, seq: number): CommandOutcome | null {
    const session = this.sessions.get(client);
    if (session === undefined || session.seq !== seq) return null;
    return toCommandOutcome(client, seq, session.outcome);
  }

  private applyCommand(slot: Slot, command: Command): CommandOutcome {
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
    return this.applySessionCommand(slot, command);
  }

  private applySessionCommand(slot: Slot, { client, seq, op }: Command): CommandOutcome {
    const session = this.sessions.get(client);
    if (session !== undefined) {
      session.activitySlot = slot;
      if (seq === session.seq) return toCommandOutcome(client, seq, session.outcome);
      if (seq < session.seq) {
        return { client, seq, slot, ok: false, error: `stale command: seq ${seq} is older than session's ${session.seq}` };
      }
    }
    const outcome = this.execute(slot, op);
    if (session !== undefined) {
      session.seq = seq;
      session.outcome = outcome;
    } else {
      this.openSession(client, { seq, outcome, activitySlot: slot });
    }
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

  private openSession(client: string, session: ClientSession): void {
    if (this.sessions.size >= this.clientSessionsMax) this.sessions.delete(this.leastRecentClient());
    this.sessions.set(client, session);
  }

  /**
   * The client whose last activity is oldest, ties broken by the smaller id: a
   * total order on the table's contents, so every replica (including one that
   * restored a snapshot and so filled its Map in another order) evicts the same.
   * A linear scan, paid only when a new client arrives at a full table.
   */
  private leastRecentClient(): string {
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
   * snapshot. Sessions are sorted by client id, so equal states give equal bytes.
   */
  snapshot(): Uint8Array {
    const clients = [...this.sessions.keys()].sort();
    const sessions = clients.map((client) => writeSession(client, this.sessionOf(client)));
    return packSnapshot(serviceSnapshotFormat, { lastAppliedSlot: this.lastApplied, sessions, machine: this.machine.snapshot() });
  }

  /**
   * Replaces this service's whole state with a snapshot's. Everything is
   * validated before anything changes; the machine's restore runs last and,
   * per the StateMachine contract, also validates before it changes anything.
   */
  restore(bytes: Uint8Array): void {
    const body = unpackSnapshot(bytes, serviceSnapshotFormat);
    const lastAppliedSlot = body.lastAppliedSlot;
    if (!isCount(lastAppliedSlot)) throw new SnapshotInvalid('service snapshot has an invalid lastAppliedSlot');
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

  private sessionOf(client: string): ClientSession {
    const session = this.sessions.get(client);
    assert(session !== undefined, `no session for client ${client}`);
    return session;
  }
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

interface SessionRecord {
  client: string;
  seq: number;
  activitySlot: Slot;
  slot: Slot;
  ok: boolean;
  result?: unknown;
  error?: string;
}

function writeSession(client: string, { seq, activitySlot, outcome }: ClientSession): SessionRecord {
  const { slot } = outcome;
  return outcome.ok
    ? { client, seq, activitySlot, slot, ok: true, result: outcome.result }
    : { client, seq, activitySlot, slot, ok: false, error: outcome.error };
}

function readSessions(raw: unknown, lastAppliedSlot: Slot, clientSessionsMax: number): Map<string, ClientSession> {
  if (!Array.isArray(raw)) throw new SnapshotInvalid('service snapshot has no sessions array');
  if (raw.length > clientSessionsMax) {
    throw new SnapshotInvalid(`service snapshot holds ${raw.length} sessions, more than clientSessionsMax ${clientSessionsMax}`);
  }
  const sessions = new Map<string, ClientSession>();
  let previousClient: string | undefined;
  for (let index = 0; index < raw.length; index++) {
    const [client, session] = readSession(raw[index], index, lastAppliedSlot);
    if (previousClient !== undefined && !(previousClient < client)) {
      throw new SnapshotInvalid(`service snapshot session ${index} is out of order or repeats a client`);
    }
    sessions.set(client, session);
    previousClient = client;
  }
  return sessions;
}

function readSession(raw: unknown, index: number, lastAppliedSlot: Slot): [string, ClientSession] {
  const invalid = (what: string) => new SnapshotInvalid(`service snapshot session ${index} has ${what}`);
  if (!isRecord(raw)) throw invalid('no fields');
  const { client, seq, activitySlot, slot, ok } = raw;
  if (typeof client !== 'string' || client.length === 0 || utf8ByteLength(client) > clientIdBytesMax) {
    throw invalid('an invalid client id');
  }
  if (!isCount(seq)) throw invalid('an invalid seq');
  if (!isCount(activitySlot) || activitySlot > lastAppliedSlot) throw invalid('an invalid activitySlot');
  if (!isCount(slot) || slot > activitySlot) throw invalid('an invalid outcome slot');
  if (ok === true) return [client, { seq, activitySlot, outcome: { slot, ok, result: raw.result } }];
  if (ok !== false || typeof raw.error !== 'string') throw invalid('an invalid outcome');
  return [client, { seq, activitySlot, outcome: { slot, ok, error: raw.error } }];
}

/** A broken invariant is a bug: stop rather than let replicas drift apart. */
function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}
