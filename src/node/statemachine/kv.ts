// The built-in key-value store: the default service a cluster replicates.
// Every write validates fully before it changes anything, so a refused
// command leaves the store exactly as it was on every replica.
import { packSnapshot, unpackSnapshot } from './snapshot-codec.js';
import { CommandRefused, SnapshotInvalid, type StateMachine } from './types.js';
import { type KeyValueOp, checkKeyValueOp, keyBytesMax, parseInteger, valueBytesMax } from './verbs.js';
import {
  type JsonValue,
  encodeCanonicalJson,
  measureValueBytes,
  renderJson,
  renderResult,
  truncateText,
  utf8ByteLength,
} from './values.js';

/** The `format` field of a key-value snapshot. */
export const keyValueSnapshotFormat = 'paxos-kv';

/**
 * A value quoted in a refusal (`cas failed: x is ...`) is cut to this many
 * characters: messages are read by people and kept in client sessions.
 */
export const refusalValueCharsMax = 200;

/** A stored value with its size, kept so append can check the limit without rescanning. */
interface Entry {
  value: JsonValue;
  valueBytes: number;
}

/**
 * Creates an empty built-in key-value store.
 *
 * Commands are arrays: `["get",k]` returns the value or null; `["set",k,v]`,
 * `["del",k]` and `["noop"]` return "OK"; `["cas",k,expected,new]` returns "OK"
 * or refuses with `cas failed: k is CURRENT`; `["incr",k]` and `["incr",k,n]`
 * return the new number (a missing key counts as 0; the value is stored as a
 * decimal string); `["append",k,v]` returns the new length in UTF-8 bytes.
 * A missing key reads as null, and cas treats it as equal to JSON null.
 */
export function createKeyValueStore(): StateMachine {
  return new KeyValueStore();
}

class KeyValueStore implements StateMachine {
  private entries = new Map<string, Entry>();

  apply(command: unknown): unknown {
    return this.execute(checkKeyValueOp(command));
  }

  /** The read path answers `get` only: every other verb changes the store. */
  query(command: unknown): unknown {
    const op = checkKeyValueOp(command);
    if (op.verb !== 'get') throw new CommandRefused(`${op.verb} is not a read: only get is answered as a query (submit it as a command)`);
    return this.execute(op);
  }

  private execute(op: KeyValueOp): unknown {
    switch (op.verb) {
      case 'get':
        return this.entries.get(op.key)?.value ?? null;
      case 'set':
        return this.write(op.key, { value: op.value, valueBytes: op.valueBytes });
      case 'del':
        this.entries.delete(op.key);
        return 'OK';
      case 'cas':
        return this.compareAndSet(op.key, op.expected, { value: op.value, valueBytes: op.valueBytes });
      case 'incr':
        return this.increment(op.key, op.amount);
      case 'append':
        return this.append(op.key, op.suffix, op.suffixBytes);
      case 'noop':
        return 'OK';
    }
  }

  private write(key: string, entry: Entry): 'OK' {
    this.entries.set(key, entry);
    return 'OK';
  }

  private compareAndSet(key: string, expected: JsonValue, entry: Entry): 'OK' {
    const current = this.entries.get(key);
    if (!sameJson(current?.value ?? null, expected)) {
      throw new CommandRefused(`cas failed: ${key} is ${describeCurrent(current, expected)}`);
    }
    return this.write(key, entry);
  }

  private increment(key: string, amount: number): number {
    const current = this.entries.get(key);
    const base = current === undefined ? 0 : parseInteger(current.value);
    if (base === undefined) {
      throw new CommandRefused(`incr failed: ${key} holds ${quoteStored(current)}, not an integer`);
    }
    const sum = base + amount;
    if (!Number.isSafeInteger(sum)) {
      throw new CommandRefused(`incr failed: ${key} would leave the safe integer range (±${Number.MAX_SAFE_INTEGER})`);
    }
    // Stored as a decimal string so that get returns a string, as if set had written it.
    const text = String(sum);
    this.entries.set(key, { value: text, valueBytes: text.length });
    return sum;
  }

  private append(key: string, suffix: string, suffixBytes: number): number {
    const current = this.entries.get(key) ?? { value: '', valueBytes: 0 };
    if (typeof current.value !== 'string') {
      throw new CommandRefused(`append failed: ${key} holds a JSON value, not a string`);
    }
    const valueBytes = current.valueBytes + suffixBytes;
    if (valueBytes > valueBytesMax) {
      throw new CommandRefused(
        `append failed: ${key} would be ${valueBytes} bytes, more than the limit of ${valueBytesMax} bytes`,
      );
    }
    this.entries.set(key, { value: current.value + suffix, valueBytes });
    return valueBytes;
  }

  snapshot(): Uint8Array {
    // Sorted by key so equal states give identical bytes, whatever order the
    // Map was filled in (a restored store fills it in key order).
    const sorted = [...this.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return packSnapshot(keyValueSnapshotFormat, { entries: sorted.map(([key, entry]) => [key, entry.value]) });
  }

  restore(bytes: Uint8Array): void {
    const body = unpackSnapshot(bytes, keyValueSnapshotFormat);
    // Replaced only after every entry is valid, so a bad snapshot changes nothing.
    this.entries = readEntries(body.entries);
  }
}

function sameJson(current: JsonValue, expected: JsonValue): boolean {
  if (typeof current === 'string' && typeof expected === 'string') return current === expected;
  // Deep equality: canonical encodings sort object keys, so key order does not matter.
  return encodeCanonicalJson(current) === encodeCanonicalJson(expected);
}

/**
 * The current value as a cas refusal shows it. When the client sent a string,
 * the plain rendering reads best (`x is 3`); when it sent JSON, the value is
 * shown as JSON so that the string "3" and the number 3 look different.
 */
function describeCurrent(current: Entry | undefined, expected: JsonValue): string {
  if (current === undefined || current.value === null) return '(nil)';
  const shown = typeof expected === 'string' ? renderResult(current.value) : renderJson(current.value);
  return truncateText(shown, refusalValueCharsMax);
}

function quoteStored(entry: Entry | undefined): string {
  return truncateText(renderJson(entry?.value ?? null), refusalValueCharsMax);
}

function readEntries(entries: unknown): Map<string, Entry> {
  if (!Array.isArray(entries)) throw new SnapshotInvalid('key-value snapshot has no entries array');
  const map = new Map<string, Entry>();
  let previousKey: string | undefined;
  for (let index = 0; index < entries.length; index++) {
    const [key, entry] = readEntry(entries[index], index);
    if (previousKey !== undefined && !(previousKey < key)) {
      throw new SnapshotInvalid(`key-value snapshot entry ${index} is out of order or repeats a key`);
    }
    map.set(key, entry);
    previousKey = key;
  }
  return map;
}

function readEntry(raw: unknown, index: number): [string, Entry] {
  if (!Array.isArray(raw) || raw.length !== 2) {
    throw new SnapshotInvalid(`key-value snapshot entry ${index} is not a [key, value] pair`);
  }
  const [key, value] = raw as [unknown, unknown];
  if (typeof key !== 'string' || utf8ByteLength(key) > keyBytesMax) {
    throw new SnapshotInvalid(`key-value snapshot entry ${index} has an invalid key`);
  }
  const valueBytes = measureValueBytes(value);
  if (valueBytes === undefined || valueBytes > valueBytesMax) {
    throw new SnapshotInvalid(`key-value snapshot entry ${index} has an invalid value`);
  }
  return [key, { value: value as JsonValue, valueBytes }];
}
