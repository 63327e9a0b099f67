// The snapshot file format, as bytes: pure encode and decode, shared by the
// files in `<data-dir>/snapshots/`, transfers between nodes and the simulation.
//
// One file:
//   0..7   magic "PXSNAP01"
//   8..11  body length, uint32 big-endian
//   12..15 CRC-32C of the body, uint32 big-endian
//   16..   body: msgpack [slot, appliedDigest, state, membership]
//          (membership: the MembershipState as of slot; absent from snapshots of older versions)
import { crc32c } from '@node-rs/crc32';
import { Packr, Unpackr } from 'msgpackr';
import type { Slot } from '../core/messages.js';
import { parseMembershipState, type MembershipState } from '../core/membership.js';
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
  /** The cluster's membership as of `slot` (config(t) for t > slot follows from it); null in snapshots of older versions. */
  membership: MembershipState | null;
}

export function encodeSnapshot(snapshot: Snapshot): Buffer {
  const body = packr.pack([snapshot.slot, snapshot.appliedDigest, snapshot.state, snapshot.membership]);
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
  if (!Array.isArray(decoded) || (decoded.length !== 3 && decoded.length !== 4)) throw corrupt('body must be [slot, appliedDigest, state, membership]');
  const [slot, appliedDigest, state, rawMembership] = decoded as unknown[];
  if (!Number.isSafeInteger(slot) || (slot as number) < 1) throw corrupt(`invalid slot ${String(slot)}`);
  if (typeof appliedDigest !== 'string' || appliedDigest.length > 128) throw corrupt('invalid applied digest');
  if (!(state instanceof Uint8Array)) throw corrupt('state must be bytes');
  const membership = rawMembership === undefined || rawMembership === null ? null : parseMembershipState(rawMembership);
  if (rawMembership !== undefined && rawMembership !== null && membership === null) throw corrupt('invalid membership');
  if (membership !== null && membership.throughSlot !== slot) throw corrupt(`membership is as of slot ${membership.throughSlot}, not the snapshot's ${String(slot)}`);
  return { slot: slot as number, appliedDigest, state, membership };
}

