// The backup file (src/ops/backup-file.ts) and the serving side's hold (src/node/driver/backup.ts).
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackupHold, backupsHeldMax } from '../../../src/node/driver/backup.js';
import { encodeSnapshot } from '../../../src/node/storage/snapshot-codec.js';
import { BackupFileError, backupFormatVersion, inspectBackupFile, readBackupSnapshot, writeBackupFile, type BackupHeader } from '../../../src/ops/backup-file.js';

const snapshot = encodeSnapshot({ slot: 42, appliedDigest: 'abc', state: Buffer.alloc(10_000, 7), membership: null });
const header: BackupHeader = {
  format: backupFormatVersion,
  clusterId: 'c-1',
  slot: 42,
  stateMachine: 'builtin:kv@1',
  voters: [1, 2, 3],
  learners: [],
  snapshotBytes: snapshot.length,
  savedAt: '2026-01-01T00:00:00.000Z',
  from: { node: 1, address: '127.0.0.1:7401' },
};

async function* chunksOf(bytes: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

describe('backup file', () => {
  it('round-trips, and inspect names a flipped byte anywhere as damage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'paxos-backup-'));
    const file = join(dir, 'b.snap');
    const written = await writeBackupFile(file, header, chunksOf(snapshot, 999));
    const summary = await inspectBackupFile(file);
    expect(summary).toMatchObject({ ...header, sha256: written.sha256, fileBytes: written.fileBytes });
    expect((await readBackupSnapshot(file)).snapshot.equals(snapshot)).toBe(true);
    expect(readdirSync(dir)).toEqual(['b.snap']);
    const bytes = readFileSync(file);
    for (let position = 0; position < bytes.length; position += 97) {
      const flipped = Buffer.from(bytes);
      flipped[position] ^= 1;
      writeFileSync(file, flipped);
      await expect(inspectBackupFile(file)).rejects.toThrow(BackupFileError);
    }
  });

  it('leaves FILE untouched and no temporary behind when the chunks fall short', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'paxos-backup-'));
    const file = join(dir, 'b.snap');
    writeFileSync(file, 'old');
    await expect(writeBackupFile(file, header, chunksOf(snapshot.subarray(0, 500), 100))).rejects.toThrow(/sent 500 of the/);
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['b.snap']);
  });
});

describe('BackupHold', () => {
  it('serves chunks of one backup at a time, serves the last again (a lost reply) until the next starts, and drops an abandoned one', () => {
    let now = 0;
    const hold = new BackupHold({ chunkBytes: 4000, idleMsMax: 1000 }, () => now);
    expect(backupsHeldMax).toBe(1);
    expect(hold.startRefusal()).toBeNull();
    const first = hold.start({ slot: 42, bytes: snapshot, voters: [1], learners: [] }, 7);
    expect('reply' in first && first.reply).toMatchObject({ id: 7, slot: 42, offset: 0, totalBytes: snapshot.length });
    expect(hold.startRefusal()).toMatch(/another backup \(slot 42\)/);
    const received = [Buffer.from((first as { reply: { data: Uint8Array } }).reply.data)];
    let offset = received[0].length;
    while (offset < snapshot.length) {
      const next = hold.chunk({ type: 'snapshot_fetch', id: 8, slot: 42, offset });
      if (!('reply' in next)) throw new Error(next.message);
      received.push(Buffer.from(next.reply.data));
      offset += next.reply.data.length;
    }
    expect(Buffer.concat(received).equals(snapshot)).toBe(true);
    // After the last chunk: asked again (its reply was lost), it is served again; it no longer blocks a new backup.
    expect(hold.chunk({ type: 'snapshot_fetch', id: 9, slot: 42, offset: offset - received[received.length - 1].length })).toMatchObject({ reply: { id: 9, slot: 42 } });
    expect(hold.startRefusal()).toBeNull();
    hold.start({ slot: 50, bytes: snapshot, voters: [1], learners: [] }, 10);
    expect(hold.chunk({ type: 'snapshot_fetch', id: 11, slot: 42, offset: 4000 })).toMatchObject({ code: 'backup_gone' });
    expect(hold.chunk({ type: 'snapshot_fetch', id: 12, slot: 50, offset: snapshot.length + 1 })).toMatchObject({ code: 'invalid_offset' });
    now = 999;
    expect(hold.startRefusal()).not.toBeNull();
    now = 2000;
    expect(hold.startRefusal()).toBeNull();
  });
});
