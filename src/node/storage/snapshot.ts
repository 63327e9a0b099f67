// Snapshot files: the replicated state as of one applied slot, in
// `<data-dir>/snapshots/<slot, 16 digits>.snap`. The same bytes travel to a
// lagging peer, which checks them the same way before it installs them.
//
// One file:
//   0..7   magic "PXSNAP01"
//   8..11  body length, uint32 big-endian
//   12..15 CRC-32C of the body, uint32 big-endian
//   16..   body: msgpack [slot, appliedDigest, state]
import { crc32c } from '@node-rs/crc32';
import { Packr, Unpackr } from 'msgpackr';
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Slot } from '../core/messages.js';
import { CorruptSnapshotError, errorCode } from './errors.js';
import { ensureDirectoryDurable, fsyncDirectory, writeFileAtomic } from './fsutil.js';

export const snapshotDirectoryName = 'snapshots';
const magic = Buffer.from('PXSNAP01', 'latin1');
const headerBytes = 16;
/** Snapshots kept on disk: the newest is the one that counts; one older in case a peer is mid-transfer. */
export const snapshotsKeptMax = 2;
/** The largest snapshot accepted from disk or from a peer (state plus sessions). */
export const snapshotBytesMax = 1024 * 1024 * 1024;

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

export interface SnapshotListing {
  file: string;
  path: string;
  slot: Slot;
}

export function snapshotDirectory(dataDir: string): string {
  return join(dataDir, snapshotDirectoryName);
}

export function snapshotFileName(slot: Slot): string {
  return `${String(slot).padStart(16, '0')}.snap`;
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

/** Writes a snapshot atomically and durably (temporary file, fsync, rename, fsync the directory). */
export async function writeSnapshot(dataDir: string, slot: Slot, bytes: Uint8Array): Promise<string> {
  const directory = snapshotDirectory(dataDir);
  await ensureDirectoryDurable(directory);
  const path = join(directory, snapshotFileName(slot));
  await writeFileAtomic(path, bytes);
  return path;
}

/** What `snapshots/` holds besides snapshot files. */
export interface SnapshotDirectoryListing {
  snapshots: SnapshotListing[];
  /** Temporary files of writeSnapshot (`.<name>.<pid>.<random>.tmp`) that were never renamed: a crash mid-snapshot. */
  temporaries: string[];
  /** Anything else; the node ignores it. */
  unexpected: string[];
}

const snapshotNamePattern = /^(\d{16})\.snap$/;
/** writeFileAtomic's temporary name for a snapshot file (see fsutil.ts). */
const temporaryNamePattern = /^\.\d{16}\.snap\.\d+\.[0-9a-f]+\.tmp$/;

/** Everything in `snapshots/`, sorted: snapshots oldest first, then the names that are not snapshots. */
export async function listSnapshotDirectory(dataDir: string): Promise<SnapshotDirectoryListing> {
  const directory = snapshotDirectory(dataDir);
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { snapshots: [], temporaries: [], unexpected: [] };
    throw error;
  }
  const listing: SnapshotDirectoryListing = { snapshots: [], temporaries: [], unexpected: [] };
  for (const file of names.sort()) {
    const match = snapshotNamePattern.exec(file);
    if (match !== null) listing.snapshots.push({ file, path: join(directory, file), slot: Number(match[1]) });
    else if (temporaryNamePattern.test(file)) listing.temporaries.push(file);
    else listing.unexpected.push(file);
  }
  listing.snapshots.sort((a, b) => a.slot - b.slot);
  return listing;
}

/** Snapshot files, oldest first. */
export async function listSnapshots(dataDir: string): Promise<SnapshotListing[]> {
  return (await listSnapshotDirectory(dataDir)).snapshots;
}

/**
 * Deletes the temporary files a crash mid-snapshot left in `snapshots/` (each
 * could be as large as a snapshot, and nothing else would ever remove them).
 * Only for the process that holds the data dir's lock: then no snapshot is
 * being written, so every temporary is stale. Returns the names removed.
 */
export async function removeStaleSnapshotTemporaries(dataDir: string): Promise<string[]> {
  const { temporaries } = await listSnapshotDirectory(dataDir);
  for (const file of temporaries) await unlink(join(snapshotDirectory(dataDir), file));
  if (temporaries.length > 0) await fsyncDirectory(snapshotDirectory(dataDir));
  return temporaries;
}

/** The newest snapshot with its raw bytes, or null. A damaged newest snapshot is fatal, never skipped. */
export async function readLatestSnapshot(dataDir: string): Promise<{ snapshot: Snapshot; bytes: Buffer; path: string } | null> {
  const listing = await listSnapshots(dataDir);
  const latest = listing[listing.length - 1];
  if (latest === undefined) return null;
  const bytes = await readFile(latest.path);
  const snapshot = decodeSnapshot(bytes, latest.path);
  if (snapshot.slot !== latest.slot) throw new CorruptSnapshotError({ file: latest.path, why: `holds slot ${snapshot.slot}, not the slot in its name` });
  return { snapshot, bytes, path: latest.path };
}

/** Deletes all but the newest `keep` snapshots. */
export async function pruneSnapshots(dataDir: string, keep: number = snapshotsKeptMax): Promise<void> {
  const listing = await listSnapshots(dataDir);
  const old = listing.slice(0, Math.max(0, listing.length - keep));
  for (const entry of old) await unlink(entry.path);
  if (old.length > 0) await fsyncDirectory(snapshotDirectory(dataDir));
}
