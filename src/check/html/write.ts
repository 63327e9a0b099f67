// Writes the report page atomically: a reader (a browser, a CI artefact
// upload) sees the old file or the whole new one, never half a page.
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** The report could not be written (no such directory, no permission, a full disk). */
export class ReportWriteError extends Error {
  readonly code = 'report_write' as const;

  constructor(file: string, cause: NodeJS.ErrnoException) {
    const reason = cause.code === 'ENOENT' ? 'no such directory' : cause.code === 'EISDIR' ? 'it is a directory' : cause.message;
    super(`cannot write the HTML report ${file}: ${reason}; the verdict above stands`, { cause });
    this.name = 'ReportWriteError';
  }
}

/** Writes `text` to a temporary file beside `file`, fsyncs it, and renames it over `file`. */
export async function writeReportFile(file: string, text: string): Promise<void> {
  // Beside the target, so the rename stays on one file system and is atomic.
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new ReportWriteError(file, error as NodeJS.ErrnoException);
  }
  await syncDirectory(path.dirname(file));
}

/** A rename is durable only once its directory is (etcd #6368); some file systems refuse to fsync one. */
async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // The page is complete either way; only its survival of a power cut is at stake.
  }
}
