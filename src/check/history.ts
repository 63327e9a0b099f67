// Reads SPEC's history format (JSON lines) into operations: one invocation
// joined with its completion. Every rule of the format is checked here, with
// the line number in the message, so the search can trust what it is given.
import { encodeCanonicalJson, type JsonValue } from '../json/canonical.js';
import { HistoryParseError } from './errors.js';

export type { JsonValue };

/** What an operation does to its key's register. */
export type OperationFunction = 'read' | 'write' | 'cas';

/** ok: applied; fail: definitely not applied; info: unknown (it may apply at any later time, or never). */
export type Outcome = 'ok' | 'fail' | 'info';

/** SPEC's processes are integers; strings are accepted too, as Jepsen histories use them. */
export type ProcessId = number | string;

/** One invocation and its completion. */
export interface Operation {
  process: ProcessId;
  f: OperationFunction;
  key: string;
  /** write: the value written; cas: [expected, new]; read: the value read if ok (null = missing), else null. */
  value: JsonValue;
  /** An operation still in flight when the history ends counts as info. */
  outcome: Outcome;
  invokeTime: number;
  /** Null when the history ended with the operation in flight. */
  completeTime: number | null;
  /** Line numbers, counted from 1, for messages. */
  invokeLine: number;
  completeLine: number | null;
}

const eventTypes = ['invoke', 'ok', 'fail', 'info'] as const;
type EventType = (typeof eventTypes)[number];
const operationFunctions: readonly OperationFunction[] = ['read', 'write', 'cas'];

/** One line of the history, its fields checked. */
interface HistoryEvent {
  process: ProcessId;
  type: EventType;
  time: number;
  record: Record<string, unknown>;
}

/**
 * Turns history lines into operations, one line at a time (so a history can be
 * streamed from stdin). Throws {@link HistoryParseError} naming the line.
 *
 * @example
 * const parser = new HistoryParser();
 * for (const line of text.split('\n')) parser.push(line);
 * const operations = parser.finish();
 */
export class HistoryParser {
  private readonly operations: Operation[] = [];
  /** The operation each process has in flight. */
  private readonly inFlight = new Map<ProcessId, Operation>();
  /** The last time seen per process: a process's clock never goes back. */
  private readonly lastTimes = new Map<ProcessId, number>();
  private lineNumber = 0;

  push(line: string): void {
    this.lineNumber += 1;
    if (line.trim() === '') return;
    const event = this.readEvent(line);
    this.checkClock(event);
    if (event.type === 'invoke') this.invoke(event);
    else this.complete(event);
  }

  /** The operations in order of invocation; those still in flight become info. */
  finish(): Operation[] {
    this.inFlight.clear();
    return this.operations;
  }

  private readEvent(line: string): HistoryEvent {
    const record = this.parseObject(line);
    const process = record.process;
    if (!((typeof process === 'number' && Number.isSafeInteger(process)) || (typeof process === 'string' && process !== ''))) {
      throw this.error(`"process" must be an integer, got ${describe(process)}`);
    }
    const type = record.type;
    if (typeof type !== 'string' || !(eventTypes as readonly string[]).includes(type)) {
      throw this.error(`"type" must be one of ${eventTypes.join(', ')}, got ${describe(type)}`);
    }
    const time = record.time;
    if (typeof time !== 'number' || !Number.isSafeInteger(time)) {
      throw this.error(`"time" must be an integer below 2^53 (microseconds fit; nanoseconds since boot may not), got ${describe(time)}`);
    }
    return { process, type: type as EventType, time, record };
  }

  private parseObject(line: string): Record<string, unknown> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      throw this.error(`not valid JSON (${error instanceof Error ? error.message : String(error)})`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw this.error(`each line must be a JSON object, got ${describe(parsed)}`);
    }
    return parsed as Record<string, unknown>;
  }

  private checkClock(event: HistoryEvent): void {
    const last = this.lastTimes.get(event.process);
    if (last !== undefined && event.time < last) {
      throw this.error(`time ${event.time} of process ${show(event.process)} is before its previous event's time ${last} (time must be monotonic)`);
    }
    this.lastTimes.set(event.process, event.time);
  }

  private invoke(event: HistoryEvent): void {
    const running = this.inFlight.get(event.process);
    if (running !== undefined) {
      throw this.error(
        `process ${show(event.process)} invokes again while its operation from line ${running.invokeLine} is in flight (a process has at most one operation in flight)`,
      );
    }
    const f = this.readFunction(event.record.f);
    const key = event.record.key;
    if (typeof key !== 'string') throw this.error(`"key" must be a string, got ${describe(key)}`);
    const operation: Operation = {
      process: event.process,
      f,
      key,
      value: f === 'read' ? null : this.readInvokeValue(f, event.record),
      outcome: 'info',
      invokeTime: event.time,
      completeTime: null,
      invokeLine: this.lineNumber,
      completeLine: null,
    };
    this.operations.push(operation);
    this.inFlight.set(event.process, operation);
  }

  private readFunction(f: unknown): OperationFunction {
    if (typeof f !== 'string' || !(operationFunctions as readonly string[]).includes(f)) {
      throw this.error(`"f" must be one of ${operationFunctions.join(', ')}, got ${describe(f)}`);
    }
    return f as OperationFunction;
  }

  private readInvokeValue(f: 'write' | 'cas', record: Record<string, unknown>): JsonValue {
    if (!Object.hasOwn(record, 'value')) throw this.error(`a ${f} needs a "value"`);
    const value = this.readValue(record.value);
    if (f === 'cas' && !(Array.isArray(value) && value.length === 2)) {
      throw this.error(`a cas "value" must be [expected, new], got ${describe(value)}`);
    }
    return value;
  }

  private readValue(value: unknown): JsonValue {
    // Parsed JSON is always a JSON value; the canonical encoding also bounds its depth.
    if (encodeCanonicalJson(value) === undefined) throw this.error('"value" is nested too deeply');
    return value as JsonValue;
  }

  private complete(event: HistoryEvent): void {
    const operation = this.inFlight.get(event.process);
    if (operation === undefined) {
      throw this.error(`a completion ("${event.type}") for process ${show(event.process)}, which has no operation in flight`);
    }
    this.checkSameOperation(operation, event.record);
    operation.outcome = event.type as Outcome;
    operation.completeTime = event.time;
    operation.completeLine = this.lineNumber;
    if (operation.f === 'read' && event.type === 'ok') operation.value = this.readValue(event.record.value ?? null);
    this.inFlight.delete(event.process);
  }

  /** A completion may omit f and key; when it names them, they must be its invocation's. */
  private checkSameOperation(operation: Operation, record: Record<string, unknown>): void {
    if (record.f !== undefined && record.f !== operation.f) {
      throw this.error(`completion has "f" ${describe(record.f)} but the invocation on line ${operation.invokeLine} is a ${operation.f}`);
    }
    if (record.key !== undefined && record.key !== operation.key) {
      throw this.error(`completion has "key" ${describe(record.key)} but the invocation on line ${operation.invokeLine} is on ${show(operation.key)}`);
    }
  }

  private error(reason: string): HistoryParseError {
    return new HistoryParseError(this.lineNumber, reason);
  }
}

/** Parses a whole history held in memory. */
export function parseHistory(text: string): Operation[] {
  const parser = new HistoryParser();
  for (const line of text.split('\n')) parser.push(line);
  return parser.finish();
}

/** Parses a history line by line from a stream (a file or stdin through readline). */
export async function parseHistoryLines(lines: AsyncIterable<string>): Promise<Operation[]> {
  const parser = new HistoryParser();
  for await (const line of lines) parser.push(line);
  return parser.finish();
}

const shownCharsMax = 60;

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > shownCharsMax ? `${text.slice(0, shownCharsMax)}…` : text;
}

function show(value: ProcessId): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
