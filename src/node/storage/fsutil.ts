// Small file-system helpers that make durability explicit. A file's contents
// are durable after fsync of the file; its name (creation, rename, removal) is
// durable only after fsync of the directory that holds it (etcd #14370, #6368).
import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { writeSync } from 'node:fs';
import { errorCode } from './errors.js';

/** Makes the names in `path` (created, renamed or removed files) durable. */
export async function fsyncDirectory(path: string): Promise<void> {
  // Windows cannot open a directory for fsync; it makes names durable itself.
  if (process.platform === 'win32') return;
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * `mkdir -p` that fsyncs the parent of every directory it creates, so that a
 * crash right after start-up cannot lose the directory holding the log.
 */
export async function ensureDirectoryDurable(path: string): Promise<void> {
  const absolute = resolve(path);
  if (await isDirectory(absolute)) return;
  const parent = dirname(absolute);
  if (parent !== absolute) await ensureDirectoryDurable(parent);
  try {
    await mkdir(absolute);
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
  }
  await fsyncDirectory(parent);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    const stats = await stat(path);
    if (!stats.isDirectory()) throw Object.assign(new Error(`${path} is a file, not a directory`), { code: 'ENOTDIR' });
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Writes `buffer` at `position` synchronously. A write into the page cache takes
 * microseconds; doing it on the event loop saves a thread-pool round trip on the
 * WAL's hot path (the fsync that follows stays asynchronous). Loops over short writes.
 */
export async function writeFullyNow(handle: FileHandle, buffer: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < buffer.length) {
    const bytesWritten = writeSync(handle.fd, buffer, written, buffer.length - written, position + written);
    if (bytesWritten <= 0) throw new Error(`short write: ${written} of ${buffer.length} bytes`);
    written += bytesWritten;
  }
}

/**
 * Writes `buffer` at `position`, looping over short writes (a write may store
 * fewer bytes than asked, e.g. when the disk fills up).
 */
export async function writeFully(handle: FileHandle, buffer: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, written, buffer.length - written, position + written);
    if (bytesWritten <= 0) throw new Error(`short write: ${written} of ${buffer.length} bytes`);
    written += bytesWritten;
  }
}

/** Creates `path` (which must not exist) with `data`, fsyncs it and its directory. */
export async function writeNewFileDurable(path: string, data: Uint8Array): Promise<void> {
  await writeNewFileSynced(path, data);
  await fsyncDirectory(dirname(path));
}

/** Creates `path` (which must not exist) with `data` and fsyncs its contents, not its name. */
async function writeNewFileSynced(path: string, data: Uint8Array): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await writeFully(handle, data, 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `path` atomically: readers see the old contents or the new, never a
 * mix, and after return the new contents survive a crash (write a temporary
 * file, fsync it, rename it over the target, fsync the directory).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  // A crash before the rename leaves this name behind; snapshot.ts knows its pattern and removes it at start.
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    // The temporary name need not be durable: only the rename's result must be.
    await writeNewFileSynced(temporary, bytes);
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await fsyncDirectory(dirname(path));
}
