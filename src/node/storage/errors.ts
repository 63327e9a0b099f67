// The error classes of the storage room. Each has a stable `code` so that
// `--json` output and the runtime's exit path can report it without parsing
// messages, and each message says what the operator can do about it.

export type StorageErrorCode =
  | 'WAL_CORRUPT'
  | 'SNAPSHOT_CORRUPT'
  | 'WAL_FAILED'
  | 'WAL_CLOSED'
  | 'DATA_DIR_LOCKED'
  | 'DATA_DIR_INVALID'
  | 'WRONG_CLUSTER'
  | 'WRONG_NODE'
  | 'WRONG_STATE_MACHINE'
  | 'IDENTITY_INVALID';

export class StorageError extends Error {
  readonly code: StorageErrorCode;

  constructor(code: StorageErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StorageError';
    this.code = code;
  }
}

/**
 * A record that is not the torn tail of the last segment failed its checksum or
 * its validation, or a segment is missing. Never skipped: acknowledged promises
 * and accepted values may be behind it, so start-up stops.
 */
export class CorruptLogError extends StorageError {
  readonly file: string;
  readonly offset: number;
  readonly why: string;

  constructor(details: { file: string; offset: number; why: string }) {
    super(
      'WAL_CORRUPT',
      `write-ahead log is corrupt: ${details.file} at byte offset ${details.offset}: ${details.why}. ` +
        'The node will not start on a damaged log, because it could forget promises and accepted values it acknowledged. ' +
        'Keep the data dir for investigation (`paxos log inspect <data-dir> --verify`), then restore this node from its peers: ' +
        'stop it, move its --data-dir aside and start it on an empty one while the other nodes are healthy (see docs/storage.md).',
    );
    this.name = 'CorruptLogError';
    this.file = details.file;
    this.offset = details.offset;
    this.why = details.why;
  }
}

/**
 * A write or fsync failed. The log refuses every later append: after a failed
 * fsync the kernel may have dropped the dirty pages and a retry can "succeed"
 * without the data ever reaching the disk (PostgreSQL's fsyncgate, 2018).
 */
export class WalFailedError extends StorageError {
  constructor(operation: string, cause: unknown) {
    super(
      'WAL_FAILED',
      `write-ahead log ${operation} failed: ${describe(cause)}. ` +
        'Nothing written since the last successful fsync can be trusted, so this log accepts no more appends; ' +
        'stop the node, fix the disk (space, permissions, hardware) and restart it: it recovers from what is on disk.',
      { cause },
    );
    this.name = 'WalFailedError';
  }
}

export class WalClosedError extends StorageError {
  constructor() {
    super('WAL_CLOSED', 'write-ahead log is closed; no more appends are accepted');
    this.name = 'WalClosedError';
  }
}

export class DataDirLockedError extends StorageError {
  readonly holderPid: number | null;

  constructor(message: string, holderPid: number | null) {
    super('DATA_DIR_LOCKED', message);
    this.name = 'DataDirLockedError';
    this.holderPid = holderPid;
  }
}

/** The data dir cannot be created or opened: a file is in its way, or it may not be written. */
export class DataDirInvalidError extends StorageError {
  constructor(dir: string, cause: unknown) {
    super('DATA_DIR_INVALID', `data dir ${dir} cannot be used: ${whyUnusable(cause)}`, { cause });
    this.name = 'DataDirInvalidError';
  }
}

function whyUnusable(cause: unknown): string {
  switch (errorCode(cause)) {
    case 'ENOTDIR':
      return `${describe(cause)}; give --data-dir a directory, or a path where one can be created`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${describe(cause)}); give --data-dir a directory this user may write`;
    case 'EROFS':
      return `the file system is read-only (${describe(cause)}); give --data-dir a writable directory`;
    case 'ENOSPC':
    case 'EDQUOT':
      return `the disk is full (${describe(cause)}); free some space, or give --data-dir a directory on another disk`;
    default:
      return describe(cause);
  }
}

export class IdentityError extends StorageError {
  constructor(code: 'WRONG_CLUSTER' | 'WRONG_NODE' | 'WRONG_STATE_MACHINE' | 'IDENTITY_INVALID', message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = 'IdentityError';
  }
}

export function isStorageError(error: unknown): error is StorageError {
  return error instanceof StorageError;
}

/** The `code` of a Node.js system error (ENOENT, ELOCKED, ...), or undefined. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code: unknown = error.code;
  return typeof code === 'string' ? code : undefined;
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A snapshot file fails its checksum or its format. The latest one is needed: the log before it is gone. */
export class CorruptSnapshotError extends StorageError {
  readonly file: string;
  readonly why: string;

  constructor(details: { file: string; why: string }) {
    super(
      'SNAPSHOT_CORRUPT',
      `snapshot is corrupt: ${details.file}: ${details.why}. ` +
        'The log entries it replaced were deleted, so the node cannot start from it. ' +
        'Keep the data dir for investigation, then restore this node from its peers: move its --data-dir aside ' +
        'and start it on an empty one while the other nodes are healthy (it rebuilds and fetches a snapshot).',
    );
    this.name = 'CorruptSnapshotError';
    this.file = details.file;
    this.why = details.why;
  }
}
