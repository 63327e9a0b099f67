// The backup file of `paxos snapshot save`: a header, one node's snapshot file
// bytes (storage/snapshot-codec.ts, which carries its own CRC-32C and the
// membership as of its slot), and a sha256 over everything before it.
//
//   0..7     magic "PXBACKUP"
//   8..11    header length H, uint32 big-endian
//   12..     header: JSON (BackupHeader), H bytes of UTF-8
//   12+H..   the snapshot file, header.snapshotBytes bytes
//   last 32  sha256 of every byte before it
//
// Written and read in chunks (backupIoChunkBytes), so neither costs more than
// a chunk of memory; only restore holds the snapshot whole, as a node would.
import { createHash, randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { NodeId, Slot } from '../node/core/messages.js';
import { fsyncDirectory } from '../node/storage/fsutil.js';
import { snapshotBytesMax } from '../node/storage/snapshot.js';

const magic = Buffer.from('PXBACKUP', 'latin1');
export const backupFormatVersion = 1;
/** A header is a few hundred bytes; anything bigger is not one of ours. */
export const backupHeaderBytesMax = 64 * 1024;
/** Bytes read or hashed per step. */
export const backupIoChunkBytes = 1024 * 1024;
const digestBytes = 32;
const snapshotMagic = Buffer.from('PXSNAP01', 'latin1');

export interface BackupHeader {
  format: number;
  clusterId: string;
  /** Every slot up to this one is applied in the snapshot. */
  slot: Slot;
  /** The state machine identity the snapshot's state belongs to (restore refuses another). */
  stateMachine: string;
  /** The configuration that governs the slots after `slot`. */
  voters: NodeId[];
  learners: NodeId[];
  snapshotBytes: number;
  /** ISO time the save finished fetching. */
  savedAt: string;
  /** The node (the leader) it was fetched from. */
  from: { node: NodeId; address: string };
}

export interface BackupSummary extends BackupHeader {
  file: string;
  fileBytes: number;
  sha256: string;
}

/** A backup file that cannot be used, with what is wrong and what to do. */
export class BackupFileError extends Error {
  constructor(
    readonly file: string,
    readonly why: string,
  ) {
    super(`${file} is not a usable backup: ${why}; take a new one with paxos snapshot save, or use another copy`);
    this.name = 'BackupFileError';
  }
}

function encodeHeader(header: BackupHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(12);
  magic.copy(prefix, 0);
  prefix.writeUInt32BE(json.length, 8);
  return Buffer.concat([prefix, json]);
}

/**
 * Writes a backup atomically: a temporary file beside `file`, the header,
 * the snapshot's chunks as `next` yields them, the digest, fsync, rename, fsync
 * the directory. On any failure the temporary is removed and `file` is untouched.
 */
export async function writeBackupFile(file: string, header: BackupHeader, chunks: AsyncIterable<Uint8Array>): Promise<{ sha256: string; fileBytes: number }> {
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const hash = createHash('sha256');
  let handle: FileHandle | null = await open(temporary, 'wx', 0o600);
  let position = 0;
  const write = async (bytes: Uint8Array) => {
    hash.update(bytes);
    let written = 0;
    while (written < bytes.length) {
      const { bytesWritten } = await (handle as FileHandle).write(bytes, written, bytes.length - written, position + written);
      written += bytesWritten;
    }
    position += bytes.length;
  };
  try {
    await write(encodeHeader(header));
    let snapshotWritten = 0;
    for await (const chunk of chunks) {
      snapshotWritten += chunk.length;
      if (snapshotWritten > header.snapshotBytes) throw new Error(`the node sent more than the ${header.snapshotBytes} bytes it announced`);
      await write(chunk);
    }
    if (snapshotWritten !== header.snapshotBytes) throw new Error(`the node sent ${snapshotWritten} of the ${header.snapshotBytes} bytes it announced`);
    const digest = hash.digest();
    const { bytesWritten } = await handle.write(digest, 0, digestBytes, position);
    if (bytesWritten !== digestBytes) throw new Error('short write of the digest');
    position += digestBytes;
    await handle.sync();
    await handle.close();
    handle = null;
    await rename(temporary, file);
    await fsyncDirectory(dirname(file));
    return { sha256: digest.toString('hex'), fileBytes: position };
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

async function readExactly(handle: FileHandle, length: number, position: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let read = 0;
  while (read < length) {
    const { bytesRead } = await handle.read(buffer, read, length - read, position + read);
    if (bytesRead === 0) break;
    read += bytesRead;
  }
  return buffer.subarray(0, read);
}

function parseHeader(json: Buffer, file: string): BackupHeader {
  const bad = (why: string) => new BackupFileError(file, why);
  let raw: unknown;
  try {
    raw = JSON.parse(json.toString('utf8'));
  } catch {
    throw bad('its header is not JSON');
  }
  const h = raw as Partial<BackupHeader>;
  const natural = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
  if (typeof raw !== 'object' || raw === null) throw bad('its header is not an object');
  if (h.format !== backupFormatVersion) throw bad(`format ${String(h.format)}, this version reads format ${backupFormatVersion}`);
  if (typeof h.clusterId !== 'string' || typeof h.stateMachine !== 'string' || typeof h.savedAt !== 'string') throw bad('its header lacks clusterId, stateMachine or savedAt');
  if (!natural(h.slot) || (h.slot as number) < 1) throw bad(`invalid slot ${String(h.slot)}`);
  if (!natural(h.snapshotBytes) || (h.snapshotBytes as number) > snapshotBytesMax) throw bad(`invalid snapshot size ${String(h.snapshotBytes)}`);
  if (!Array.isArray(h.voters) || !h.voters.every(natural) || !Array.isArray(h.learners) || !h.learners.every(natural)) throw bad('invalid voters or learners');
  if (typeof h.from !== 'object' || h.from === null || !natural(h.from.node) || typeof h.from.address !== 'string') throw bad('invalid from');
  return raw as BackupHeader;
}

/**
 * Checks a whole backup file (sizes, the sha256 over every byte, the header,
 * the embedded snapshot's own header) reading a chunk at a time; throws
 * BackupFileError naming what is wrong. Reads only.
 */
export async function inspectBackupFile(file: string): Promise<BackupSummary> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new BackupFileError(file, `it cannot be opened (${(error as Error).message})`);
  }
  try {
    const { size } = await handle.stat();
    const bad = (why: string) => new BackupFileError(file, why);
    const prefix = await readExactly(handle, 12, 0);
    if (prefix.length < 12 || !prefix.subarray(0, 8).equals(magic)) throw bad('not a paxos backup (bad magic)');
    const headerBytes = prefix.readUInt32BE(8);
    if (headerBytes > backupHeaderBytesMax || 12 + headerBytes + digestBytes > size) throw bad(`its header length ${headerBytes} does not fit the file's ${size} bytes`);
    // The digest first: a flipped byte anywhere is named as such, not as whatever it broke.
    const hash = createHash('sha256');
    const bodyBytes = size - digestBytes;
    for (let position = 0; position < bodyBytes; position += backupIoChunkBytes) {
      hash.update(await readExactly(handle, Math.min(backupIoChunkBytes, bodyBytes - position), position));
    }
    const digest = hash.digest();
    const stored = await readExactly(handle, digestBytes, bodyBytes);
    if (!digest.equals(stored)) throw bad('sha256 mismatch (the file is damaged or truncated)');
    const header = parseHeader(await readExactly(handle, headerBytes, 12), file);
    if (12 + headerBytes + header.snapshotBytes + digestBytes !== size) throw bad(`the header says ${header.snapshotBytes} snapshot bytes, the file holds ${size - 12 - headerBytes - digestBytes}`);
    const snapshotStart = 12 + headerBytes;
    const snapshotPrefix = await readExactly(handle, 16, snapshotStart);
    if (snapshotPrefix.length < 16 || !snapshotPrefix.subarray(0, 8).equals(snapshotMagic) || snapshotPrefix.readUInt32BE(8) !== header.snapshotBytes - 16) {
      throw bad('the embedded snapshot is not a paxos snapshot of the announced size');
    }
    return { ...header, file, fileBytes: size, sha256: digest.toString('hex') };
  } finally {
    await handle.close();
  }
}

/** The embedded snapshot file's bytes, after inspectBackupFile checked the file (for restore: a node holds one whole too). */
export async function readBackupSnapshot(file: string): Promise<{ summary: BackupSummary; snapshot: Buffer }> {
  const summary = await inspectBackupFile(file);
  const handle = await open(file, 'r');
  try {
    const prefix = await readExactly(handle, 12, 0);
    const snapshot = await readExactly(handle, summary.snapshotBytes, 12 + prefix.readUInt32BE(8));
    return { summary, snapshot };
  } finally {
    await handle.close();
  }
}
