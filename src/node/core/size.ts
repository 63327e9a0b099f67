// How many bytes a value takes on the wire, without encoding it: the core
// bounds batches, windows and catch-up replies in bytes as well as in slots,
// because a slot holds any number of commands of any size, and a message
// over the frame limit can never be sent. The estimate is never below what
// msgpack takes (each container, string, number or key is counted at its
// largest header), and is exact for string contents (UTF-8 length).
import type { Command, Value } from './messages.js';

/** Nesting deeper than this is counted as the rest of the value being a leaf: the wire refuses it long before. */
const depthMax = 64;

/** Bytes of one command as a WAL record or accept carries it: [client, seq, op]. */
export function commandBytes(command: Command): number {
  return 5 + stringBytes(command.client) + 9 + opBytes(command.op, 0);
}

/** Bytes of a slot's value: its commands. */
export function valueBytes(value: Value): number {
  let total = 5;
  for (const command of value.commands) total += commandBytes(command);
  return total;
}

/** Bytes of any msgpack-able data (a command's op, a state machine's result), as estimated above. */
export function dataBytes(data: unknown): number {
  return opBytes(data, 0);
}

function opBytes(op: unknown, depth: number): number {
  if (typeof op === 'string') return stringBytes(op);
  if (op === null || op === undefined || typeof op === 'boolean') return 1;
  if (typeof op === 'number' || typeof op === 'bigint') return 9;
  if (depth >= depthMax || typeof op !== 'object') return 9;
  if (op instanceof Uint8Array) return 5 + op.byteLength;
  let total = 5;
  if (Array.isArray(op)) {
    for (const item of op) total += opBytes(item, depth + 1);
    return total;
  }
  if (op instanceof Map) {
    for (const [key, item] of op) total += opBytes(key, depth + 1) + opBytes(item, depth + 1);
    return total;
  }
  for (const [key, item] of Object.entries(op)) total += stringBytes(key) + opBytes(item, depth + 1);
  return total;
}

/** A msgpack str: up to 5 bytes of header, then the UTF-8 bytes. */
function stringBytes(text: string): number {
  let bytes = 5;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code < 0xdc00 && index + 1 < text.length) {
      bytes += 4; // a surrogate pair: one 4-byte character
      index += 1;
    } else bytes += 3;
  }
  return bytes;
}
