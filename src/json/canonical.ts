// JSON values and their canonical encoding (object keys sorted), shared by
// rooms that must not import each other: the state machine (digests and
// value sizes on every replica) and the linearizability checker (histories).
// Pure; imports nothing.

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
