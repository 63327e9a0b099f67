// Values as the key-value store keeps them: strings, or any JSON value when a
// client used --json-value. Pure helpers, shared by the store (on every
// replica, inside apply) and by the command-line parser (before submitting).

import { encodeCanonicalJson } from '../../json/canonical.js';

// Canonical JSON lives in src/json, so that src/check can use it without importing src/node.
export { encodeCanonicalJson, valueDepthMax, type JsonValue } from '../../json/canonical.js';

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
