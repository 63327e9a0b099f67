// The storage room: the write-ahead log, its record format, the data-dir lock
// and the data dir's identity. The only room besides runtime that touches node:fs.
export { CorruptLogError, CorruptSnapshotError, DataDirLockedError, IdentityError, isStorageError, StorageError, WalClosedError, WalFailedError } from './errors.js';
export type { StorageErrorCode } from './errors.js';
export { ensureDirectoryDurable, fsyncDirectory, writeFileAtomic } from './fsutil.js';
export { clusterIdFor, ensureIdentity, identityFileName, markLogPresent, readIdentity, walSegmentsPresent, writeIdentity } from './identity.js';
export { incarnationAtStart, logLostWarning } from './log-mark.js';
export type { Identity } from './identity.js';
export { lockDataDir, lockFileName, pidFileName, readHolderPid } from './lock.js';
export type { LockOptions, ReleaseLock } from './lock.js';
export {
  encodeRecord,
  recordHeaderBytes,
  recordPayloadBytesMax,
  recordTypeCodes,
  scanSegment,
  snapshotMarkerTypeCode,
  verifyEncodedRecord,
} from './record.js';
export type { Corruption, ScannedRecord, SegmentScan, TornTail } from './record.js';
export { parseSegmentFileName, recordsOf, scanLog, segmentFileName, walDirectory, walDirectoryName } from './segments.js';
export type { LogScan, ScannedSegment } from './segments.js';
export { fsyncPolicies, fsyncSlowMicrosDefault, segmentBytesMaxDefault, WriteAheadLog } from './wal.js';
export type { FsyncPolicy, StorageLog, StorageLogLevel, WalOpenResult, WalOptions, WalStats } from './wal.js';
export {
  decodeSnapshot,
  encodeSnapshot,
  listSnapshots,
  pruneSnapshots,
  readLatestSnapshot,
  snapshotBytesMax,
  snapshotDirectory,
  snapshotFileName,
  snapshotsKeptMax,
  writeSnapshot,
} from './snapshot.js';
export type { Snapshot, SnapshotListing } from './snapshot.js';
