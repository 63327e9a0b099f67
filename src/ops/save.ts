// `paxos snapshot save`: find the leader, ask it for a backup (snapshot_fetch,
// see driver/backup.ts), fetch it a chunk per round trip and write the backup
// file atomically (backup-file.ts). The leader takes the snapshot once a
// linearizable read's slot is applied, so every write acknowledged before the
// save began is in it.
import type { ClusterAddress } from '../client/options.js';
import { NodeConnection, errorMessage } from '../client/connection.js';
import { leaderStatus } from '../client/members.js';
import { parseAddress } from '../client/options.js';
import type { SnapshotFetchResponse } from '../wire/protocol.js';
import { backupFormatVersion, writeBackupFile, type BackupSummary } from './backup-file.js';

/** Redirects followed to reach the leader before giving up. */
export const saveRedirectsMax = 3;
/** Times one chunk request is retried (a timeout, a dropped connection) before the save gives up. */
export const saveChunkRetriesMax = 3;

export interface SaveOptions {
  addresses: readonly ClusterAddress[];
  /** Per request, connect included. */
  timeoutMs: number;
  file: string;
  onProgress?: (received: number, total: number) => void;
}

export class SaveError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'SaveError';
  }
}

export async function saveBackup(options: SaveOptions): Promise<BackupSummary> {
  const leader = await leaderStatus(options.addresses, options.timeoutMs);
  if (leader === null) throw new SaveError('no_leader', 'no leader answered at the cluster addresses (is a majority of the voters up?); check --cluster and retry');
  let address = leader.address;
  for (let redirects = 0; ; redirects += 1) {
    const connection = await NodeConnection.open({ address: parseAddress(address), connectTimeoutMs: options.timeoutMs }).catch((error: unknown) => {
      throw new SaveError('connect_failed', `cannot reach the leader at ${address}: ${errorMessage(error)}`);
    });
    try {
      const first = await connection.request({ type: 'snapshot_fetch', slot: 0, offset: 0 }, options.timeoutMs);
      if (first.type === 'redirect' && first.address !== null && redirects < saveRedirectsMax) {
        address = first.address;
        continue;
      }
      if (first.type === 'error') throw new SaveError(first.code, `${address}: ${first.message}`);
      if (first.type !== 'snapshot_fetch_reply') throw new SaveError('unexpected_reply', `${address} answered the backup request with a ${first.type}; retry`);
      return await fetchAndWrite(connection, first, options);
    } finally {
      connection.close();
    }
  }
}

async function fetchAndWrite(connection: NodeConnection, first: SnapshotFetchResponse, options: SaveOptions): Promise<BackupSummary> {
  const total = first.totalBytes;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    let reply = first;
    let received = 0;
    for (;;) {
      if (reply.offset !== received || reply.slot !== first.slot) throw new SaveError('unexpected_reply', `the node sent offset ${reply.offset} of slot ${reply.slot}, expected ${received} of ${first.slot}; retry`);
      yield reply.data;
      received += reply.data.length;
      options.onProgress?.(received, total);
      if (received >= total) return;
      if (reply.data.length === 0) throw new SaveError('unexpected_reply', 'the node sent an empty chunk before the end; retry');
      reply = await nextChunk(connection, first.slot, received, options.timeoutMs);
    }
  }
  const header = {
    format: backupFormatVersion,
    clusterId: connection.clusterId,
    slot: first.slot,
    stateMachine: connection.stateMachine,
    voters: first.voters,
    learners: first.learners,
    snapshotBytes: total,
    savedAt: new Date().toISOString(),
    from: { node: connection.nodeId, address: connection.address },
  };
  const written = await writeBackupFile(options.file, header, chunks());
  return { ...header, file: options.file, ...written };
}

async function nextChunk(connection: NodeConnection, slot: number, offset: number, timeoutMs: number): Promise<SnapshotFetchResponse> {
  let lastError = '';
  for (let attempt = 0; attempt <= saveChunkRetriesMax; attempt += 1) {
    let reply;
    try {
      reply = await connection.request({ type: 'snapshot_fetch', slot, offset }, timeoutMs);
    } catch (error) {
      lastError = errorMessage(error);
      if (connection.isClosed) break;
      continue;
    }
    if (reply.type === 'snapshot_fetch_reply') return reply;
    if (reply.type === 'error') throw new SaveError(reply.code, `${connection.address}: ${reply.message}`);
    throw new SaveError('unexpected_reply', `${connection.address} answered a chunk request with a ${reply.type}; retry`);
  }
  throw new SaveError('fetch_failed', `fetching the backup from ${connection.address} failed at byte ${offset}: ${lastError}; retry the save`);
}
