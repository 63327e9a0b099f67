// msgpack <-> JavaScript values, with one shared msgpackr instance configured for
// untrusted input. Shapes are checked later, in validate.ts; this file only
// guarantees that a frame body is exactly one well-formed msgpack value.
import { C1, Packr, addExtension } from 'msgpackr';
import { WireError } from './errors.js';
import type { WireMessage } from './protocol.js';

/**
 * Plain maps and arrays only, so that clients in other languages see ordinary
 * msgpack. `structuredClone: false` must be explicit: msgpackr only refuses its
 * reference extensions (0x69/0x70) when the option is literally false, and shared
 * references would let a small frame expand exponentially. `copyBuffers` keeps
 * decoded binary values from pinning (or aliasing) the receive buffer.
 * `int64AsType: 'auto'` turns a uint64/int64 that fits in a double into a number,
 * because Go and Java encoders often send small integers as 64-bit ones.
 * `encodeUndefinedAsNil` keeps msgpackr's private undefined extension off the wire.
 */
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  structuredClone: false,
  copyBuffers: true,
  encodeUndefinedAsNil: true,
  // 'auto' is implemented by msgpackr 2.1.4 but missing from its type declarations.
  int64AsType: 'auto' as 'bigint',
});

/**
 * msgpackr decodes its "bundled strings" extension (0x62) in every instance, and
 * that extension lets each of many 6-byte references re-read one large string:
 * a 4 MiB frame took 5.5 s to decode. Nobody on our wire bundles strings, so
 * refuse the extension. This is process-wide (msgpackr keeps one extension
 * table); no other room may rely on `bundleStrings`.
 */
const bundledStringsExtension = 0x62;
addExtension({
  type: bundledStringsExtension,
  unpack(): never {
    throw new WireError('decode_failed', 'msgpackr bundled strings are not accepted');
  },
});

/**
 * Encodings of values shared by several messages of one send: a leader's
 * accept carries the same value (a batch of commands, the bulk of its bytes) to
 * every peer, and each peer's copy differs only in `to`. Scoped to one send by
 * its caller, so nothing outlives the messages it was made for.
 */
export type SharedEncodings = Map<object, Buffer>;

export function encodeMessage(message: WireMessage, shared?: SharedEncodings): Buffer {
  if (shared === undefined || message.type !== 'accept') return packr.pack(message);
  const { value, ...head } = message;
  let encodedValue = shared.get(value);
  if (encodedValue === undefined) {
    // A copy: msgpackr hands out slices of one buffer that later packs reuse.
    encodedValue = Buffer.from(packr.pack(value));
    shared.set(value, encodedValue);
  }
  return packMapWithEncodedField(packr.pack(head), valueKey, encodedValue);
}

const valueKey = Buffer.from(packr.pack('value'));

/** `map` (an encoded map) with one more field: `key` and `encoded`, both already msgpack. Written as a map16 or map32. */
function packMapWithEncodedField(map: Buffer, key: Buffer, encoded: Buffer): Buffer {
  const marker = map[0];
  const [fields, headerBytes] =
    marker >= 0x80 && marker <= 0x8f ? [marker - 0x80, 1] : marker === 0xde ? [map.readUInt16BE(1), 3] : marker === 0xdf ? [map.readUInt32BE(1), 5] : [-1, 0];
  if (fields < 0) throw new Error(`expected an encoded map, got marker 0x${marker.toString(16)}`);
  const wide = fields + 1 > 0xffff;
  const out = Buffer.allocUnsafe((wide ? 5 : 3) + map.length - headerBytes + key.length + encoded.length);
  out[0] = wide ? 0xdf : 0xde;
  let at = wide ? out.writeUInt32BE(fields + 1, 1) : out.writeUInt16BE(fields + 1, 1);
  at += map.copy(out, at, headerBytes);
  at += key.copy(out, at);
  encoded.copy(out, at);
  return out;
}

/** Decodes exactly one msgpack value; throws WireError('decode_failed') on anything else. */
export function decodeMessage(bytes: Uint8Array): unknown {
  if (bytes.length === 0) throw new WireError('decode_failed', 'empty message');
  let value: unknown;
  try {
    value = packr.unpack(asBuffer(bytes)) as unknown;
  } catch (error) {
    throw new WireError('decode_failed', describeDecodeFailure(error), { cause: error });
  }
  if (containsNeverUsed(value)) throw new WireError('decode_failed', 'malformed msgpack: the never-used byte 0xc1');
  return value;
}

/**
 * msgpackr decodes the byte 0xc1, which msgpack reserves as "never used", to a
 * placeholder object instead of failing. Such a frame is malformed msgpack
 * (decode_failed), wherever the byte is, even in a field nobody reads. An
 * explicit stack, not recursion: the walk is as deep as msgpackr let the value be.
 */
function containsNeverUsed(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item === C1) return true;
    if (typeof item !== 'object' || item === null || ArrayBuffer.isView(item)) continue;
    // A loop, not push(...items): a 16 MiB frame can hold more items than a call takes arguments.
    for (const child of Array.isArray(item) ? item : Object.values(item)) stack.push(child);
  }
  return false;
}

/**
 * msgpackr copies binary values with the input's own species: a Buffer input
 * gives Buffers, a plain Uint8Array gives Uint8Arrays. Replicas must see the same
 * type for the same bytes (Buffer and Uint8Array differ in toString), so always
 * decode from a Buffer view of the input. No bytes are copied here.
 */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const decodeFailureCharsMax = 200;

/** msgpackr throws plain Errors (and RangeError on deep nesting); say which, briefly. */
function describeDecodeFailure(error: unknown): string {
  if (error instanceof RangeError) return 'malformed msgpack: nested too deeply or out of range';
  const detail = error instanceof Error ? error.message : String(error);
  if (detail.startsWith('Data read, but end of buffer not reached')) return 'malformed msgpack: trailing bytes after the message';
  return `malformed msgpack: ${detail.slice(0, decodeFailureCharsMax)}`;
}
