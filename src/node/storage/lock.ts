// One process per data dir. Two nodes appending to the same log would corrupt
// it, and two acceptors sharing one disk would vote twice. proper-lockfile
// makes an atomic `mkdir` lock and keeps its mtime fresh; a lock whose mtime
// stops moving (its holder was killed) becomes stale and can be taken over.
import { readFile, realpath, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { DataDirInvalidError, DataDirLockedError, describe, errorCode } from './errors.js';
import { ensureDirectoryDurable, writeFileAtomic } from './fsutil.js';

export const lockFileName = 'paxos.lock';
export const pidFileName = 'paxos.pid';

/**
 * A lock not refreshed for this long is stale. Short, so that a node restarted
 * right after kill -9 waits seconds, not the library's default 10 s; long enough
 * that an event loop busy for a few seconds does not lose its lock.
 */
const lockStaleMs = 4000;
/** The holder refreshes the lock's mtime this often (proper-lockfile's minimum). */
const lockUpdateMs = 1000;
/** How long to wait for a dead holder's lock to go stale: comfortably above lockStaleMs. */
const waitStaleMsDefault = 15_000;
/** Pause between attempts while waiting for a stale lock. */
const retryPauseMs = 250;

export interface LockOptions {
  log: (msg: string) => void;
  /** Give up waiting for a dead holder's lock after this long. */
  waitStaleMs?: number;
  /**
   * Called if the lock is lost while held (its mtime was changed by someone
   * else, or could not be refreshed for lockStaleMs: e.g. the process was
   * paused). The node must stop at once: another process may now own the dir.
   * Without it the loss is logged; proper-lockfile would otherwise throw from a timer.
   */
  onCompromised?: (error: Error) => void;
}

/** Release function: removes our pid file and the lock. Safe to call twice. */
export type ReleaseLock = () => Promise<void>;

/** Data dirs this process holds: a second lock from the same process is a bug, reported at once. */
const heldByThisProcess = new Set<string>();

/**
 * Locks `dir` (created if missing) for this process and writes our pid to
 * `dir/paxos.pid`. Throws DataDirLockedError at once when a live process holds
 * it; waits (saying so) when the holder is gone but its lock is not yet stale.
 */
export async function lockDataDir(dir: string, options: LockOptions): Promise<ReleaseLock> {
  try {
    await ensureDirectoryDurable(dir);
  } catch (error) {
    throw new DataDirInvalidError(dir, error);
  }
  const canonical = await realpath(dir);
  if (heldByThisProcess.has(canonical)) {
    throw new DataDirLockedError(`data dir ${dir} is already locked by this process (pid ${process.pid})`, process.pid);
  }
  const release = await acquire(dir, options);
  heldByThisProcess.add(canonical);
  try {
    await writeFileAtomic(join(dir, pidFileName), `${process.pid}\n`);
  } catch (error) {
    heldByThisProcess.delete(canonical);
    await release().catch(() => undefined);
    throw new DataDirInvalidError(dir, error);
  }
  return releaseOnce(dir, canonical, release, options.log);
}

async function acquire(dir: string, options: LockOptions): Promise<() => Promise<void>> {
  const deadline = Date.now() + (options.waitStaleMs ?? waitStaleMsDefault);
  let waitingSaid = false;
  for (;;) {
    try {
      return await lockfile.lock(dir, lockOptions(dir, options));
    } catch (error) {
      // Any other failure to make the lock (a read-only file system, no permission, a full
      // disk) is the data dir's: say so, with what to do, rather than the bare system error.
      if (errorCode(error) !== 'ELOCKED') throw new DataDirInvalidError(dir, error);
    }
    const holder = await readHolderPid(dir);
    if (holder !== null && holder !== process.pid && isProcessAlive(holder)) {
      throw new DataDirLockedError(
        `data dir ${dir} is in use by another paxos node (pid ${holder}); stop it first or choose another --data-dir`,
        holder,
      );
    }
    if (Date.now() >= deadline) throw gaveUp(dir, holder, options.waitStaleMs ?? waitStaleMsDefault);
    if (!waitingSaid) options.log(waitingMessage(dir, holder));
    waitingSaid = true;
    await pause(retryPauseMs);
  }
}

function lockOptions(dir: string, options: LockOptions): lockfile.LockOptions {
  return {
    lockfilePath: join(dir, lockFileName),
    stale: lockStaleMs,
    update: lockUpdateMs,
    retries: 0,
    onCompromised: (error: Error) => {
      if (options.onCompromised !== undefined) options.onCompromised(error);
      else options.log(`the lock on data dir ${dir} was lost (${error.message}); another process may now use it, stop this node`);
    },
  };
}

function waitingMessage(dir: string, holder: number | null): string {
  const who = holder === null ? 'a process that left no pid file' : `pid ${holder}, which is no longer running`;
  return `data dir ${dir} is locked by ${who} (killed?); waiting for its lock to go stale (up to ${lockStaleMs} ms after its last refresh)`;
}

function gaveUp(dir: string, holder: number | null, waitStaleMs: number): DataDirLockedError {
  const who = holder === null ? 'no pid file names the holder' : `its pid file names pid ${holder}, which is not running here`;
  return new DataDirLockedError(
    `data dir ${dir} is still locked after waiting ${waitStaleMs} ms, yet ${who}: ` +
      'the lock is being kept fresh, perhaps by a node on another host or container sharing this directory; stop it first or choose another --data-dir',
    holder,
  );
}

/** The pid in `dir/paxos.pid`, or null if there is none or it does not parse. */
export async function readHolderPid(dir: string): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(join(dir, pidFileName), 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw error;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return errorCode(error) === 'EPERM';
  }
}

function releaseOnce(dir: string, canonical: string, release: () => Promise<void>, log: (msg: string) => void): ReleaseLock {
  let released: Promise<void> | null = null;
  const releaseNow = async (): Promise<void> => {
    // The pid file goes first: once the lock is gone a new holder may write its own.
    if ((await readHolderPid(dir).catch(() => null)) === process.pid) {
      await unlink(join(dir, pidFileName)).catch(() => undefined);
    }
    heldByThisProcess.delete(canonical);
    await release().catch((error: unknown) => log(`releasing the lock on data dir ${dir} failed: ${describe(error)}`));
  };
  return () => {
    released ??= releaseNow();
    return released;
  };
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
