// A simulated disk for the driver (DriverDisk), with the failure model of a
// real one: appends are written, then fsynced, one operation at a time and in
// order; what was written but not fsynced may survive a crash in part (a torn
// write keeps a prefix of the records, even inside one batch); a snapshot is
// durable only once its rename is; a checkpoint writes a fresh log, fsyncs it,
// then drops the old one. Operations can fail (EIO, ENOSPC), and a bit can be
// flipped in a durable record, which the real scanner must then refuse.
import type { Slot, WalRecord } from '../node/core/messages.js';
import type { Done, DriverDisk } from '../node/driver/ports.js';
import { AcceptsInLog, encodeRecord, scanSegment } from '../node/storage/record.js';
import type { Prng } from '../node/core/prng.js';

/** What is on one node's disk: it outlives every incarnation of the node, until the disk is wiped. */
export class SimStore {
  /** The data dir's incarnation (identity.json), or null when the dir has none yet. */
  incarnation: string | null = null;
  /** The log's records that are durable, in order. */
  durable: WalRecord[] = [];
  /** Written to the file but not yet fsynced: a crash keeps some prefix of them. */
  volatile: WalRecord[] = [];
  /** The newest durable snapshot file's bytes. */
  snapshot: { slot: Slot; bytes: Uint8Array } | null = null;
  /** wal/ holds a segment (the log was opened on this disk, and not lost since). */
  logPresent = false;
  /** identity.json marks its incarnation as having had a log (storage/log-mark.ts). */
  hasLog = false;
  /** identity.json records an incarnation replaced after its log was lost (`replacedAfterLogLoss`): it only joins. */
  replacedAfterLogLoss = false;
  /** Seeded by `paxos snapshot restore` (identity.json's restoredFrom): the bootstrap base, `<slot>:<sha256>`. */
  restoredBase: string | null = null;

  get empty(): boolean {
    return this.durable.length === 0 && this.volatile.length === 0 && this.snapshot === null;
  }

  wipe(): void {
    this.incarnation = null;
    this.durable = [];
    this.volatile = [];
    this.snapshot = null;
    this.logPresent = false;
    this.hasLog = false;
    this.replacedAfterLogLoss = false;
    this.restoredBase = null;
  }

  /**
   * wal/ is gone (deleted by hand, its own volume lost), identity.json kept:
   * every record, durable or not, is lost; the snapshots survive or not.
   */
  loseLog(keepSnapshot: boolean): void {
    this.durable = [];
    this.volatile = [];
    this.logPresent = false;
    if (!keepSnapshot) this.snapshot = null;
  }

  /** The log lost and the node not restarted yet: the next start will take a new incarnation. */
  get logLostPending(): boolean {
    return this.incarnation !== null && this.hasLog && !this.logPresent;
  }
}

/** Where the disk was when its node crashed: the points the simulation must reach. */
export type CrashPoint =
  | 'idle'
  | 'between a log write and its fsync'
  | 'during a log write'
  | 'during a snapshot write'
  | 'between a snapshot and the checkpoint after it'
  | 'during a snapshot install'
  | 'during compaction';

export interface SimDiskFaults {
  /** Chance, now, that one operation fails (EIO or ENOSPC); the node then stops. */
  failureRate: () => number;
  /** Milliseconds one write or one fsync takes, at most. */
  latencyMsMax: number;
}

interface Operation {
  kind: 'append' | 'snapshot' | 'checkpoint';
  run: () => void;
  /** For a snapshot write: taken by this node, or installed from a peer. */
  origin?: 'took' | 'installed';
}

export interface SimDiskContext {
  prng: Prng;
  faults: SimDiskFaults;
  /** Runs `work` `delayMs` from now on the simulation's clock. */
  schedule: (delayMs: number, work: () => void) => void;
  /** Records just became durable (the simulation counts votes and chosen values). */
  onDurable: (records: WalRecord[]) => void;
  /** The disk is about to wait `latencyMs` at `point`: the simulation may crash the node in that window. */
  onWait: (point: CrashPoint, latencyMs: number) => void;
}

/** One incarnation's view of its store: dead once its node crashes, and then never calls back. */
export class SimDisk implements DriverDisk {
  private readonly queue: Operation[] = [];
  private busy: Operation | null = null;
  private phase: 'write' | 'fsync' | 'idle' = 'idle';
  private snapshotPendingCheckpoint: 'took' | 'installed' | null = null;
  private dead = false;
  private written = 0;

  constructor(
    private readonly store: SimStore,
    private readonly context: SimDiskContext,
  ) {}

  get bytesWritten(): number {
    return this.written;
  }

  append(records: WalRecord[], sync: boolean, done: Done): void {
    this.enqueue('append', () =>
      this.step('write', () => {
        this.store.volatile.push(...records);
        this.written += records.reduce((sum, record) => sum + recordBytes(record), 0);
        if (!sync) return this.finish(done);
        this.step('fsync', () => {
          this.sync();
          this.finish(done);
        }, done);
      }, done),
    );
  }

  writeSnapshot(slot: Slot, bytes: Uint8Array, origin: 'took' | 'installed', done: Done): void {
    this.enqueue('snapshot', () =>
      this.step('write', () => {
        // The rename is atomic: before it, nothing; after it, the whole file.
        this.store.snapshot = { slot, bytes };
        this.snapshotPendingCheckpoint = origin;
        this.finish(done);
        if (this.snapshotPendingCheckpoint !== null) this.context.onWait(this.crashPoint(), 0);
      }, done),
      origin,
    );
  }

  checkpoint(records: WalRecord[], done: Done): void {
    this.enqueue('checkpoint', () => {
      // Starting a new segment completes the old one first (the real log fsyncs it).
      this.sync();
      this.step('write', () => {
        this.store.volatile.push(...records);
        this.step('fsync', () => {
          this.sync();
          // Only now are the older segments deleted: the checkpoint restates all they held that still counts.
          this.store.durable = [...records];
          this.snapshotPendingCheckpoint = null;
          this.finish(done);
        }, done);
      }, done);
    });
  }

  /** Where the disk is now, named for the crash-point statistics. */
  crashPoint(): CrashPoint {
    const busy = this.busy;
    if (busy === null) return this.snapshotPendingCheckpoint !== null ? 'between a snapshot and the checkpoint after it' : 'idle';
    if (busy.kind === 'snapshot') return busy.origin === 'installed' ? 'during a snapshot install' : 'during a snapshot write';
    if (busy.kind === 'checkpoint') return this.snapshotPendingCheckpoint === 'installed' ? 'during a snapshot install' : 'during compaction';
    return this.phase === 'fsync' ? 'between a log write and its fsync' : 'during a log write';
  }

  /**
   * The node crashed: nothing more is written, and of what was written but not
   * fsynced a random prefix survives (a torn write may cut a batch anywhere).
   */
  crash(): void {
    if (this.dead) return;
    this.dead = true;
    const kept = this.context.prng.int(0, this.store.volatile.length + 1);
    const survivors = this.store.volatile.slice(0, kept);
    this.store.durable.push(...survivors);
    this.store.volatile = [];
    this.context.onDurable(survivors);
  }

  private enqueue(kind: Operation['kind'], run: () => void, origin?: 'took' | 'installed'): void {
    if (this.dead) return;
    this.queue.push({ kind, run, origin });
    this.next();
  }

  private next(): void {
    if (this.busy !== null || this.dead) return;
    const operation = this.queue.shift();
    if (operation === undefined) return;
    this.busy = operation;
    operation.run();
  }

  /** One phase of an operation, after a random latency; it may fail instead (the node must stop). */
  private step(phase: 'write' | 'fsync', work: () => void, done?: Done): void {
    this.phase = phase;
    const { prng, faults } = this.context;
    const latencyMs = prng.int(0, faults.latencyMsMax + 1);
    this.context.onWait(this.crashPoint(), latencyMs);
    this.context.schedule(latencyMs, () => {
      if (this.dead) return;
      if (done !== undefined && prng.chance(faults.failureRate())) {
        const code = prng.chance(0.5) ? 'EIO' : 'ENOSPC';
        this.busy = null;
        this.phase = 'idle';
        return done(Object.assign(new Error(`${code}: simulated ${phase} failure`), { code }));
      }
      work();
    });
  }

  private finish(done: Done): void {
    this.busy = null;
    this.phase = 'idle';
    done(null);
    this.next();
  }

  private sync(): void {
    const records = this.store.volatile;
    this.store.volatile = [];
    this.store.durable.push(...records);
    this.context.onDurable(records);
  }
}

/** A record's size as the real log writes it (the snapshotLogBytes trigger counts them). */
function recordBytes(record: WalRecord): number {
  return record.type === 'accept' || record.type === 'chosen' ? 16 + 40 * record.value.commands.length : 12;
}

/**
 * Flips one bit inside one durable record that is not the last (a flipped
 * last record looks like a torn write, which no scanner can tell apart), and
 * reports whether the real log scanner refuses the result. Returns null when
 * there is no such record.
 */
export function flipBitAndScan(store: SimStore, prng: Prng): { refused: boolean; why: string } | null {
  if (store.durable.length < 2) return null;
  // Chosen records name their accepts as the real log writes them, so a flip there is tried too.
  const writer = new AcceptsInLog();
  const encoded = store.durable.map((record) => {
    const bytes = encodeRecord(record, { acceptedAt: writer.referenceFor(record) });
    writer.noteWritten(record);
    return bytes;
  });
  const victim = prng.int(0, encoded.length - 1);
  const bytes = Buffer.concat(encoded);
  let offset = 0;
  for (let index = 0; index < victim; index += 1) offset += encoded[index].length;
  const position = offset + prng.int(0, encoded[victim].length);
  bytes[position] ^= 1 << prng.int(0, 8);
  const scan = scanSegment(bytes, 'sim.wal');
  if (scan.corrupt !== null) return { refused: true, why: scan.corrupt.why };
  return { refused: false, why: `record ${victim + 1} of ${encoded.length} had a bit flipped at byte ${position}, and the scanner read ${scan.records.length} records${scan.torn === null ? '' : ' and a torn tail'}` };
}
