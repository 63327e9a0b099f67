// The inspect room: offline tools over data dirs, for `paxos log inspect`. It
// reads through src/node/storage (data-dir.ts reads, log-summary.ts sums up,
// log-check.ts checks) and adds what is for people: value previews, the
// record list, tables, summaries and verdicts. Never a socket, never a lock.
export { InspectTargetError, readDataDir } from '../node/storage/data-dir.js';
export type { DataDirContents } from '../node/storage/data-dir.js';
export { hasErrors, sameValue } from '../node/storage/log-check.js';
export type { LogProblem, ProblemCode, ProblemSeverity } from '../node/storage/log-check.js';
export { summariseContents } from '../node/storage/log-summary.js';
export type { LogSummary } from '../node/storage/log-summary.js';
export { clip, previewCharsMax, valuePreview } from './preview.js';
export { diffDataDirs, inspectContents, inspectLog, inspectRecordTypes, verifyContents, verifyLog } from './records.js';
export type { InspectedRecord, InspectFilter, InspectRecordType, InspectResult } from './records.js';
export { plural, renderDiff, renderProblems, renderRanges, renderRecordTable, renderSummary, renderVerdict } from './render.js';
export { diffContents, diffDataDirsMax, diffPartialRangesMax, distinguishingPreviews, runs } from './diff.js';
export type { DiffDifference, DiffDirectory, DiffResult, MissingSlot, PartialRange, SlotRange } from './diff.js';
