// Which cluster and which node a data dir belongs to, and which state machine
// its log was applied to. A node started with another node's data dir, or with
// a dir from another cluster, would vote with promises it never made; one
// started with another state machine would replay its log into the wrong code
// and diverge from its peers. Start-up refuses all three.
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, errorCode, IdentityError } from './errors.js';
import { ensureDirectoryDurable, writeFileAtomic } from './fsutil.js';
import { incarnationAtStart } from './log-mark.js';
import { parseSegmentFileName, walDirectory } from './segments.js';

export const identityFileName = 'identity.json';

/** Bumped when identity.json changes shape; a newer file is refused rather than misread. */
const identityFormat = 1;
/** identity.json is a few dozen bytes; anything far larger is not ours. */
const identityBytesMax = 64 * 1024;
/** Changing this prefix changes every cluster id: never do it. */
const clusterIdPrefix = 'paxos-cluster-id-v1';
/** Hex characters kept of the sha256: 64 bits, plenty to tell clusters apart. */
const clusterIdChars = 16;
/** Cluster ids are compared, logged and sent in every handshake; keep them short. */
const clusterIdCharsMax = 128;

export interface Identity {
  nodeId: number;
  clusterId: string;
  /** ISO 8601 time the data dir was initialised. */
  createdAt: string;
  /**
   * The identity of the state machine the log is applied to (`builtin:kv@1`,
   * `name@version`, `sha256:...`). Absent from files written before it was
   * recorded; the next start records it.
   */
  stateMachine?: string;
  /**
   * How the data dir began: `new` (the first start of a brand-new cluster,
   * voting at once) or `existing` (possibly a replaced disk, rebuilding before
   * it votes). Absent from files written before it was recorded: read as new.
   */
  origin?: 'new' | 'existing';
  /**
   * This data dir's incarnation: random, made when the dir is created and
   * durable before the node first speaks. Votes count per (node id,
   * incarnation), so a wiped disk comes back as a new member. Absent from
   * files of older versions; the next start records one.
   */
  incarnation?: string;
  /**
   * True once this incarnation's wal/ held a segment: written (atomically,
   * durably) after the log is first opened and before the node first speaks,
   * so a marked incarnation whose wal/ is empty has lost the votes it cast
   * (log-mark.ts). Absent: the log was never opened under this incarnation.
   */
  hasLog?: boolean;
  /** The incarnation this one replaced because its log was found lost, and when (the latest such loss only). */
  replacedAfterLogLoss?: { incarnation: string; at: string };
  /**
   * Set by `paxos snapshot restore`: the dir was seeded from a backup whose
   * snapshot covers slots 1..slot. It founds a new cluster only with the
   * other dirs restored from the same file (same sha256) for the same node
   * ids, and never joins a running one (docs/operations.md).
   */
  restoredFrom?: RestoredFrom;
}

export interface RestoredFrom {
  /** The backup's slot: the new cluster's first slot is slot + 1. */
  slot: number;
  /** The backup file's sha256, as `paxos snapshot inspect` prints it. */
  sha256: string;
  /** The cluster the backup was taken from. */
  clusterId: string;
  /** The node ids of the new cluster, as restore was given them in --peers. */
  peers: number[];
  /** ISO 8601 time of the restore. */
  at: string;
}

/** What a restored data dir's bootstrap exchange names it by (PaxosNode's bootstrap base): the backup's slot and sha256. */
export function restoredBase(restored: RestoredFrom): string {
  return `${restored.slot}:${restored.sha256}`;
}

/** A new random incarnation: 64 bits of hex. */
export function newIncarnation(): string {
  return randomBytes(8).toString('hex');
}

/** A state machine identity is compared and logged; the wire allows 256 characters, so does the file. */
const stateMachineCharsMax = 256;

/**
 * The cluster id: derived from the cluster token and the set of node ids, never
 * from addresses (one node's view of another's address may differ from a third's).
 */
export function clusterIdFor(token: string, nodeIds: number[]): string {
  const sorted = [...nodeIds].sort((a, b) => a - b);
  for (let index = 0; index < sorted.length; index += 1) {
    if (!Number.isSafeInteger(sorted[index]) || sorted[index] < 1) throw new Error(`node ids must be positive integers, got ${sorted[index]}`);
    if (index > 0 && sorted[index] === sorted[index - 1]) throw new Error(`node id ${sorted[index]} appears twice`);
  }
  // NUL separators: no token can make two different (token, ids) pairs hash alike.
  const material = `${clusterIdPrefix}\0${token}\0${sorted.join(',')}`;
  return createHash('sha256').update(material, 'utf8').digest('hex').slice(0, clusterIdChars);
}

/** The identity in `dir/identity.json`, or null if the dir has none yet. */
export async function readIdentity(dir: string): Promise<Identity | null> {
  const path = join(dir, identityFileName);
  let text: string;
  try {
    const size = (await stat(path)).size;
    if (size > identityBytesMax) throw invalid(path, `it is ${size} bytes, more than ${identityBytesMax}`);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw error;
  }
  return parseIdentity(path, text);
}

/** Writes `dir/identity.json` atomically and durably (temp file, fsync, rename, fsync dir). */
export async function writeIdentity(dir: string, identity: Identity): Promise<void> {
  const problem = identityProblem(identity);
  if (problem !== null) throw new Error(`refusing to write an invalid identity: ${problem}`);
  await ensureDirectoryDurable(dir);
  const document = {
    format: identityFormat,
    nodeId: identity.nodeId,
    clusterId: identity.clusterId,
    createdAt: identity.createdAt,
    ...(identity.stateMachine === undefined ? {} : { stateMachine: identity.stateMachine }),
    ...(identity.origin === undefined ? {} : { origin: identity.origin }),
    ...(identity.incarnation === undefined ? {} : { incarnation: identity.incarnation }),
    ...(identity.hasLog === true ? { hasLog: true } : {}),
    ...(identity.replacedAfterLogLoss === undefined ? {} : { replacedAfterLogLoss: { ...identity.replacedAfterLogLoss } }),
    ...(identity.restoredFrom === undefined ? {} : { restoredFrom: { ...identity.restoredFrom, peers: [...identity.restoredFrom.peers] } }),
  };
  await writeFileAtomic(join(dir, identityFileName), `${JSON.stringify(document, null, 2)}\n`);
}

/**
 * On first start records which node of which cluster owns `dir`, and which
 * state machine its log is applied to; afterwards refuses a dir that belongs
 * to another cluster (WRONG_CLUSTER), node (WRONG_NODE) or state machine
 * (WRONG_STATE_MACHINE). A file from before the state machine was recorded is
 * accepted, and the state machine recorded in it. Call it with the data dir
 * locked and before opening the log.
 */
export async function ensureIdentity(
  dir: string,
  expected: { nodeId: number; clusterId: string; stateMachine: string; origin?: 'new' | 'existing' },
): Promise<EnsuredIdentity> {
  const found = await readIdentity(dir);
  if (found === null) {
    await refuseOrphanLog(dir);
    const identity: Identity = { ...expected, createdAt: new Date().toISOString(), incarnation: newIncarnation() };
    await writeIdentity(dir, identity);
    return { identity, created: true, logLost: null };
  }
  if (found.clusterId !== expected.clusterId) {
    throw new IdentityError(
      'WRONG_CLUSTER',
      `data dir ${dir} belongs to cluster ${found.clusterId}, but this node was started for cluster ${expected.clusterId} ` +
        '(the cluster id comes from --cluster-token and the node ids in --peers); ' +
        'start it with the same token and peers as before, or give it a new empty --data-dir to join this cluster',
    );
  }
  if (found.nodeId !== expected.nodeId) {
    throw new IdentityError(
      'WRONG_NODE',
      `data dir ${dir} belongs to node ${found.nodeId}, but this node was started with --id ${expected.nodeId}; ` +
        "a node must never run on another node's data dir: pass the right --id or --data-dir",
    );
  }
  if (found.stateMachine === undefined) {
    // Written before the state machine was recorded: it can only be the one that runs now, or peers would have refused it.
    const identity: Identity = { ...found, stateMachine: expected.stateMachine, incarnation: found.incarnation ?? newIncarnation() };
    await writeIdentity(dir, identity);
    return { identity, created: false, logLost: null };
  }
  if (found.stateMachine !== expected.stateMachine) throw wrongStateMachine(dir, found.stateMachine, expected.stateMachine);
  const decision = incarnationAtStart(found, await walSegmentsPresent(dir));
  if (decision.kind === 'add-incarnation') {
    // Written by an older version: this dir gets its incarnation now, durable before the node speaks.
    const withIncarnation: Identity = { ...found, incarnation: newIncarnation() };
    await writeIdentity(dir, withIncarnation);
    return ensureIdentity(dir, expected);
  }
  if (decision.kind === 'log-lost') {
    // Durable before the log is opened again: a crash from here on restarts as the new incarnation, unmarked.
    const lost = found.incarnation as string;
    const { hasLog: _lostLog, ...kept } = found;
    const renewed: Identity = { ...kept, incarnation: newIncarnation(), replacedAfterLogLoss: { incarnation: lost, at: new Date().toISOString() } };
    await writeIdentity(dir, renewed);
    return { identity: renewed, created: false, logLost: lost };
  }
  return { identity: found, created: false, logLost: null };
}

export interface EnsuredIdentity {
  identity: Identity;
  /** The dir had no identity.json: a new one (with a new incarnation) was written. */
  created: boolean;
  /** The incarnation whose log was found lost (it was replaced by identity.incarnation), or null. */
  logLost: string | null;
}

/**
 * Marks the identity's incarnation as having a log. Call it once the log is
 * open (its first segment created and its name durable) and before the node
 * sends anything: from then on a wal/ without a segment means a lost log. A
 * crash before the mark leaves an unmarked incarnation with its segment, which
 * starts normally; one after leaves a marked one with its segment.
 */
export async function markLogPresent(dir: string, identity: Identity): Promise<Identity> {
  if (identity.hasLog === true) return identity;
  if (!(await walSegmentsPresent(dir))) throw new Error(`refusing to mark the log of ${dir} present: wal/ holds no segment`);
  const marked: Identity = { ...identity, hasLog: true };
  await writeIdentity(dir, marked);
  return marked;
}

/** Whether wal/ holds at least one segment file (empty or not). */
export async function walSegmentsPresent(dir: string): Promise<boolean> {
  let names: string[];
  try {
    names = await readdir(walDirectory(dir));
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
  return names.some((name) => parseSegmentFileName(name) !== null);
}

function wrongStateMachine(dir: string, recorded: string, started: string): IdentityError {
  return new IdentityError(
    'WRONG_STATE_MACHINE',
    `data dir ${dir} holds a log applied to state machine ${recorded}, but this node was started with state machine ${started}; ` +
      'replaying that log into another machine would give it another state than its peers, which refuse it anyway. ' +
      `Start it with the state machine it was created with (--state-machine of ${recorded}); ` +
      'to move the whole cluster to the new one, either give the new module the same name and version exports ' +
      '(only if it reads the old commands and snapshots exactly as the old one did), ' +
      'or start every node on an empty --data-dir',
  );
}

/**
 * identity.json is written before the log is first opened, so a log without an
 * identity was copied or tampered with: we cannot tell whose promises it holds.
 */
async function refuseOrphanLog(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(walDirectory(dir));
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw error;
  }
  for (const name of names) {
    if (parseSegmentFileName(name) === null) continue;
    if ((await stat(join(walDirectory(dir), name))).size === 0) continue;
    throw new IdentityError(
      'IDENTITY_INVALID',
      `data dir ${dir} holds a write-ahead log but no ${identityFileName}, so it is unknown which node and cluster it belongs to; ` +
        'restore the identity file from a backup, or move the dir aside and start this node on an empty --data-dir',
    );
  }
}

function parseIdentity(path: string, text: string): Identity {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw invalid(path, `it is not JSON (${describe(error)})`);
  }
  if (typeof document !== 'object' || document === null) throw invalid(path, 'it is not a JSON object');
  const fields = document as Record<string, unknown>;
  if (fields.format !== identityFormat) throw invalid(path, `its format is ${String(fields.format)}, this version reads ${identityFormat}`);
  const identity = {
    nodeId: fields.nodeId,
    clusterId: fields.clusterId,
    createdAt: fields.createdAt,
    stateMachine: fields.stateMachine,
    origin: fields.origin,
    incarnation: fields.incarnation,
    hasLog: fields.hasLog,
    replacedAfterLogLoss: fields.replacedAfterLogLoss,
    restoredFrom: fields.restoredFrom,
  };
  const problem = identityProblem(identity);
  if (problem !== null) throw invalid(path, problem);
  if (identity.stateMachine === undefined) delete identity.stateMachine;
  if (identity.origin === undefined) delete identity.origin;
  if (identity.incarnation === undefined) delete identity.incarnation;
  if (identity.hasLog !== true) delete identity.hasLog;
  if (identity.replacedAfterLogLoss === undefined) delete identity.replacedAfterLogLoss;
  else {
    const replaced = identity.replacedAfterLogLoss as { incarnation: string; at: string };
    identity.replacedAfterLogLoss = { incarnation: replaced.incarnation, at: replaced.at };
  }
  if (identity.restoredFrom === undefined) delete identity.restoredFrom;
  else {
    const restored = identity.restoredFrom as RestoredFrom;
    identity.restoredFrom = { slot: restored.slot, sha256: restored.sha256, clusterId: restored.clusterId, peers: [...restored.peers], at: restored.at };
  }
  return identity as Identity;
}

function identityProblem(identity: {
  nodeId: unknown;
  clusterId: unknown;
  createdAt: unknown;
  stateMachine?: unknown;
  origin?: unknown;
  incarnation?: unknown;
  hasLog?: unknown;
  replacedAfterLogLoss?: unknown;
  restoredFrom?: unknown;
}): string | null {
  if (identity.restoredFrom !== undefined) {
    const problem = restoredFromProblem(identity.restoredFrom);
    if (problem !== null) return `restoredFrom ${problem}`;
  }
  if (identity.hasLog !== undefined && typeof identity.hasLog !== 'boolean') return 'hasLog must be true or false';
  const replaced = identity.replacedAfterLogLoss;
  if (replaced !== undefined) {
    const fields = typeof replaced === 'object' && replaced !== null ? (replaced as Record<string, unknown>) : null;
    if (fields === null || typeof fields.incarnation !== 'string' || !/^[0-9a-f]{1,64}$/.test(fields.incarnation) || typeof fields.at !== 'string' || Number.isNaN(Date.parse(fields.at))) {
      return 'replacedAfterLogLoss must hold an incarnation (hex) and an ISO 8601 time';
    }
  }
  if (identity.incarnation !== undefined && (typeof identity.incarnation !== 'string' || !/^[0-9a-f]{1,64}$/.test(identity.incarnation))) {
    return 'incarnation must be a string of 1 to 64 hex digits';
  }
  if (identity.origin !== undefined && identity.origin !== 'new' && identity.origin !== 'existing') return 'origin must be "new" or "existing"';
  if (typeof identity.nodeId !== 'number' || !Number.isSafeInteger(identity.nodeId) || identity.nodeId < 1) {
    return `nodeId must be a positive integer, got ${String(identity.nodeId)}`;
  }
  if (typeof identity.clusterId !== 'string' || identity.clusterId.length === 0 || identity.clusterId.length > clusterIdCharsMax) {
    return `clusterId must be a string of 1 to ${clusterIdCharsMax} characters`;
  }
  if (typeof identity.createdAt !== 'string' || Number.isNaN(Date.parse(identity.createdAt))) {
    return 'createdAt must be an ISO 8601 time';
  }
  const machine = identity.stateMachine;
  if (machine !== undefined && (typeof machine !== 'string' || machine.length === 0 || machine.length > stateMachineCharsMax)) {
    return `stateMachine must be a string of 1 to ${stateMachineCharsMax} characters`;
  }
  return null;
}

/** Node ids a restore may name: as many as a cluster could have, far fewer than a file could hold. */
const restoredPeersMax = 1024;

function restoredFromProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'must be an object';
  const f = value as Record<string, unknown>;
  if (!Number.isSafeInteger(f.slot) || (f.slot as number) < 1) return 'slot must be a positive integer';
  if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) return 'sha256 must be 64 hex digits';
  if (typeof f.clusterId !== 'string' || f.clusterId.length === 0 || f.clusterId.length > clusterIdCharsMax) return `clusterId must be a string of 1 to ${clusterIdCharsMax} characters`;
  if (!Array.isArray(f.peers) || f.peers.length === 0 || f.peers.length > restoredPeersMax || !f.peers.every((id) => Number.isSafeInteger(id) && (id as number) >= 1)) {
    return `peers must list 1 to ${restoredPeersMax} node ids`;
  }
  if (typeof f.at !== 'string' || Number.isNaN(Date.parse(f.at))) return 'at must be an ISO 8601 time';
  return null;
}

function invalid(path: string, why: string): IdentityError {
  return new IdentityError(
    'IDENTITY_INVALID',
    `${path} is unreadable: ${why}; restore it from a backup, or move the data dir aside and start this node on an empty --data-dir`,
  );
}
