// The key-value store's command language: which verbs exist, their arity, and
// the validation that turns an untrusted op array into a typed operation. The
// store runs it on every replica (a bad op is refused) and the command-line
// parser runs it before submitting (a bad op is a usage error), so both say
// the same thing in the same words.
import { CommandRefused } from './types.js';
import { type JsonValue, measureValueBytes, truncateText, utf8ByteLength, valueDepthMax } from './values.js';

/** Keys longer than this (UTF-8 bytes) are refused: keys are kept, sorted and compared on every snapshot. */
export const keyBytesMax = 4096;

/**
 * Values larger than this (UTF-8 bytes, of the string or of the JSON encoding)
 * are refused: a value travels in one slot's accept message, and a slot must
 * stay far below the 16 MiB frame limit even when batched with others.
 *
 * This ceiling is checked inside apply, so it is part of the replicated
 * behaviour (`builtin:kv@1`): every replica must refuse exactly the same
 * values, so it is a constant, never a flag. The operator's limit
 * (`--value-bytes-max`, {@link storedValueRefusal}) is checked by the leader
 * before it proposes, where nodes may differ safely, and may only be lower.
 */
export const valueBytesMax = 1024 * 1024;

/** A verb of the built-in key-value store. */
export type KeyValueVerb = 'get' | 'set' | 'del' | 'cas' | 'incr' | 'append' | 'noop';

/** What a verb takes after it. Positions count from the op array's start (the verb is 0). */
export interface VerbShape {
  /** The line shown after `usage:`. */
  usage: string;
  argumentsMin: number;
  argumentsMax: number;
  /** Positions that hold values, which `--json-value` parses as JSON. */
  valuePositions: readonly number[];
}

/** Every verb of the store, in the order help lists them. */
export const keyValueVerbs: Readonly<Record<KeyValueVerb, VerbShape>> = Object.freeze({
  get: { usage: 'get KEY', argumentsMin: 1, argumentsMax: 1, valuePositions: [] },
  set: { usage: 'set KEY VALUE', argumentsMin: 2, argumentsMax: 2, valuePositions: [2] },
  del: { usage: 'del KEY', argumentsMin: 1, argumentsMax: 1, valuePositions: [] },
  cas: { usage: 'cas KEY EXPECTED NEW', argumentsMin: 3, argumentsMax: 3, valuePositions: [2, 3] },
  incr: { usage: 'incr KEY [N]', argumentsMin: 1, argumentsMax: 2, valuePositions: [] },
  append: { usage: 'append KEY VALUE', argumentsMin: 2, argumentsMax: 2, valuePositions: [2] },
  noop: { usage: 'noop', argumentsMin: 0, argumentsMax: 0, valuePositions: [] },
});

/** A validated key-value operation. Sizes are measured once here and kept with the value. */
export type KeyValueOp =
  | { verb: 'get'; key: string }
  | { verb: 'set'; key: string; value: JsonValue; valueBytes: number }
  | { verb: 'del'; key: string }
  | { verb: 'cas'; key: string; expected: JsonValue; value: JsonValue; valueBytes: number }
  | { verb: 'incr'; key: string; amount: number }
  | { verb: 'append'; key: string; suffix: string; suffixBytes: number }
  | { verb: 'noop' };

/** The verb named by `word`, or undefined when the store has no such verb. */
export function lookupVerb(word: unknown): KeyValueVerb | undefined {
  if (typeof word !== 'string' || !Object.hasOwn(keyValueVerbs, word)) return undefined;
  return word as KeyValueVerb;
}

/** The message for a word that is not a verb. */
export function unknownVerbMessage(word: unknown): string {
  const verbs = Object.keys(keyValueVerbs).join(', ');
  const shown = typeof word === 'string' ? `"${truncateWord(word)}"` : `a ${typeOfValue(word)}`;
  return `unknown command ${shown}; the key-value store knows ${verbs}`;
}

/** Undefined when `argumentCount` suits `verb`, else the usage message. */
export function checkArity(verb: KeyValueVerb, argumentCount: number): string | undefined {
  const shape = keyValueVerbs[verb];
  if (argumentCount >= shape.argumentsMin && argumentCount <= shape.argumentsMax) return undefined;
  return `usage: ${shape.usage}`;
}

/**
 * Validates an op array such as `["cas","x","1","2"]` and returns it typed.
 * Throws {@link CommandRefused} with a message a user understands.
 */
export function checkKeyValueOp(op: unknown): KeyValueOp {
  if (!Array.isArray(op) || op.length === 0) {
    throw new CommandRefused('usage: COMMAND [ARG...]: a key-value command is an array such as ["set","x","1"]');
  }
  const verb = lookupVerb(op[0]);
  if (verb === undefined) throw new CommandRefused(unknownVerbMessage(op[0]));
  const arityMessage = checkArity(verb, op.length - 1);
  if (arityMessage !== undefined) throw new CommandRefused(arityMessage);
  return buildOp(verb, op);
}

function buildOp(verb: KeyValueVerb, op: readonly unknown[]): KeyValueOp {
  const usage = keyValueVerbs[verb].usage;
  switch (verb) {
    case 'noop':
      return { verb };
    case 'get':
    case 'del':
      return { verb, key: checkKey(usage, op[1]) };
    case 'set':
      return { verb, key: checkKey(usage, op[1]), ...checkStoredValue(usage, 'VALUE', op[2]) };
    case 'cas':
      return buildCas(usage, op);
    case 'incr':
      return { verb, key: checkKey(usage, op[1]), amount: checkAmount(usage, op.length > 2 ? op[2] : 1) };
    case 'append':
      return buildAppend(usage, op);
  }
}

function buildCas(usage: string, op: readonly unknown[]): KeyValueOp {
  const key = checkKey(usage, op[1]);
  // The expected value is only compared, never stored, so it needs no size limit.
  if (measureValueBytes(op[2]) === undefined) throw new CommandRefused(notJsonMessage(usage, 'EXPECTED'));
  return { verb: 'cas', key, expected: op[2] as JsonValue, ...checkStoredValue(usage, 'NEW', op[3]) };
}

function buildAppend(usage: string, op: readonly unknown[]): KeyValueOp {
  const key = checkKey(usage, op[1]);
  const suffix = op[2];
  if (typeof suffix !== 'string') throw new CommandRefused(`usage: ${usage} (VALUE must be a string to append)`);
  return { verb: 'append', key, suffix, suffixBytes: checkSize('VALUE', utf8ByteLength(suffix)) };
}

function checkKey(usage: string, key: unknown): string {
  if (typeof key !== 'string') throw new CommandRefused(`usage: ${usage} (KEY must be a string, got a ${typeOfValue(key)})`);
  const keyBytes = utf8ByteLength(key);
  if (keyBytes > keyBytesMax) {
    throw new CommandRefused(`key is ${keyBytes} bytes, more than the limit of ${keyBytesMax} bytes`);
  }
  return key;
}

function checkStoredValue(usage: string, name: string, value: unknown): { value: JsonValue; valueBytes: number } {
  const valueBytes = measureValueBytes(value);
  if (valueBytes === undefined) throw new CommandRefused(notJsonMessage(usage, name));
  return { value: value as JsonValue, valueBytes: checkSize(name, valueBytes) };
}

function checkSize(name: string, valueBytes: number): number {
  if (valueBytes > valueBytesMax) {
    throw new CommandRefused(`${name} is ${valueBytes} bytes, more than the limit of ${valueBytesMax} bytes`);
  }
  return valueBytes;
}

function checkAmount(usage: string, amount: unknown): number {
  const parsed = parseInteger(amount);
  if (parsed === undefined) {
    throw new CommandRefused(`usage: ${usage} (N must be an integer, got ${describeWord(amount)})`);
  }
  return parsed;
}

function notJsonMessage(usage: string, name: string): string {
  return `usage: ${usage} (${name} must be a string or a JSON value nested at most ${valueDepthMax} deep)`;
}

// Decimal digits of Number.MAX_SAFE_INTEGER; more digits cannot be safe.
const integerPattern = /^-?[0-9]{1,16}$/;

/**
 * Reads a safe integer from a number or a decimal string such as "-42".
 * Undefined for anything else (fractions, "1e3", " 1", numbers beyond 2^53).
 */
export function parseInteger(value: unknown): number | undefined {
  let parsed: number;
  if (typeof value === 'number') parsed = value;
  else if (typeof value === 'string' && integerPattern.test(value)) parsed = Number(value);
  else return undefined;
  // Adding zero turns -0 into 0, so "-0" is stored and printed as "0".
  return Number.isSafeInteger(parsed) ? parsed + 0 : undefined;
}

const wordCharsMax = 64;

function describeWord(value: unknown): string {
  if (typeof value === 'string') return `"${truncateWord(value)}"`;
  if (typeof value === 'number') return String(value);
  return `a ${typeOfValue(value)}`;
}

function truncateWord(word: string): string {
  return truncateText(word, wordCharsMax);
}

function typeOfValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Uint8Array) return 'binary';
  return typeof value;
}

/**
 * Why the leader must not propose `op` under an operator's value limit
 * (`--value-bytes-max`, at most {@link valueBytesMax}), or null. Only the size
 * of the value a set, cas or append would store is looked at: a malformed op
 * is proposed and refused by apply, the same on every replica, as before.
 */
export function storedValueRefusal(op: unknown, limitBytes: number): string | null {
  if (!Array.isArray(op)) return null;
  const verb = lookupVerb(op[0]);
  const position = verb === 'set' || verb === 'append' ? 2 : verb === 'cas' ? 3 : null;
  if (position === null || op.length <= position) return null;
  const value = op[position];
  const bytes = verb === 'append' ? (typeof value === 'string' ? utf8ByteLength(value) : undefined) : measureValueBytes(value);
  if (bytes === undefined || bytes <= limitBytes) return null;
  const name = verb === 'cas' ? 'NEW' : 'VALUE';
  return `${name} is ${bytes} bytes, more than this node's limit of ${limitBytes} bytes (--value-bytes-max); it was not proposed`;
}
