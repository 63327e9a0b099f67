// Snapshot files: the replicated state as of one applied slot, in
// `<data-dir>/snapshots/<slot, 16 digits>.snap`. The same bytes travel to a
// lagging peer, which checks them the same way before it installs them.
//
// One file:
//   0..7   magic "PXSNAP01"
//   8..11  body length, uint32 big-endian
//   12..15 CRC-32C of the body, uint32 big-endian
//   16..   body: msgpack [slot, appliedDigest, state]
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Slot } from '../core/messages.js';
import { CorruptSnapshotError, errorCode } from './errors.js';
import { decodeSnapshot, type Snapshot } from './snapshot-codec.js';

import { ensureDirectoryDurable, fsyncDirectory, writeFileAtomic } from './fsutil.js';

export { decodeSnapshot, encodeSnapshot, type Snapshot } from './snapshot-codec.js';

export const snapshotDirectoryName = 'snapshots';
/** Snapshots kept on disk: the newest is the one that counts; one older in case a peer is mid-transfer. */
export const snapshotsKeptMax = 2;
/** The largest snapshot accepted from disk or from a peer (state plus sessions). */
export const snapshotBytesMax = 1024 * 1024 * 1024;

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
