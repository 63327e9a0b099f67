// The on-disk record format of the write-ahead log, and a pure scanner that
// tells a torn tail (a crash mid-write: expected, truncated) from corruption
// (a damaged acknowledged record: fatal, reported with file and offset).
//
// One record:
//   0..3  payload length, uint32 big-endian (the type byte is not counted)
//   4..7  CRC-32C (Castagnoli) of the type byte and the payload, uint32 big-endian
//   8     type: 1 promise, 2 accept, 3 chosen, 5 rebuild (old logs only; ignored), 6 membership, 7 bootstrap_view,
//         8 chosen_accepted (4 is reserved for a snapshot marker)
//   9..   msgpack payload (msgpackr, useRecords: false), a compact array per type:
//           promise [round, node]
//           accept  [slot, round, node, commands]
//           chosen  [slot, commands]
//           rebuild [done: 0 | 1]
//           membership [state]   (the MembershipState of src/node/core/membership.ts)
//           bootstrap_view [[[id, incarnation]...]]   (7: what a fresh node heard before founding)
//           chosen_accepted [slot, round, node]   (8: slot is chosen with the value of this segment's
//                                                   last accept record for slot, which is at that ballot)
//         where commands is an array of [client, seq, op].
//
// A chosen record usually repeats a value the same log accepted a moment
// before, the bulk of its bytes: chosen_accepted names that accept instead
// (AcceptsInLog decides when it may), always one earlier in the same segment,
// so every segment reads alone. It reads back as an ordinary chosen record;
// one whose accept is not earlier in its segment is corruption.
import { crc32c } from '@node-rs/crc32';
import { Packr, Unpackr } from 'msgpackr';
import type { Ballot, Command, Slot, Value, WalRecord, WalRecordType } from '../core/messages.js';
import { parseMembershipState } from '../core/membership.js';

export const recordHeaderBytes = 9;

/**
 * The largest payload a record may carry. Four times the default wire frame
 * limit (16 MiB), so every value the wire accepts fits; a length field above it
 * is damage, not data. The runtime should check frameBytesMax against it at start.
 */
export const recordPayloadBytesMax = 64 * 1024 * 1024;

/** On-disk type codes. Never renumber: old logs must stay readable. */
export const recordTypeCodes: Readonly<Record<WalRecordType, number>> = Object.freeze({
  promise: 1,
  accept: 2,
  chosen: 3,
  rebuild: 5,
  membership: 6,
  bootstrap_view: 7,
});

/** Reserved for the snapshot marker that log compaction will add. */
export const snapshotMarkerTypeCode = 4;

/** A chosen record that names the accept record holding its value (see the top of this file). */
export const chosenAcceptedTypeCode = 8;

/** The highest type code a well-formed log can contain (used to resynchronise). */
const typeCodeMax = chosenAcceptedTypeCode;

/**
 * How many bytes of checksums the scanner may compute while looking for valid
 * records behind a damaged one (about 80 ms at 3.5 GB/s). Beyond it the damage
 * is reported as corruption: refusing to start is the safe direction.
 */
const resyncChecksumBytesMax = 256 * 1024 * 1024;

/** How much of a bad field value an error message quotes. */
const quotedValueCharsMax = 40;

const packr = new Packr({ useRecords: false });
// copyBuffers: a decoded binary value must not be a view into the segment it was
// read from, or one small record would keep a whole segment (up to 64 MiB) alive.
const unpackr = new Unpackr({ useRecords: false, copyBuffers: true });

export interface ScannedRecord {
  /** Byte offset of the record's header in its segment file. */
  offset: number;
  record: WalRecord;
}

/** The end of the file holds a record that a crash cut short (or never wrote). */
export interface TornTail {
  file: string;
  offset: number;
  /** Bytes from `offset` to the end of the file: what truncation removes. */
  bytes: number;
  why: string;
}

export interface Corruption {
  file: string;
  offset: number;
  why: string;
}

export interface SegmentScan {
  /** Every valid record before the first problem, in file order. */
  records: ScannedRecord[];
  torn: TornTail | null;
  corrupt: Corruption | null;
}

/**
 * Encodes one record. The record is validated with the same rules the scanner
 * applies on reading, so the log never holds what it cannot read back.
 * `verify` also decodes the produced bytes and compares them with the record:
 * the WAL does it for one record per append call, which bounds its cost by the
 * fsync rate rather than the record rate.
 */
export function encodeRecord(record: WalRecord, options: { verify?: boolean; acceptedAt?: Ballot | null } = {}): Buffer {
  const acceptedAt = record.type === 'chosen' ? (options.acceptedAt ?? null) : null;
  const typeCode = acceptedAt === null ? recordTypeCodes[record.type] : chosenAcceptedTypeCode;
  if (typeCode === undefined) throw new Error(`refusing to write a WAL record of unknown type ${quote(record.type)}`);
  const payload = acceptedAt === null ? payloadOf(record) : [(record as ChosenRecordShape).slot, acceptedAt.round, acceptedAt.node];
  const parsed = acceptedAt === null ? recordFromPayload(typeCode, payload) : chosenAcceptedFromPayload(payload);
  if (typeof parsed === 'string') throw new Error(`refusing to write an invalid WAL record: ${parsed}`);
  const packed = packr.pack(payload);
  if (packed.length > recordPayloadBytesMax) {
    throw new RangeError(`WAL record payload of ${packed.length} bytes exceeds recordPayloadBytesMax (${recordPayloadBytesMax})`);
  }
  const bytes = Buffer.allocUnsafe(recordHeaderBytes + packed.length);
  bytes.writeUInt32BE(packed.length, 0);
  bytes[8] = typeCode;
  packed.copy(bytes, recordHeaderBytes);
  bytes.writeUInt32BE(crc32c(bytes.subarray(8)), 4);
  if (options.verify === true) verifyEncodedRecord(bytes, record, acceptedAt);
  return bytes;
}

type ChosenRecordShape = Extract<WalRecord, { type: 'chosen' }>;

/** Throws when `bytes` do not read back as exactly one record equal in structure to `record` (or, for chosen_accepted, naming its ballot). */
export function verifyEncodedRecord(bytes: Buffer, record: WalRecord, acceptedAt: Ballot | null = null): void {
  const frame = readFrame(bytes, 0);
  if (frame.kind === 'damaged') throw new Error(`encoded WAL record does not read back: ${frame.why}`);
  if (frame.end !== bytes.length) throw new Error('encoded WAL record has trailing bytes');
  const decoded = decodeFrame(frame.typeCode, frame.payload);
  if (typeof decoded === 'string') throw new Error(`encoded WAL record does not decode: ${decoded}`);
  if (decoded.type === 'chosen_accepted') {
    const same = record.type === 'chosen' && acceptedAt !== null && decoded.slot === record.slot && sameBallot(decoded.ballot, acceptedAt);
    if (!same) throw new Error('encoded WAL record reads back differently: a chosen_accepted record for another slot or ballot');
    return;
  }
  const difference = structuralDifference(decoded, record);
  if (difference !== null) throw new Error(`encoded WAL record reads back differently: ${difference}`);
}

/**
 * Reads every record of one segment file. Pure: `fileName` only labels the
 * problems it reports. A torn tail is reported only when no valid record starts
 * anywhere after it; whether a torn tail is acceptable (last segment only) is
 * for the caller to decide.
 */
export function scanSegment(bytes: Buffer, fileName: string, accepts: AcceptsInLog = new AcceptsInLog()): SegmentScan {
  const records: ScannedRecord[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const frame = readFrame(bytes, offset);
    if (frame.kind === 'damaged') return classifyDamage(bytes, fileName, records, offset, frame);
    const decoded = decodeFrame(frame.typeCode, frame.payload);
    // The checksum matched, so these are the bytes that were written: a record
    // we cannot decode (or whose accept is missing) is never a torn write.
    const record = typeof decoded === 'string' ? decoded : accepts.resolve(decoded);
    if (typeof record === 'string') return { records, torn: null, corrupt: { file: fileName, offset, why: record } };
    accepts.noteRead(record);
    records.push({ offset, record });
    offset = frame.end;
  }
  return { records, torn: null, corrupt: null };
}

/** A chosen_accepted record as decoded, before AcceptsInLog finds its value. */
interface ChosenAccepted {
  type: 'chosen_accepted';
  slot: Slot;
  ballot: Ballot;
}

/**
 * The last accept record of each slot in one segment, in order, so that a
 * chosen record can name its accept (chosen_accepted) instead of repeating the
 * value. The writer (the WAL) asks `referenceFor` before encoding a chosen
 * record and tells `noteWritten` every record it encodes; a reader
 * (`scanSegment`, a fresh instance per segment) resolves with what it read
 * before. A reference is made only to the very value object of the slot's last
 * accept written since `clear`, which the WAL calls wherever a segment begins,
 * so it resolves within the segment, and deleting older segments never
 * strands one.
 */
export class AcceptsInLog {
  private readonly last = new Map<Slot, { ballot: Ballot; value: Value }>();

  /** `slotsMax`: the most slots remembered (writer side; beyond it all are forgotten, and chosen records carry their values). */
  constructor(private readonly slotsMax = Number.POSITIVE_INFINITY) {}

  /** The ballot of the accept a chosen record may name, or null to write the value. */
  referenceFor(record: WalRecord): Ballot | null {
    if (record.type !== 'chosen') return null;
    const last = this.last.get(record.slot);
    return last !== undefined && last.value === record.value ? last.ballot : null;
  }

  noteWritten(record: WalRecord): void {
    if (record.type === 'accept') {
      if (this.last.size >= this.slotsMax) this.last.clear();
      this.last.set(record.slot, { ballot: record.ballot, value: record.value });
    } else if (record.type === 'chosen') this.last.delete(record.slot); // a chosen slot is not named again
  }

  noteRead(record: WalRecord): void {
    if (record.type === 'accept') this.last.set(record.slot, { ballot: record.ballot, value: record.value });
  }

  clear(): void {
    this.last.clear();
  }

  resolve(decoded: WalRecord | ChosenAccepted): WalRecord | string {
    if (decoded.type !== 'chosen_accepted') return decoded;
    const last = this.last.get(decoded.slot);
    if (last === undefined || !sameBallot(last.ballot, decoded.ballot)) {
      const ballot = `(${decoded.ballot.round},${decoded.ballot.node})`;
      return `chosen_accepted record for slot ${decoded.slot} names an accept at ballot ${ballot} that is not the last accept of that slot earlier in this segment`;
    }
    return { type: 'chosen', slot: decoded.slot, value: last.value };
  }
}

function sameBallot(a: Ballot, b: Ballot): boolean {
  return a.round === b.round && a.node === b.node;
}

type Frame =
  | { kind: 'valid'; end: number; typeCode: number; payload: Buffer }
  | { kind: 'damaged'; why: string; mayBeTorn: boolean };

/** Checks the header and checksum of the record at `offset`, without decoding it. */
function readFrame(bytes: Buffer, offset: number): Frame {
  const available = bytes.length - offset;
  if (available < recordHeaderBytes) {
    return { kind: 'damaged', why: `incomplete header (${available} of ${recordHeaderBytes} bytes)`, mayBeTorn: true };
  }
  const length = bytes.readUInt32BE(offset);
  const end = offset + recordHeaderBytes + length;
  if (end > bytes.length) {
    const why = `record of ${length} payload bytes runs ${end - bytes.length} bytes past the end of the file`;
    return { kind: 'damaged', why, mayBeTorn: true };
  }
  if (length > recordPayloadBytesMax) {
    return { kind: 'damaged', why: `payload length ${length} exceeds recordPayloadBytesMax`, mayBeTorn: false };
  }
  const stored = bytes.readUInt32BE(offset + 4);
  const computed = crc32c(bytes.subarray(offset + 8, end));
  if (stored !== computed) {
    const why = `checksum mismatch (stored ${hex(stored)}, computed ${hex(computed)})`;
    // A record whose checksum fails is torn only if nothing but zeros follows it.
    return { kind: 'damaged', why, mayBeTorn: isAllZero(bytes, end, bytes.length) };
  }
  return { kind: 'valid', end, typeCode: bytes[offset + 8], payload: bytes.subarray(offset + recordHeaderBytes, end) };
}

function classifyDamage(
  bytes: Buffer,
  file: string,
  records: ScannedRecord[],
  offset: number,
  frame: { why: string; mayBeTorn: boolean },
): SegmentScan {
  const zeroTail = isAllZero(bytes, offset, bytes.length);
  const why = zeroTail ? `zero-filled tail of ${bytes.length - offset} bytes` : frame.why;
  if (!zeroTail && !frame.mayBeTorn) return { records, torn: null, corrupt: { file, offset, why } };
  // Looks torn. But if a valid record follows, this was a damaged acknowledged
  // record (e.g. a flipped bit in a length field), and truncating would lose data.
  const follower = validFrameAfter(bytes, offset);
  if (follower === null) return { records, torn: { file, offset, bytes: bytes.length - offset, why }, corrupt: null };
  const after =
    follower === 'unknown'
      ? 'and the bytes after it are too many to rule out valid records there'
      : `but a valid record follows at offset ${follower}, so this is not a torn tail`;
  return { records, torn: null, corrupt: { file, offset, why: `${why}, ${after}` } };
}

/** The offset of the first well-formed frame after `offset`, null if none, 'unknown' if the search was cut short. */
function validFrameAfter(bytes: Buffer, offset: number): number | null | 'unknown' {
  let checksumBytes = 0;
  for (let start = offset + 1; start + recordHeaderBytes < bytes.length; start += 1) {
    const typeCode = bytes[start + 8];
    if (typeCode < 1 || typeCode > typeCodeMax) continue;
    const length = bytes.readUInt32BE(start);
    const end = start + recordHeaderBytes + length;
    if (length < 1 || length > recordPayloadBytesMax || end > bytes.length) continue;
    checksumBytes += length + 1;
    if (checksumBytes > resyncChecksumBytesMax) return 'unknown';
    if (crc32c(bytes.subarray(start + 8, end)) === bytes.readUInt32BE(start + 4)) return start;
  }
  return null;
}

function isAllZero(bytes: Buffer, from: number, to: number): boolean {
  for (let index = from; index < to; index += 1) {
    if (bytes[index] !== 0) return false;
  }
  return true;
}

/** Decodes and validates a payload whose checksum matched. Returns the reason on failure. */
function decodeFrame(typeCode: number, payload: Buffer): WalRecord | ChosenAccepted | string {
  if (typeCode === snapshotMarkerTypeCode) return 'snapshot marker (type 4) is not supported by this version of paxos';
  if (!isRecordTypeCode(typeCode)) return `unknown record type ${typeCode}`;
  let value: unknown;
  try {
    value = unpackr.unpack(payload);
  } catch (error) {
    // msgpackr throws plain Errors on malformed input and RangeError on deep nesting.
    return `payload does not decode as msgpack: ${error instanceof Error ? error.message : String(error)}`;
  }
  return typeCode === chosenAcceptedTypeCode ? chosenAcceptedFromPayload(value) : recordFromPayload(typeCode, value);
}

function isRecordTypeCode(typeCode: number): boolean {
  return (
    typeCode === recordTypeCodes.promise ||
    typeCode === recordTypeCodes.accept ||
    typeCode === recordTypeCodes.chosen ||
    typeCode === recordTypeCodes.rebuild ||
    typeCode === recordTypeCodes.membership ||
    typeCode === recordTypeCodes.bootstrap_view ||
    typeCode === chosenAcceptedTypeCode
  );
}

function payloadOf(record: WalRecord): unknown[] {
  switch (record.type) {
    case 'promise':
      return [record.ballot.round, record.ballot.node];
    case 'accept':
      return [record.slot, record.ballot.round, record.ballot.node, commandsPayload(record.value)];
    case 'chosen':
      return [record.slot, commandsPayload(record.value)];
    case 'rebuild':
      return [record.done ? 1 : 0];
    case 'membership':
      return [record.state];
    case 'bootstrap_view':
      return [record.view.map((entry) => [entry.id, entry.incarnation])];
  }
}

function commandsPayload(value: Value): unknown {
  // Checked here rather than trusted: the caller's types are not proof.
  if (typeof value !== 'object' || value === null || !Array.isArray(value.commands)) return value;
  return value.commands.map((command: Command) => [command.client, command.seq, command.op]);
}

/** Validates a decoded payload's shape and ranges and builds the record. Never trust the disk. */
function recordFromPayload(typeCode: number, value: unknown): WalRecord | string {
  if (typeCode === recordTypeCodes.promise) return promiseFromPayload(value);
  if (typeCode === recordTypeCodes.accept) return acceptFromPayload(value);
  if (typeCode === recordTypeCodes.rebuild) return rebuildFromPayload(value);
  if (typeCode === recordTypeCodes.membership) return membershipFromPayload(value);
  if (typeCode === recordTypeCodes.bootstrap_view) return bootstrapViewFromPayload(value);
  return chosenFromPayload(value);
}

function rebuildFromPayload(value: unknown): WalRecord | string {
  if (!isArrayOfLength(value, 1) || (value[0] !== 0 && value[0] !== 1)) return 'invalid rebuild record: payload must be [0] or [1]';
  return { type: 'rebuild', done: value[0] === 1 };
}

function membershipFromPayload(value: unknown): WalRecord | string {
  if (!isArrayOfLength(value, 1)) return 'invalid membership record: payload must be [state]';
  const state = parseMembershipState(value[0]);
  if (state === null) return 'invalid membership record: not a well-formed membership state';
  return { type: 'membership', state };
}

function bootstrapViewFromPayload(value: unknown): WalRecord | string {
  if (!isArrayOfLength(value, 1) || !Array.isArray(value[0]) || value[0].length > 1024) return 'invalid bootstrap_view record: payload must be [[[id, incarnation]...]]';
  const view: { id: number; incarnation: string }[] = [];
  for (const entry of value[0] as unknown[]) {
    if (!isArrayOfLength(entry, 2) || !isIntegerAtLeast(entry[0], 1) || typeof entry[1] !== 'string' || entry[1].length === 0 || entry[1].length > 64) {
      return 'invalid bootstrap_view record: an entry must be [id, incarnation]';
    }
    view.push({ id: entry[0], incarnation: entry[1] });
  }
  return { type: 'bootstrap_view', view };
}

function promiseFromPayload(value: unknown): WalRecord | string {
  if (!isArrayOfLength(value, 2)) return 'invalid promise record: payload must be [round, node]';
  const ballot = ballotFrom(value[0], value[1]);
  if (typeof ballot === 'string') return `invalid promise record: ${ballot}`;
  return { type: 'promise', ballot };
}

function acceptFromPayload(value: unknown): WalRecord | string {
  if (!isArrayOfLength(value, 4)) return 'invalid accept record: payload must be [slot, round, node, commands]';
  const slot = slotFrom(value[0]);
  if (typeof slot === 'string') return `invalid accept record: ${slot}`;
  const ballot = ballotFrom(value[1], value[2]);
  if (typeof ballot === 'string') return `invalid accept record: ${ballot}`;
  const commands = valueFrom(value[3]);
  if (typeof commands === 'string') return `invalid accept record: ${commands}`;
  return { type: 'accept', slot, ballot, value: commands };
}

function chosenFromPayload(value: unknown): WalRecord | string {
  if (!isArrayOfLength(value, 2)) return 'invalid chosen record: payload must be [slot, commands]';
  const slot = slotFrom(value[0]);
  if (typeof slot === 'string') return `invalid chosen record: ${slot}`;
  const commands = valueFrom(value[1]);
  if (typeof commands === 'string') return `invalid chosen record: ${commands}`;
  return { type: 'chosen', slot, value: commands };
}

function chosenAcceptedFromPayload(value: unknown): ChosenAccepted | string {
  if (!isArrayOfLength(value, 3)) return 'invalid chosen_accepted record: payload must be [slot, round, node]';
  const slot = slotFrom(value[0]);
  if (typeof slot === 'string') return `invalid chosen_accepted record: ${slot}`;
  const ballot = ballotFrom(value[1], value[2]);
  if (typeof ballot === 'string') return `invalid chosen_accepted record: ${ballot}`;
  return { type: 'chosen_accepted', slot, ballot };
}

function ballotFrom(round: unknown, node: unknown): Ballot | string {
  if (!isIntegerAtLeast(round, 0)) return `ballot round must be an integer >= 0, got ${quote(round)}`;
  // Node ids are positive; only ballotZero has node 0, and it is never persisted.
  if (!isIntegerAtLeast(node, 1)) return `ballot node must be an integer >= 1, got ${quote(node)}`;
  return { round, node };
}

function slotFrom(slot: unknown): number | string {
  return isIntegerAtLeast(slot, 1) ? slot : `slot must be an integer >= 1, got ${quote(slot)}`;
}

function valueFrom(commands: unknown): Value | string {
  if (!Array.isArray(commands)) return `commands must be an array, got ${quote(commands)}`;
  const parsed: Command[] = [];
  for (let index = 0; index < commands.length; index += 1) {
    const command = commandFrom(commands[index]);
    if (typeof command === 'string') return `command ${index}: ${command}`;
    parsed.push(command);
  }
  return { commands: parsed };
}

function commandFrom(command: unknown): Command | string {
  if (!isArrayOfLength(command, 3)) return 'must be [client, seq, op]';
  const [client, seq, op] = command;
  if (typeof client !== 'string') return `client must be a string, got ${quote(client)}`;
  if (!isIntegerAtLeast(seq, 0)) return `seq must be an integer >= 0, got ${quote(seq)}`;
  return { client, seq, op };
}

function isArrayOfLength(value: unknown, length: number): value is unknown[] {
  return Array.isArray(value) && value.length === length;
}

function isIntegerAtLeast(value: unknown, minimum: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= minimum;
}

/** Compares what the WAL owns (types, slots, ballots, command ids); `op` is the state machine's opaque data. */
function structuralDifference(actual: WalRecord, expected: WalRecord): string | null {
  if (actual.type !== expected.type) return `type ${actual.type} != ${expected.type}`;
  if ('slot' in actual && 'slot' in expected && actual.slot !== expected.slot) return `slot ${actual.slot} != ${expected.slot}`;
  if ('ballot' in actual && 'ballot' in expected) {
    if (actual.ballot.round !== expected.ballot.round || actual.ballot.node !== expected.ballot.node) return 'ballot differs';
  }
  if ('value' in actual && 'value' in expected) return commandsDifference(actual.value.commands, expected.value.commands);
  return null;
}

function commandsDifference(actual: Command[], expected: Command[]): string | null {
  if (actual.length !== expected.length) return `${actual.length} commands != ${expected.length}`;
  for (let index = 0; index < actual.length; index += 1) {
    if (actual[index].client !== expected[index].client || actual[index].seq !== expected[index].seq) {
      return `command ${index} differs`;
    }
  }
  return null;
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

function quote(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    text = typeof value;
  }
  return text.length > quotedValueCharsMax ? `${text.slice(0, quotedValueCharsMax)}...` : text;
}
