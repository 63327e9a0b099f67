// `paxos snapshot save`, the serving side: the leader snapshots its applied
// state once a linearizable read's slot is applied (so the backup holds every
// write acknowledged before the save began), holds those bytes, and serves them
// a chunk per request, as a transfer to a peer does (transfer.ts). One backup
// at a time, so a backup costs at most one snapshot's memory.
import type { NodeId, Slot } from '../core/messages.js';
import type { SnapshotFetchRequest, SnapshotFetchResponse } from '../../wire/protocol.js';

/** Backups a node holds in memory at once (each up to snapshotBytesMax). */
export const backupsHeldMax = 1;

export interface HeldBackup {
  slot: Slot;
  bytes: Buffer;
  voters: NodeId[];
  learners: NodeId[];
  lastActivityMs: number;
  /** The last chunk was sent: kept only so a lost reply can be asked for again, and replaced by the next backup. */
  sent?: boolean;
}

export type BackupChunk = { reply: SnapshotFetchResponse } | { code: string; message: string };

export class BackupHold {
  private held: HeldBackup | null = null;

  constructor(
    private readonly limits: { chunkBytes: number; idleMsMax: number },
    private readonly now: () => number,
  ) {}

  /** Null when a new backup may start; else why not. An abandoned one (quiet for idleMsMax) is dropped. */
  startRefusal(): string | null {
    if (this.held !== null && (this.held.sent === true || this.now() - this.held.lastActivityMs >= this.limits.idleMsMax)) this.held = null;
    if (this.held === null) return null;
    return `another backup (slot ${this.held.slot}) is being saved from this node, at most ${backupsHeldMax} at a time; retry once it is done`;
  }

  /** Holds a new backup and answers its first chunk. */
  start(backup: Omit<HeldBackup, 'lastActivityMs'>, requestId: number): BackupChunk {
    this.held = { ...backup, lastActivityMs: this.now() };
    return this.chunk({ type: 'snapshot_fetch', id: requestId, slot: backup.slot, offset: 0 });
  }

  /**
   * The chunk at the request's offset of the held backup. After the last one it
   * is kept until it goes quiet or the next backup starts: a save whose reply
   * to the last chunk was lost asks again instead of failing whole.
   */
  chunk(request: SnapshotFetchRequest): BackupChunk {
    const held = this.held;
    if (held === null || held.slot !== request.slot) {
      return {
        code: 'backup_gone',
        message: `this node no longer holds the backup at slot ${request.slot} (it was quiet for ${this.limits.idleMsMax} ms, the node restarted, or leadership moved); run the save again`,
      };
    }
    if (request.offset > held.bytes.length) return { code: 'invalid_offset', message: `offset ${request.offset} is past the backup's ${held.bytes.length} bytes` };
    held.lastActivityMs = this.now();
    const data = held.bytes.subarray(request.offset, request.offset + this.limits.chunkBytes);
    if (request.offset + data.length === held.bytes.length) held.sent = true;
    return {
      reply: {
        type: 'snapshot_fetch_reply',
        id: request.id,
        slot: held.slot,
        offset: request.offset,
        totalBytes: held.bytes.length,
        data,
        voters: held.voters,
        learners: held.learners,
      },
    };
  }
}
