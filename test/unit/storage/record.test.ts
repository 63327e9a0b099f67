import { crc32c } from '@node-rs/crc32';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { WalRecord } from '../../../src/node/core/messages.js';
import { AcceptsInLog, chosenAcceptedTypeCode, encodeRecord, recordHeaderBytes, scanSegment, verifyEncodedRecord } from '../../../src/node/storage/record.js';
import { acceptRecord, normalise, sampleRecords } from './helpers.js';

const packr = new Packr({ useRecords: false });

/** Builds a frame by hand, with a correct checksum, for payloads encodeRecord would refuse. */
function frame(typeCode: number, payload: unknown): Buffer {
  const packed = packr.pack(payload);
  const bytes = Buffer.alloc(recordHeaderBytes + packed.length);
  bytes.writeUInt32BE(packed.length, 0);
  bytes[8] = typeCode;
  packed.copy(bytes, recordHeaderBytes);
  bytes.writeUInt32BE(crc32c(bytes.subarray(8)), 4);
  return bytes;
}

function encodeAll(records: WalRecord[]): Buffer {
  return Buffer.concat(records.map((record) => encodeRecord(record)));
}

describe('record format', () => {
  it('lays out length, CRC-32C over type and payload, type byte, msgpack payload', () => {
    const bytes = encodeRecord({ type: 'promise', ballot: { round: 3, node: 2 } });
    expect(bytes.readUInt32BE(0)).toBe(bytes.length - recordHeaderBytes);
    expect(bytes[8]).toBe(1);
    expect(bytes.readUInt32BE(4)).toBe(crc32c(bytes.subarray(8)));
    // A ballot is stored as [round, node]: a fixarray of two fixints.
    expect([...bytes.subarray(recordHeaderBytes)]).toEqual([0x92, 3, 2]);
  });

  it('round-trips every record type', () => {
    const records = sampleRecords();
    const scan = scanSegment(encodeAll(records), 'test.wal');
    expect(scan.torn).toBeNull();
    expect(scan.corrupt).toBeNull();
    expect(normalise(scan.records.map((scanned) => scanned.record))).toEqual(normalise(records));
  });

  it('reports the byte offset of every record', () => {
    const records = sampleRecords();
    const encoded = records.map((record) => encodeRecord(record));
    const scan = scanSegment(Buffer.concat(encoded), 'test.wal');
    let offset = 0;
    scan.records.forEach((scanned, index) => {
      expect(scanned.offset).toBe(offset);
      offset += encoded[index].length;
    });
  });

  it('verifies the bytes it produced when asked', () => {
    const record = acceptRecord(5);
    const bytes = encodeRecord(record, { verify: true });
    expect(() => verifyEncodedRecord(bytes, record)).not.toThrow();
    expect(() => verifyEncodedRecord(bytes, acceptRecord(6))).toThrow(/reads back differently/);
    const damaged = Buffer.from(bytes);
    damaged[damaged.length - 1] ^= 0x01;
    expect(() => verifyEncodedRecord(damaged, record)).toThrow(/does not read back/);
  });

  it.each<[string, WalRecord]>([
    ['slot 0', { type: 'chosen', slot: 0, value: { commands: [] } }],
    ['fractional slot', { type: 'chosen', slot: 1.5, value: { commands: [] } }],
    ['negative round', { type: 'promise', ballot: { round: -1, node: 1 } }],
    ['node 0', { type: 'promise', ballot: { round: 1, node: 0 } }],
    ['unsafe integer', { type: 'promise', ballot: { round: 2 ** 53, node: 1 } }],
    ['missing commands', { type: 'chosen', slot: 1, value: {} as never }],
    ['numeric client', { type: 'chosen', slot: 1, value: { commands: [{ client: 7 as never, seq: 1, op: null }] } }],
    ['negative seq', { type: 'chosen', slot: 1, value: { commands: [{ client: 'c', seq: -1, op: null }] } }],
    ['unknown type', { type: 'snapshot' } as never],
  ])('refuses to write an invalid record: %s', (_name, record) => {
    expect(() => encodeRecord(record)).toThrow(/refusing to write/);
  });
});

describe('scanSegment: torn tails', () => {
  const records = [acceptRecord(1), acceptRecord(2)];

  it('reads an empty file as no records', () => {
    expect(scanSegment(Buffer.alloc(0), 'x.wal')).toEqual({ records: [], torn: null, corrupt: null });
  });

  it('treats a cut header as torn', () => {
    const whole = encodeAll(records);
    const cut = whole.subarray(0, encodeRecord(records[0]).length + 4);
    const scan = scanSegment(cut, 'x.wal');
    expect(scan.records).toHaveLength(1);
    expect(scan.torn).toMatchObject({ file: 'x.wal', offset: encodeRecord(records[0]).length, bytes: 4 });
    expect(scan.torn?.why).toMatch(/incomplete header/);
  });

  it('treats a payload running past the end of the file as torn', () => {
    const whole = encodeAll(records);
    const scan = scanSegment(whole.subarray(0, whole.length - 1), 'x.wal');
    expect(scan.records).toHaveLength(1);
    expect(scan.torn?.why).toMatch(/past the end of the file/);
  });

  it('treats a checksum failure on the final record as torn', () => {
    const whole = encodeAll(records);
    whole[whole.length - 1] ^= 0x40;
    const scan = scanSegment(whole, 'x.wal');
    expect(scan.torn?.why).toMatch(/checksum mismatch/);
    expect(scan.corrupt).toBeNull();
  });

  it('treats a zero-filled tail as torn', () => {
    const whole = Buffer.concat([encodeAll(records), Buffer.alloc(4096)]);
    const scan = scanSegment(whole, 'x.wal');
    expect(scan.records).toHaveLength(2);
    expect(scan.torn).toMatchObject({ bytes: 4096 });
    expect(scan.torn?.why).toMatch(/zero-filled/);
  });

  it('treats a half-written record followed by zeros as torn', () => {
    const whole = encodeAll(records);
    const second = encodeRecord(records[0]).length;
    whole.fill(0, second + recordHeaderBytes + 2);
    const scan = scanSegment(Buffer.concat([whole, Buffer.alloc(100)]), 'x.wal');
    expect(scan.records).toHaveLength(1);
    expect(scan.torn?.offset).toBe(second);
  });
});

describe('scanSegment: corruption', () => {
  const records = [acceptRecord(1), acceptRecord(2), acceptRecord(3)];

  it('reports a checksum failure followed by more records as corruption, with the offset', () => {
    const whole = encodeAll(records);
    const second = encodeRecord(records[0]).length;
    whole[second + recordHeaderBytes + 3] ^= 0x01;
    const scan = scanSegment(whole, 'x.wal');
    expect(scan.torn).toBeNull();
    expect(scan.corrupt).toMatchObject({ file: 'x.wal', offset: second });
    expect(scan.records).toHaveLength(1);
  });

  it('does not mistake an inflated length field for a torn tail when valid records follow', () => {
    const whole = encodeAll(records);
    whole[0] = 0x7f;
    const scan = scanSegment(whole, 'x.wal');
    expect(scan.torn).toBeNull();
    expect(scan.corrupt?.offset).toBe(0);
    expect(scan.corrupt?.why).toMatch(/valid record follows/);
  });

  it('reports garbage after a damaged record as corruption', () => {
    const whole = encodeAll(records.slice(0, 1));
    whole[recordHeaderBytes] ^= 0x01;
    const scan = scanSegment(Buffer.concat([whole, Buffer.from('not zeros')]), 'x.wal');
    expect(scan.corrupt?.offset).toBe(0);
  });

  it.each<[string, Buffer, RegExp]>([
    ['unknown type', frame(9, [1, 1]), /unknown record type 9/],
    ['snapshot marker', frame(4, [1]), /snapshot marker/],
    ['undecodable payload', (() => {
      const bytes = Buffer.from([0, 0, 0, 1, 0, 0, 0, 0, 1, 0xc1]);
      bytes.writeUInt32BE(crc32c(bytes.subarray(8)), 4);
      return bytes;
    })(), /invalid promise record|does not decode/],
    ['trailing bytes in the payload', (() => {
      const packed = Buffer.concat([packr.pack([1, 1]), Buffer.from([0x01])]);
      const bytes = Buffer.concat([Buffer.alloc(recordHeaderBytes), packed]);
      bytes.writeUInt32BE(packed.length, 0);
      bytes[8] = 1;
      bytes.writeUInt32BE(crc32c(bytes.subarray(8)), 4);
      return bytes;
    })(), /does not decode/],
    ['wrong shape', frame(1, { round: 1, node: 1 }), /payload must be \[round, node\]/],
    ['slot 0', frame(3, [0, []]), /slot must be an integer >= 1/],
    ['negative round', frame(2, [1, -1, 1, []]), /round must be an integer >= 0/],
    ['node 0', frame(2, [1, 1, 0, []]), /node must be an integer >= 1/],
    ['command of the wrong shape', frame(3, [1, [['c', 1]]]), /command 0: must be \[client, seq, op\]/],
    ['string seq', frame(3, [1, [['c', '1', null]]]), /seq must be an integer/],
  ])('reports a well-checksummed but invalid record as corruption: %s', (_name, bad, why) => {
    // Valid records after it, so nothing about it can look torn.
    const bytes = Buffer.concat([encodeRecord(records[0]), bad, encodeRecord(records[1])]);
    const scan = scanSegment(bytes, 'x.wal');
    expect(scan.torn).toBeNull();
    expect(scan.corrupt?.offset).toBe(encodeRecord(records[0]).length);
    expect(scan.corrupt?.why).toMatch(why);
  });

  it('never calls a well-checksummed invalid final record torn', () => {
    const scan = scanSegment(frame(3, [0, []]), 'x.wal');
    expect(scan.torn).toBeNull();
    expect(scan.corrupt?.offset).toBe(0);
  });
});

describe('chosen_accepted: a chosen record that names its accept', () => {
  const accept = acceptRecord(7) as Extract<WalRecord, { type: 'accept' }>;
  const chosen: WalRecord = { type: 'chosen', slot: 7, value: accept.value };

  it('is small, and reads back as the chosen record with the accept\'s value', () => {
    const byReference = encodeRecord(chosen, { verify: true, acceptedAt: accept.ballot });
    expect(byReference[8]).toBe(chosenAcceptedTypeCode);
    expect(byReference.length).toBeLessThan(encodeRecord(chosen).length);
    const scan = scanSegment(Buffer.concat([encodeRecord(accept), byReference]), 'x.wal');
    expect(scan.corrupt).toBeNull();
    expect(scan.torn).toBeNull();
    expect(normalise(scan.records.map((scanned) => scanned.record))).toEqual(normalise([accept, chosen]));
  });

  it('is corruption, never a torn tail, when no accept of that slot comes before it, even as the last record', () => {
    const byReference = encodeRecord(chosen, { acceptedAt: accept.ballot });
    for (const bytes of [byReference, Buffer.concat([encodeRecord(acceptRecord(8)), byReference])]) {
      const scan = scanSegment(bytes, 'x.wal');
      expect(scan.torn).toBeNull();
      expect(scan.corrupt?.offset).toBe(bytes.length - byReference.length);
      expect(scan.corrupt?.why).toMatch(/chosen_accepted record for slot 7 names an accept at ballot \(1,1\)/);
    }
  });

  it('is corruption when the slot\'s last accept earlier in the log is at another ballot', () => {
    const later: WalRecord = { ...accept, ballot: { round: 2, node: 3 } };
    const bytes = Buffer.concat([encodeRecord(accept), encodeRecord(later), encodeRecord(chosen, { acceptedAt: accept.ballot })]);
    const scan = scanSegment(bytes, 'x.wal');
    expect(scan.records).toHaveLength(2);
    expect(scan.corrupt?.why).toMatch(/not the last accept of that slot/);
  });

  it('never resolves in another segment: each segment is scanned alone', () => {
    expect(scanSegment(encodeRecord(accept), 'a.wal').corrupt).toBeNull();
    const second = scanSegment(encodeRecord(chosen, { acceptedAt: accept.ballot }), 'b.wal');
    expect(second.corrupt?.why).toMatch(/earlier in this segment/);
  });

  it('verify refuses bytes that name another slot or ballot', () => {
    const other = encodeRecord({ type: 'chosen', slot: 8, value: accept.value }, { acceptedAt: accept.ballot });
    expect(() => verifyEncodedRecord(other, chosen, accept.ballot)).toThrow(/another slot or ballot/);
    const byReference = encodeRecord(chosen, { acceptedAt: accept.ballot });
    expect(() => verifyEncodedRecord(byReference, chosen, { round: 9, node: 9 })).toThrow(/another slot or ballot/);
    expect(() => verifyEncodedRecord(byReference, chosen, accept.ballot)).not.toThrow();
  });

  it('refuses a malformed payload with a clear reason', () => {
    const scan = scanSegment(frame(chosenAcceptedTypeCode, [7, 1]), 'x.wal');
    expect(scan.corrupt?.why).toMatch(/invalid chosen_accepted record: payload must be \[slot, round, node\]/);
  });

  it('writer side: names only the same value object as the slot\'s last accept, and never after the slot was chosen or cleared', () => {
    const writer = new AcceptsInLog(2);
    writer.noteWritten(accept);
    expect(writer.referenceFor({ type: 'chosen', slot: 7, value: { commands: [...accept.value.commands] } })).toBeNull();
    expect(writer.referenceFor(chosen)).toEqual(accept.ballot);
    writer.noteWritten(chosen);
    expect(writer.referenceFor(chosen)).toBeNull();
    writer.noteWritten(accept);
    writer.clear();
    expect(writer.referenceFor(chosen)).toBeNull();
    // At the cap it forgets everything rather than some.
    writer.noteWritten(accept);
    writer.noteWritten(acceptRecord(8));
    writer.noteWritten(acceptRecord(9));
    expect(writer.referenceFor(chosen)).toBeNull();
  });
});
