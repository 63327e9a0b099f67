// The write-ahead log: an append-only sequence of segment files in
// `<data-dir>/wal/`. The runtime appends the records of each Ready and sends
// that Ready's messages only after the append resolves, so a promise or an
// accepted value is on disk before any peer hears of it.
import type { FileHandle } from 'node:fs/promises';
import { access, open, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { WalRecord } from '../core/messages.js';
import { fsyncPolicyNames, walSegmentBytesMaxDefault } from '../config.js';
import { CorruptLogError, errorCode, WalClosedError, WalFailedError } from './errors.js';
import { ensureDirectoryDurable, fsyncDirectory, writeFullyNow, writeNewFileDurable } from './fsutil.js';
import type { TornTail } from './record.js';
import { AcceptsInLog, encodeRecord } from './record.js';
import type { LogScan } from './segments.js';
import { parseSegmentFileName, recordsOf, scanLog, segmentFileName, walDirectory } from './segments.js';

/**
 * always: each append is written and fdatasync'd on its own before it resolves
 *         (the runtime still group-commits: it hands over one append at a time,
 *         covering every Ready that queued during the previous fsync).
 * batch:  group commit with a linger: the first durable append of a batch waits
 *         up to batchLingerMs (or until batchBytesMax are queued) and every append
 *         queued by then, or while the previous write+fsync ran, is written
 *         together and made durable by one fdatasync; same guarantee: nothing
 *         resolves before its fsync.
 * never:  written, never fsynced (benchmarks only): a crash loses acknowledged data.
 */
export type FsyncPolicy = 'always' | 'batch' | 'never';

export const fsyncPolicies: readonly FsyncPolicy[] = fsyncPolicyNames;

export type StorageLogLevel = 'debug' | 'info' | 'warn' | 'error';
export type StorageLog = (level: StorageLogLevel, msg: string, fields?: Record<string, unknown>) => void;

export interface WalOptions {
  fsync: FsyncPolicy;
  /**
   * A segment is closed and a new one started once it holds at least this many
   * bytes; it may overshoot by one batch (a batch is never split). Bounds the
   * file a restart reads in one piece and, later, the unit of compaction.
   */
  segmentBytesMax?: number;
  /** An fsync slower than this is logged: slow disks show up as leader flapping. */
  fsyncSlowMicros?: number;
  /**
   * Under batch: how long after the first durable append of a batch is queued
   * the log waits for more before it writes and fsyncs (0: no wait). Default 0
   * here; a node's default and bounds are in src/node/config.ts.
   */
  batchLingerMs?: number;
  /** Under batch: bytes queued that end the linger at once. */
  batchBytesMax?: number;
  log?: StorageLog;
  /** Told the time of every fsync of a segment, for a latency histogram (the runtime's metrics). */
  onFsync?: (micros: number) => void;
}

export interface WalStats {
  fsyncs: number;
  fsyncMicrosTotal: number;
  lastFsyncMicros: number;
  recordsWritten: number;
  bytesWritten: number;
}

export interface WalOpenResult {
  wal: WriteAheadLog;
  /** Every record recovered from disk, in append order. */
  records: WalRecord[];
  /** What recovery repaired or ignored, one sentence each (also logged). */
  warnings: string[];
}

/** See walSegmentBytesMaxDefault in src/node/config.ts, where a node's limits live. */
export const segmentBytesMaxDefault = walSegmentBytesMaxDefault;
/** A quarter second: several heartbeats at any sensible tick length. */
export const fsyncSlowMicrosDefault = 250_000;
/** Slow fsyncs are summarised at most this often, so a sick disk does not flood the log. */
const slowFsyncWarningIntervalMs = 10_000;
/** `.broken` copies per segment before we give up finding a free name (each is a crash). */
const brokenCopiesPerSegmentMax = 1000;
/**
 * Slots whose last accept the log remembers so a chosen record can name it
 * (record.ts, chosen_accepted). Far above the slots a leader keeps in flight;
 * past it the log forgets them all and chosen records carry their values.
 */
const acceptsRememberedMax = 65_536;

interface PendingAppend {
  buffers: Buffer[];
  resolve: () => void;
  reject: (error: Error) => void;
  recordCount: number;
  /** Starts a new segment with these records and deletes every older one (log compaction). */
  checkpoint: boolean;
  /** False for records that may wait for the next fsync (see appendLazily). */
  sync: boolean;
  /**
   * Written at the head of a new segment: decided when queued, so that a
   * chosen_accepted record is known to land in the segment of its accept.
   */
  startsSegment: boolean;
  /** When it was queued (performance.now()): the linger is counted from the first durable append's. */
  queuedAtMs: number;
}

interface OpenSegment {
  file: string;
  handle: FileHandle;
  bytes: number;
}

interface Settings {
  walDir: string;
  policy: FsyncPolicy;
  segmentBytesMax: number;
  fsyncSlowMicros: number;
  batchLingerMs: number;
  batchBytesMax: number;
  log: StorageLog;
  onFsync: (micros: number) => void;
}

export class WriteAheadLog {
  private readonly settings: Settings;
  private segment: OpenSegment;
  private closedSegmentsBytes: number;
  private segmentsCount: number;
  /** Index (from 1) the next appended record gets; names the next segment. */
  private nextIndex: number;
  private readonly queue: PendingAppend[] = [];
  private writing = false;
  private readonly idleWaiters: (() => void)[] = [];
  private failure: WalFailedError | null = null;
  private closing: Promise<void> | null = null;
  private readonly counters: WalStats = { fsyncs: 0, fsyncMicrosTotal: 0, lastFsyncMicros: 0, recordsWritten: 0, bytesWritten: 0 };
  private slowFsyncsUnreported = 0;
  private slowFsyncWarnedAtMs = 0;
  /** Ends the linger in progress at once (enough bytes queued, or closing); null when not lingering. */
  private cutLinger: (() => void) | null = null;
  /**
   * Durable appends the last batch held. One alone says appends come one at a
   * time (a single client waiting for each answer): the next lingers for none
   * to join. Starts at two, as if appends came together.
   */
  private lastBatchDurableAppends = 2;
  /** The accepts queued into the segment that is filling, for chosen_accepted records (which never name another segment's). */
  private readonly accepts = new AcceptsInLog(acceptsRememberedMax);
  /** Bytes of the segment that is filling, counting what is queued for it: where the next roll falls. */
  private segmentBytesQueued: number;

  private constructor(settings: Settings, segment: OpenSegment, state: { closedSegmentsBytes: number; segmentsCount: number; nextIndex: number }) {
    this.settings = settings;
    this.segment = segment;
    this.closedSegmentsBytes = state.closedSegmentsBytes;
    this.segmentsCount = state.segmentsCount;
    this.nextIndex = state.nextIndex;
    this.segmentBytesQueued = segment.bytes;
  }

  /**
   * Opens (creating if needed) the log in `<dir>/wal/` and recovers its records.
   * A torn final record is cut (a copy kept in `<segment>.broken`); damage
   * anywhere else throws CorruptLogError and changes nothing on disk.
   */
  static async open(dir: string, options: WalOptions): Promise<WalOpenResult> {
    const settings = settingsFrom(dir, options);
    await ensureDirectoryDurable(settings.walDir);
    const scan = await scanLog(dir);
    if (scan.corrupt !== null) {
      throw new CorruptLogError({ ...scan.corrupt, file: join(settings.walDir, scan.corrupt.file) });
    }
    const warnings = scan.unexpectedFiles.map((name) => `ignoring unexpected file ${join(settings.walDir, name)} in the wal directory`);
    if (scan.torn !== null) warnings.push(await cutTornTail(settings.walDir, scan.torn));
    const wal = await WriteAheadLog.resume(settings, scan);
    for (const warning of warnings) settings.log('warn', warning);
    if (settings.policy === 'never') {
      settings.log('warn', 'fsync=never: records are not fsynced and a crash can lose acknowledged promises and values; use for benchmarks only');
    }
    return { wal, records: recordsOf(scan), warnings };
  }

  /** Opens the last segment for appending, or creates the first one. */
  private static async resume(settings: Settings, scan: LogScan): Promise<WriteAheadLog> {
    const last = scan.segments[scan.segments.length - 1];
    if (last === undefined) {
      const file = segmentFileName(1);
      const handle = await open(join(settings.walDir, file), 'wx');
      await fsyncDirectory(settings.walDir);
      return new WriteAheadLog(settings, { file, handle, bytes: 0 }, { closedSegmentsBytes: 0, segmentsCount: 1, nextIndex: 1 });
    }
    const handle = await open(last.path, 'r+');
    // The size after any truncation, from the file itself rather than the scan.
    const bytes = (await handle.stat()).size;
    const closedSegmentsBytes = scan.segments.slice(0, -1).reduce((sum, segment) => sum + segment.bytes, 0);
    const state = { closedSegmentsBytes, segmentsCount: scan.segments.length, nextIndex: last.firstIndex + last.records.length };
    return new WriteAheadLog(settings, { file: last.file, handle, bytes }, state);
  }

  /**
   * Appends `records` and resolves once they are durable under the fsync
   * policy. Calls resolve in the order they were made. After any write or fsync
   * error every pending and later append rejects with WalFailedError.
   */
  append(records: WalRecord[]): Promise<void> {
    return this.enqueue(records, { checkpoint: false, sync: true });
  }

  /**
   * Appends records that need not be durable before anything is sent (learned
   * chosen values, which a restarted node can learn again). They are written in
   * order with everything else and made durable by the next fsync, under any
   * policy; the promise resolves once they are written.
   */
  appendLazily(records: WalRecord[]): Promise<void> {
    return this.enqueue(records, { checkpoint: false, sync: false });
  }

  /**
   * Log compaction. Writes `records` (everything the node still needs beside
   * its snapshot) at the start of a new segment, fsyncs it whatever the policy,
   * then deletes every older segment, oldest first, so a crash midway leaves a
   * gap-free suffix. Ordered with appends: what was appended before is in the
   * deleted segments (and so must be covered by `records` and the snapshot).
   */
  checkpoint(records: WalRecord[]): Promise<void> {
    return this.enqueue(records, { checkpoint: true, sync: true });
  }

  private enqueue(records: WalRecord[], kind: { checkpoint: boolean; sync: boolean }): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closing !== null) return Promise.reject(new WalClosedError());
    let buffers: Buffer[];
    // A chosen_accepted record names an accept of its own segment, so that the
    // segment scans alone and deleting older segments (a compaction, or a crash
    // in the middle of one) never strands a reference. So a checkpoint and the
    // append that begins a segment each start with nothing to name.
    const startsSegment = !kind.checkpoint && records.length > 0 && this.segmentBytesQueued >= this.settings.segmentBytesMax;
    if (kind.checkpoint || startsSegment) this.accepts.clear();
    try {
      // Verifying one record per call catches an encoder bug at a cost bounded by the fsync rate.
      buffers = records.map((record, index) => {
        const bytes = encodeRecord(record, { verify: index === 0, acceptedAt: this.accepts.referenceFor(record) });
        this.accepts.noteWritten(record);
        return bytes;
      });
    } catch (error) {
      // Some records were noted but none will be written: forget them all, so nothing names a missing accept.
      this.accepts.clear();
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const bytes = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
    this.segmentBytesQueued = kind.checkpoint || startsSegment ? bytes : this.segmentBytesQueued + bytes;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ buffers, resolve, reject, recordCount: records.length, ...kind, startsSegment, queuedAtMs: performance.now() });
      if (this.cutLinger !== null && this.queuedBytes() >= this.settings.batchBytesMax) this.cutLinger();
      this.startWriting();
    });
  }

  /** Bytes in all segments, including what is written but not yet fsynced. */
  sizeBytes(): number {
    return this.closedSegmentsBytes + this.segment.bytes;
  }

  segmentCount(): number {
    return this.segmentsCount;
  }

  /** Bytes appended since the log was opened (stats().bytesWritten, without the copy). */
  get bytesWritten(): number {
    return this.counters.bytesWritten;
  }

  stats(): WalStats {
    return { ...this.counters };
  }

  /**
   * True under batch: the log itself gathers appends made while it lingers or
   * fsyncs into one write, so a caller should hand each over at once rather
   * than wait for the previous one.
   */
  get gathersAppends(): boolean {
    return this.settings.policy === 'batch';
  }

  /**
   * Writes and fsyncs everything appended so far, then closes the file.
   * Rejects with the log's failure if a write or fsync ever failed.
   */
  close(): Promise<void> {
    // What is queued is written now: a stop need not wait out a linger.
    this.cutLinger?.();
    if (this.closing === null) this.closing = this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    await this.whenIdle();
    if (this.failure === null) {
      // Under fsync=never this is the only fsync, so a graceful stop loses nothing.
      await this.guarded('fsync at close', () => this.sync()).catch((error: unknown) => this.recordFailure(error));
    }
    await this.segment.handle.close().catch((error: unknown) => {
      if (this.failure === null) this.recordFailure(error);
    });
    if (this.failure !== null) throw this.failure;
  }

  private whenIdle(): Promise<void> {
    if (!this.writing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private startWriting(): void {
    if (this.writing) return;
    this.writing = true;
    void this.writeLoop();
  }

  /** One writer at a time; appends that arrive meanwhile wait in the queue and form the next batch. */
  private async writeLoop(): Promise<void> {
    while (this.queue.length > 0 && this.failure === null) {
      await this.linger();
      const batch = this.takeBatch();
      this.lastBatchDurableAppends = batch.filter((pending) => pending.sync && !pending.checkpoint).length || this.lastBatchDurableAppends;
      try {
        await this.writeBatch(batch);
        for (const pending of batch) pending.resolve();
      } catch (error) {
        this.recordFailure(error);
        for (const pending of batch) pending.reject(this.failure ?? toError(error));
      }
    }
    for (const pending of this.queue.splice(0)) pending.reject(this.failure ?? new WalClosedError());
    // Cleared in the same synchronous step that saw the queue empty, so an append cannot be stranded.
    this.writing = false;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /**
   * Under batch, before a batch is taken: waits until the first durable append
   * in the queue has waited batchLingerMs since it was queued, so that appends
   * made meanwhile share its fsync. An append that already waited that long
   * (behind the previous fsync) waits no more; batchBytesMax queued, or close,
   * ends the wait at once. After a batch of one durable append it does not
   * wait at all, like PostgreSQL's commit_delay with commit_siblings: with
   * nobody else writing, a linger is only latency. Nothing resolves any
   * earlier than its fsync.
   */
  private async linger(): Promise<void> {
    const { policy, batchLingerMs, batchBytesMax } = this.settings;
    if (policy !== 'batch' || batchLingerMs === 0 || this.closing !== null || this.lastBatchDurableAppends < 2) return;
    const first = this.queue.find((pending) => pending.sync || pending.checkpoint);
    // Lazy appends alone need no fsync, and a checkpoint is written as soon as it is its turn.
    if (first === undefined || first.checkpoint || this.queue[0].checkpoint) return;
    const waitMs = first.queuedAtMs + batchLingerMs - performance.now();
    if (waitMs <= 0 || this.queuedBytes() >= batchBytesMax) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.cutLinger?.(), Math.ceil(waitMs));
      this.cutLinger = () => {
        clearTimeout(timer);
        this.cutLinger = null;
        resolve();
      };
    });
  }

  private queuedBytes(): number {
    let bytes = 0;
    for (const pending of this.queue) for (const buffer of pending.buffers) bytes += buffer.length;
    return bytes;
  }

  /**
   * A batch lies in one segment: a checkpoint is a batch of its own, and a
   * batch ends before the next append that starts a segment.
   */
  private takeBatch(): PendingAppend[] {
    if (this.queue[0].checkpoint) return this.queue.splice(0, 1);
    const boundary = this.queue.findIndex((pending, position) => position > 0 && (pending.checkpoint || pending.startsSegment));
    const end = boundary === -1 ? this.queue.length : boundary;
    if (this.settings.policy === 'always') {
      // One fsync per durable append; lazy appends ahead of it ride along.
      const firstSynced = this.queue.findIndex((pending, position) => position < end && pending.sync);
      return this.queue.splice(0, firstSynced === -1 ? end : firstSynced + 1);
    }
    return this.queue.splice(0, end);
  }

  private async writeBatch(batch: PendingAppend[]): Promise<void> {
    if (batch.length === 1 && batch[0].checkpoint) return this.writeCheckpoint(batch[0]);
    const bytes = Buffer.concat(batch.flatMap((pending) => pending.buffers));
    const recordCount = batch.reduce((sum, pending) => sum + pending.recordCount, 0);
    if (bytes.length === 0) return;
    if (batch[0].startsSegment) await this.guarded('segment roll', () => this.roll());
    await this.guarded('write', () => writeFullyNow(this.segment.handle, bytes, this.segment.bytes));
    this.segment.bytes += bytes.length;
    this.nextIndex += recordCount;
    this.counters.recordsWritten += recordCount;
    this.counters.bytesWritten += bytes.length;
    const needsSync = batch.some((pending) => pending.sync);
    if (this.settings.policy !== 'never' && needsSync) await this.guarded('fsync', () => this.sync());
  }

  private async writeCheckpoint(pending: PendingAppend): Promise<void> {
    // An empty current segment already starts at the right index (and holds its name).
    if (this.segment.bytes > 0) await this.guarded('segment roll', () => this.roll());
    const bytes = Buffer.concat(pending.buffers);
    await this.guarded('write', () => writeFullyNow(this.segment.handle, bytes, 0));
    this.segment.bytes = bytes.length;
    this.nextIndex += pending.recordCount;
    this.counters.recordsWritten += pending.recordCount;
    this.counters.bytesWritten += bytes.length;
    await this.guarded('fsync', () => this.sync());
    await this.guarded('deleting compacted segments', () => this.deleteSegmentsBefore(this.segment.file));
  }

  private async deleteSegmentsBefore(current: string): Promise<void> {
    const names = (await readdir(this.settings.walDir)).filter((name) => parseSegmentFileName(name) !== null && name < current).sort();
    for (const name of names) await unlink(join(this.settings.walDir, name));
    await fsyncDirectory(this.settings.walDir);
    this.closedSegmentsBytes = 0;
    this.segmentsCount = 1;
    if (names.length > 0) this.settings.log('info', 'compacted the write-ahead log', { segmentsDeleted: names.length, first: current });
  }

  /** Closes the full segment and starts the next, named by the index of its first record. */
  private async roll(): Promise<void> {
    const full = this.segment;
    // Completes the old segment under every policy (even never), so only the last segment can be torn.
    await this.sync();
    await full.handle.close();
    const file = segmentFileName(this.nextIndex);
    const handle = await open(join(this.settings.walDir, file), 'wx');
    this.closedSegmentsBytes += full.bytes;
    this.segment = { file, handle, bytes: 0 };
    this.segmentsCount += 1;
    // The new name must be durable before any record in it is acknowledged.
    await fsyncDirectory(this.settings.walDir);
    this.settings.log('info', 'started a new WAL segment', { file, previousBytes: full.bytes });
  }

  /** fdatasync: also persists the file size, which is all the metadata an append changes. */
  private async sync(): Promise<void> {
    const started = process.hrtime.bigint();
    await this.segment.handle.datasync();
    const micros = Number((process.hrtime.bigint() - started) / 1000n);
    this.counters.fsyncs += 1;
    this.counters.fsyncMicrosTotal += micros;
    this.counters.lastFsyncMicros = micros;
    this.settings.onFsync(micros);
    if (micros >= this.settings.fsyncSlowMicros) this.noteSlowFsync(micros);
  }

  private noteSlowFsync(micros: number): void {
    this.slowFsyncsUnreported += 1;
    const now = Date.now();
    if (now - this.slowFsyncWarnedAtMs < slowFsyncWarningIntervalMs) return;
    this.settings.log('warn', 'slow fsync: the disk delays every promise and accept, which can cost leadership', {
      fsyncMicros: micros,
      slowFsyncs: this.slowFsyncsUnreported,
      thresholdMicros: this.settings.fsyncSlowMicros,
    });
    this.slowFsyncsUnreported = 0;
    this.slowFsyncWarnedAtMs = now;
  }

  private async guarded(operation: string, action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (error) {
      throw new WalFailedError(`${operation} of ${join(this.settings.walDir, this.segment.file)}`, error);
    }
  }

  /** The first failure wins and is permanent: no append is accepted after it (fsyncgate). */
  private recordFailure(error: unknown): void {
    if (this.failure !== null) return;
    this.failure = error instanceof WalFailedError ? error : new WalFailedError('operation', error);
    this.settings.log('error', this.failure.message, { code: this.failure.code });
  }
}

function settingsFrom(dir: string, options: WalOptions): Settings {
  if (!fsyncPolicies.includes(options.fsync)) throw new Error(`fsync policy must be one of ${fsyncPolicies.join(', ')}, got ${String(options.fsync)}`);
  const segmentBytesMax = options.segmentBytesMax ?? segmentBytesMaxDefault;
  if (!Number.isSafeInteger(segmentBytesMax) || segmentBytesMax < 1) throw new Error(`segmentBytesMax must be a positive integer, got ${segmentBytesMax}`);
  const fsyncSlowMicros = options.fsyncSlowMicros ?? fsyncSlowMicrosDefault;
  if (!Number.isSafeInteger(fsyncSlowMicros) || fsyncSlowMicros < 1) throw new Error(`fsyncSlowMicros must be a positive integer, got ${fsyncSlowMicros}`);
  const batchLingerMs = options.batchLingerMs ?? 0;
  if (!Number.isFinite(batchLingerMs) || batchLingerMs < 0) throw new Error(`batchLingerMs must be 0 or more, got ${batchLingerMs}`);
  const batchBytesMax = options.batchBytesMax ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(batchBytesMax) || batchBytesMax < 1) throw new Error(`batchBytesMax must be a positive integer, got ${batchBytesMax}`);
  const log: StorageLog = options.log ?? (() => undefined);
  return {
    walDir: walDirectory(dir),
    policy: options.fsync,
    segmentBytesMax,
    fsyncSlowMicros,
    batchLingerMs,
    batchBytesMax,
    log,
    onFsync: options.onFsync ?? (() => undefined),
  };
}

/**
 * Cuts a torn final record, first keeping a durable copy of the cut bytes so an
 * operator can look at what was lost. Returns the warning to report.
 */
async function cutTornTail(walDir: string, torn: TornTail): Promise<string> {
  const path = join(walDir, torn.file);
  const cut = (await readFile(path)).subarray(torn.offset);
  const brokenPath = await freeBrokenPath(path);
  await writeNewFileDurable(brokenPath, cut);
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(torn.offset);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return (
    `truncated a torn final record in ${path} at offset ${torn.offset}: cut ${torn.bytes} bytes (${torn.why}); ` +
    `a copy of them is in ${brokenPath}. This is expected after a crash mid-write.`
  );
}

async function freeBrokenPath(segmentPath: string): Promise<string> {
  for (let copy = 1; copy <= brokenCopiesPerSegmentMax; copy += 1) {
    const candidate = copy === 1 ? `${segmentPath}.broken` : `${segmentPath}.broken.${copy}`;
    if (!(await exists(candidate))) return candidate;
  }
  throw new Error(`${segmentPath} already has ${brokenCopiesPerSegmentMax} .broken copies; remove old ones`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
