// The state machine room: the contract a replicated service implements, the
// built-in key-value store, the client-session table that makes retries safe,
// and the parsing and printing `paxos submit` uses for the built-in store.
export { CommandRefused, SnapshotInvalid, type StateMachine, type StateMachineFactory } from './types.js';
export { createKeyValueStore, keyValueSnapshotFormat, refusalValueCharsMax } from './kv.js';
export {
  type KeyValueOp,
  type KeyValueVerb,
  type VerbShape,
  checkKeyValueOp,
  keyBytesMax,
  keyValueVerbs,
  parseInteger,
  valueBytesMax,
} from './verbs.js';
export {
  type CommandOutcome,
  type Registration,
  ReplicatedService,
  type ReplicatedServiceOptions,
  type SessionErrorCode,
  clientIdBytesMax,
  clientNonceCharsMax,
  clientSessionsMaxDefault,
  refusalMessageCharsMax,
  registrationSeq,
  serviceSnapshotFormat,
  serviceSnapshotVersion,
  sessionErrors,
  sessionWindow,
} from './sessions.js';
export { type ParseOptions, UsageError, keyValueUsage, parseKeyValueWords, renderResult } from './parse.js';
export { type JsonValue, encodeCanonicalJson, renderJson, valueDepthMax } from './values.js';
export { snapshotVersion } from './snapshot-codec.js';
