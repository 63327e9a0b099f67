// Deliberately broken behaviour, behind hidden `--unsafe-*` flags of `paxos node
// start`. It exists for one reason: to show that the chaos tests
// (scripts/chaos/run.sh) catch a node that breaks the rules. Never use it
// for anything else; a node running with either mode loses or invents data.
import type { WriteAheadLog } from '../storage/wal.js';
import type { Logger } from './log.js';

export interface UnsafeModes {
  /**
   * Act on each Ready (send its promises and accepts, answer clients) before
   * its records are written, and write them only `unsafeWriteBehindMs` later,
   * without fsync: like a disk whose write cache lies. kill -9 then loses the
   * last moments of what the node acknowledged.
   */
  ackBeforeFsync?: boolean;
  /**
   * A leader answers `get` from its own state machine at once: a submitted
   * one without the log, a linearizable query without the heartbeat round
   * that confirms it still leads. A leader cut off by a partition does not
   * know it was deposed, so it serves stale values while the majority side
   * moves on.
   */
  localReads?: boolean;
}

/**
 * How long a record waits in memory under ackBeforeFsync. Long enough that a
 * kill -9 during load reliably loses acknowledged records (a kill can only
 * lose what never reached the kernel), short enough to keep the log close.
 */
export const unsafeWriteBehindMs = 1_000;

/**
 * Makes every way of writing to the log (`append`, `appendLazily`,
 * `checkpoint`) resolve at once and write later. All are delayed by the same
 * time, so records still reach the file in the order they were given.
 */
export function makeWritesBehind(wal: WriteAheadLog, log: Logger): void {
  log.warn(`UNSAFE: --unsafe-ack-before-fsync: records are acknowledged before they are written, and written ${unsafeWriteBehindMs}ms late without fsync`);
  for (const method of ['append', 'appendLazily', 'checkpoint'] as const) {
    const write = wal[method].bind(wal);
    wal[method] = (records) => {
      setTimeout(() => {
        write(records).catch((error: Error) => log.error('UNSAFE: a late write failed', { error: error.message }));
      }, unsafeWriteBehindMs);
      return Promise.resolve();
    };
  }
}
