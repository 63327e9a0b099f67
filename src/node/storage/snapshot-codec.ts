// The snapshot file format, as bytes: pure encode and decode, shared by the
// files in `<data-dir>/snapshots/`, transfers between nodes and the simulation.
//
// One file:
//   0..7   magic "PXSNAP01"
//   8..11  body length, uint32 big-endian
//   12..15 CRC-32C of the body, uint32 big-endian
//   16..   body: msgpack [slot, appliedDigest, state]
import { crc32c } from '@node-rs/crc32';
import { Packr, Unpackr } from 'msgpackr';
import type { Slot } from '../core/messages.js';
import { CorruptSnapshotError } from './errors.js';

const magic = Buffer.from('PXSNAP01', 'latin1');
const headerBytes = 16;
const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false });

export interface Snapshot {
  /** Every slot up to this one is applied in `state`. */
  slot: Slot;
  /** The hash chain over applied values at `slot` (see NodeStatus.appliedDigest). */
  appliedDigest: string;
  /** The ReplicatedService snapshot: sessions and the state machine's own bytes. */
  state: Uint8Array;
}

export function encodeSnapshot(snapshot: Snapshot): Buffer {
  const body = packr.pack([snapshot.slot, snapshot.appliedDigest, snapshot.state]);
  const header = Buffer.alloc(headerBytes);
  magic.copy(header, 0);
  header.writeUInt32BE(body.length, 8);
  header.writeUInt32BE(crc32c(body), 12);
  return Buffer.concat([header, body]);
}

/** Checks and decodes snapshot bytes (from disk or a peer); throws CorruptSnapshotError naming `file`. */
export function decodeSnapshot(bytes: Uint8Array, file: string): Snapshot {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const corrupt = (why: string) => new CorruptSnapshotError({ file, why });
  if (buffer.length < headerBytes || !buffer.subarray(0, 8).equals(magic)) throw corrupt('not a paxos snapshot (bad magic)');
  const length = buffer.readUInt32BE(8);
  if (length !== buffer.length - headerBytes) throw corrupt(`body is ${buffer.length - headerBytes} bytes, header says ${length}`);
  const body = buffer.subarray(headerBytes);
  if (crc32c(body) !== buffer.readUInt32BE(12)) throw corrupt('checksum mismatch');
  let decoded: unknown;
  try {
    decoded = unpackr.unpack(body);
  } catch (error) {
    throw corrupt(`undecodable body: ${(error as Error).message}`);
  }
  if (!Array.isArray(decoded) || decoded.length !== 3) throw corrupt('body must be [slot, appliedDigest, state]');
  const [slot, appliedDigest, state] = decoded as unknown[];
  if (!Number.isSafeInteger(slot) || (slot as number) < 1) throw corrupt(`invalid slot ${String(slot)}`);
  if (typeof appliedDigest !== 'string' || appliedDigest.length > 128) throw corrupt('invalid applied digest');
  if (!(state instanceof Uint8Array)) throw corrupt('state must be bytes');
  return { slot: slot as number, appliedDigest, state };
}

