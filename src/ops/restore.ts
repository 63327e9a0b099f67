// `paxos snapshot restore`: seed the data dir of one member of a new cluster
// from a backup file. The dir gets the backup's snapshot at slot S (without
// the old cluster's membership) and a new identity that says where it came
// from (identity.json, restoredFrom). Started with the same --peers, the
// restored members found the new cluster through the normal bootstrap
// exchange, from slot S + 1, and only with dirs restored from the same file
// (core/node.ts, the bootstrap base). Run on every member; each gets its own
// incarnation, the same cluster id and the same state.
import { mkdir, readdir } from 'node:fs/promises';
import type { NodeId, Slot } from '../node/core/messages.js';
import { CorruptSnapshotError, errorCode } from '../node/storage/errors.js';
import { clusterIdFor, newIncarnation, writeIdentity, type RestoredFrom } from '../node/storage/identity.js';
import { lockDataDir } from '../node/storage/lock.js';
import { decodeSnapshot, encodeSnapshot, writeSnapshot } from '../node/storage/snapshot.js';
import { ReplicatedService } from '../node/statemachine/sessions.js';
import type { StateMachineFactory } from '../node/statemachine/types.js';
import { BackupFileError, readBackupSnapshot } from './backup-file.js';

export interface RestoreOptions {
  /** The backup file (paxos snapshot save). */
  file: string;
  dataDir: string;
  id: NodeId;
  /** The node ids of the new cluster (--peers), this one among them. */
  peers: NodeId[];
  clusterToken: string;
  /** Keep the backup's cluster id instead of making a new one (see restoredClusterId). */
  keepClusterId: boolean;
  /** The state machine the new cluster runs: its identity must be the backup's, and it must restore the state. */
  stateMachine: { identity: string; factory: StateMachineFactory };
}

export interface RestoreResult {
  dataDir: string;
  id: NodeId;
  peers: NodeId[];
  clusterId: string;
  keptClusterId: boolean;
  /** The cluster the backup came from. */
  fromClusterId: string;
  slot: Slot;
  sha256: string;
  stateMachine: string;
  incarnation: string;
}

export type RestoreRefusalCode = 'damaged' | 'not_empty' | 'other_state_machine' | 'unrestorable' | 'not_in_peers';

/** Restore refused: nothing was written (or, for not_empty, the dir was left as it was). */
export class RestoreRefusal extends Error {
  constructor(
    readonly code: RestoreRefusalCode,
    message: string,
  ) {
    super(message);
    this.name = 'RestoreRefusal';
  }
}

/**
 * The new cluster's id. By default a new one, from the token, the node ids and
 * the backup's sha256: the same on every member restored from the file (each
 * restore runs alone), and never the id of the cluster the backup came from,
 * so a node of the old cluster that still runs can never talk to the new one
 * (its handshake names another cluster). `keep` reuses the backup's id, for
 * clients and tools that pin it; only when the old cluster is gone for good.
 */
export function restoredClusterId(options: { clusterToken: string; peers: NodeId[]; sha256: string; keep: boolean; fromClusterId: string }): string {
  if (options.keep) return options.fromClusterId;
  return clusterIdFor(`${options.clusterToken}\u0000restored-from\u0000${options.sha256}`, options.peers);
}

export async function restoreDataDir(options: RestoreOptions): Promise<RestoreResult> {
  if (!options.peers.includes(options.id)) {
    throw new RestoreRefusal('not_in_peers', `--id ${options.id} is not one of the nodes in --peers (${options.peers.join(', ')})`);
  }
  // Sizes, the sha256 over every byte, the header: a flipped byte anywhere is refused here.
  let backup;
  try {
    backup = await readBackupSnapshot(options.file);
  } catch (error) {
    if (error instanceof BackupFileError) throw new RestoreRefusal('damaged', error.message);
    throw error;
  }
  const { summary } = backup;
  let snapshot;
  try {
    snapshot = decodeSnapshot(backup.snapshot, options.file);
  } catch (error) {
    if (error instanceof CorruptSnapshotError) throw new RestoreRefusal('damaged', `${options.file} is not a usable backup: its snapshot ${error.message}`);
    throw error;
  }
  if (snapshot.slot !== summary.slot) throw new RestoreRefusal('damaged', `${options.file} is not a usable backup: its header says slot ${summary.slot}, its snapshot is of slot ${snapshot.slot}`);
  if (summary.stateMachine !== options.stateMachine.identity) {
    throw new RestoreRefusal(
      'other_state_machine',
      `${options.file} holds the state of state machine ${summary.stateMachine}, but the restore was given ${options.stateMachine.identity}: ` +
        `another machine would read that state differently from what the old cluster computed. Pass the module it was taken with (--state-machine), ` +
        `or none for the built-in store (builtin:kv@1)`,
    );
  }
  try {
    ReplicatedService.fromSnapshot(options.stateMachine.factory, snapshot.state);
  } catch (error) {
    throw new RestoreRefusal('unrestorable', `state machine ${summary.stateMachine} cannot restore the state in ${options.file}: ${(error as Error).message}`);
  }
  await refuseNonEmpty(options.dataDir);
  const clusterId = restoredClusterId({ clusterToken: options.clusterToken, peers: options.peers, sha256: summary.sha256, keep: options.keepClusterId, fromClusterId: summary.clusterId });
  const peers = [...new Set(options.peers)].sort((a, b) => a - b);
  const restoredFrom: RestoredFrom = { slot: summary.slot, sha256: summary.sha256, clusterId: summary.clusterId, peers, at: new Date().toISOString() };
  const incarnation = newIncarnation();
  // Locked, as a node would hold it: a node started on the dir meanwhile waits or is refused.
  const release = await lockDataDir(options.dataDir, { log: () => undefined });
  try {
    // The snapshot first, the identity last: start-up refuses snapshots without identity.json (a restore cut short).
    await writeSnapshot(options.dataDir, snapshot.slot, encodeSnapshot({ ...snapshot, membership: null }));
    await writeIdentity(options.dataDir, {
      nodeId: options.id,
      clusterId,
      createdAt: restoredFrom.at,
      stateMachine: summary.stateMachine,
      origin: 'new',
      incarnation,
      restoredFrom,
    });
  } finally {
    await release();
  }
  return {
    dataDir: options.dataDir,
    id: options.id,
    peers,
    clusterId,
    keptClusterId: options.keepClusterId,
    fromClusterId: summary.clusterId,
    slot: summary.slot,
    sha256: summary.sha256,
    stateMachine: summary.stateMachine,
    incarnation,
  };
}

/** The data dir must not exist or be empty: restore never mixes a backup with what a node wrote. */
async function refuseNonEmpty(dataDir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dataDir);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      await mkdir(dataDir, { recursive: true });
      return;
    }
    if (errorCode(error) === 'ENOTDIR') throw new RestoreRefusal('not_empty', `--data-dir ${dataDir} is a file, not a directory`);
    throw error;
  }
  if (names.length > 0) {
    throw new RestoreRefusal(
      'not_empty',
      `--data-dir ${dataDir} is not empty (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''}): restore seeds a new member's dir and never mixes a backup with a node's own log. ` +
        'Move it aside (keep it until the new cluster serves), or pass another --data-dir; if an earlier restore into it was interrupted, delete it',
    );
  }
}
