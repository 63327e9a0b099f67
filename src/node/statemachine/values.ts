// Values as the key-value store keeps them: strings, or any JSON value when a
// client used --json-value. Pure helpers, shared by the store (on every
// replica, inside apply) and by the command-line parser (before submitting).

/** A JSON value: what `--json-value` lets a client store. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * JSON documents nested deeper than this are refused. Validation and encoding
 * recurse, so depth must be bounded, and a value nested this deep is almost
 * surely a mistake rather than data.
 */
export const valueDepthMax = 64;

/**
 * Encodes a JSON value with object keys sorted, so that two deeply equal values
 * give the same text whatever order their keys arrived in. Returns undefined
 * when `value` is not a JSON value (undefined, NaN, binary, a class instance,
 * a hole in an array) or is nested deeper than {@link valueDepthMax}.
 */
export function encodeCanonicalJson(value: unknown): string | undefined {
  return encodeAt(value, 0);
}

function encodeAt(value: unknown, depth: number): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : undefined;
    case 'object':
      return depth >= valueDepthMax ? undefined : encodeContainer(value, depth + 1);
    default:
      return undefined;
  }
}

function encodeContainer(value: object, depth: number): string | undefined {
  if (Array.isArray(value)) return encodeArray(value, depth);
  if (!isPlainObject(value)) return undefined;
  return encodeObject(value, depth);
}

function encodeArray(items: readonly unknown[], depth: number): string | undefined {
  const parts: string[] = [];
  // An index loop, not for-of, so that a hole reads as undefined and is refused.
  for (let index = 0; index < items.length; index++) {
    const part = encodeAt(items[index], depth);
    if (part === undefined) return undefined;
    parts.push(part);
  }
  return `[${parts.join(',')}]`;
}

function encodeObject(record: Record<string, unknown>, depth: number): string | undefined {
  const parts: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const part = encodeAt(record[key], depth);
    if (part === undefined) return undefined;
    parts.push(`${JSON.stringify(key)}:${part}`);
  }
  return `{${parts.join(',')}}`;
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * The size a value counts against the value limit: a string's UTF-8 bytes, or
 * the UTF-8 bytes of any other JSON value's canonical encoding. Undefined when
 * `value` is not a JSON value.
 */
export function measureValueBytes(value: unknown): number | undefined {
  if (typeof value === 'string') return utf8ByteLength(value);
  const encoding = encodeCanonicalJson(value);
  return encoding === undefined ? undefined : utf8ByteLength(encoding);
}

/**
 * UTF-8 length of a string, computed without allocating (limits are checked
 * on every write). A lone surrogate counts 3 bytes, as TextEncoder writes it.
 */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (isSurrogatePair(text, index)) {
      bytes += 4;
      index++;
    } else bytes += 3;
  }
  return bytes;
}

function isSurrogatePair(text: string, index: number): boolean {
  const high = text.charCodeAt(index);
  if (high < 0xd800 || high > 0xdbff || index + 1 >= text.length) return false;
  const low = text.charCodeAt(index + 1);
  return low >= 0xdc00 && low <= 0xdfff;
}

/**
 * How a result is printed for a person: null (a missing key) as `(nil)`,
 * strings as they are, anything else as JSON.
 */
export function renderResult(result: unknown): string {
  if (result === null || result === undefined) return '(nil)';
  if (typeof result === 'string') return result;
  return renderJson(result);
}

/**
 * Any value as JSON text, tolerating what msgpack can carry but JSON cannot
 * (bigint as its digits, Map as an object), so printing never throws.
 */
export function renderJson(value: unknown): string {
  try {
    const text = JSON.stringify(value, jsonReplacer);
    return text === undefined ? String(value) : text;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
}

/**
 * Shortens text for an error message, which people read and sessions keep:
 * a 1 MiB value must not become a 1 MiB message. Never splits a surrogate pair.
 */
export function truncateText(text: string, charsMax: number): string {
  if (text.length <= charsMax) return text;
  let end = charsMax;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}
