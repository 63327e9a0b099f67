/**
 * The `paxos` library: replicate any deterministic service with Multi-Paxos,
 * from TypeScript or JavaScript. The CLI (`paxos node start`, `paxos submit`)
 * is built on the same functions.
 *
 * @example
 * import { startNode, connect, type StateMachine } from 'paxos-rsm';
 *
 * // On each of three machines (or three times in one process, on three ports):
 * const node = await startNode({
 *   id: 1,
 *   peers: new Map([[1, { host: '127.0.0.1', port: 7401 }], [2, { host: '127.0.0.1', port: 7402 }], [3, { host: '127.0.0.1', port: 7403 }]]),
 *   dataDir: './data/n1',
 *   stateMachine: createCounter,
 *   stateMachineIdentity: 'counter@1',
 * });
 *
 * // Anywhere:
 * const client = connect('127.0.0.1:7401,127.0.0.1:7402,127.0.0.1:7403');
 * const outcome = await client.submit(['add', 5], { verify: true });
 *
 * @packageDocumentation
 */

import type { Endpoint as RuntimeEndpoint } from './node/runtime/transport.js';
import {
  createLogger as createRuntimeLogger,
  type LogFields as RuntimeLogFields,
  type Logger as RuntimeLogger,
  type LoggerOptions as RuntimeLoggerOptions,
} from './node/runtime/log.js';
import type { NodeStatus as WireNodeStatus } from './wire/protocol.js';

// Running a replica.
export { startNode, type NodeConfig, type RunningNode } from './node/runtime/node.js';
export { NodeConfigError, resolveNodeConfig } from './node/config.js';
export type { FsyncPolicy } from './node/storage/wal.js';
export { silentLogger } from './node/runtime/log.js';

/** A host (name or IP address) and TCP port: where a node listens, or is dialled. */
export type Endpoint = RuntimeEndpoint;

/** A structured logger: `debug`/`info`/`warn`/`error(message, fields)`, and `child(fields)` for a logger that adds fields. */
export type Logger = RuntimeLogger;

/** Fields attached to a log line. */
export type LogFields = RuntimeLogFields;

/** How {@link createLogger} writes: `level` (debug, info, warn, error), `format` (json or pretty), where to `write` (stderr by default), and base `fields`. */
export type LoggerOptions = RuntimeLoggerOptions;

/** Makes a logger that writes one line per message (one JSON object with `format: 'json'`), on stderr by default. */
export const createLogger: (options: LoggerOptions) => Logger = createRuntimeLogger;

// The state machine contract, the built-in store, and loading a user's module.
export { CommandRefused, SnapshotInvalid, type StateMachine, type StateMachineFactory } from './node/statemachine/types.js';
export { createKeyValueStore } from './node/statemachine/kv.js';
export {
  builtinStateMachineIdentity,
  identityOfFactory,
  loadStateMachine,
  resultBytesMax,
  StateMachineLoadError,
  type LoadedStateMachine,
} from './node/statemachine/loader.js';

// TLS and the shared secret, for nodes and clients (what --tls-* and --secret-file read).
export {
  loadClientTls,
  loadNodeTls,
  peerNamePatternDefault,
  TlsConfigError,
  type ClientCertPolicy,
  type ClientTls,
  type NodeTls,
  type NodeTlsOptions,
  type TlsFiles,
} from './node/runtime/tls.js';
export { secretFromBytes } from './wire/auth.js';

// Talking to a cluster.
export { connect, consistencies, submitTimeoutMsDefault, type ClusterClient, type ClusterProbe, type ConnectOptions, type Consistency, type QueryOptions, type SubmitOptions, type SubmitResult } from './client/api.js';
export { ConnectionPool, type ConnectionPoolOptions } from './client/client.js';
export type { NodeStatusReport, NotAppliedCode, ReadInfo, SubmitOutcome } from './client/client.js';
export type { ClusterAddress } from './client/options.js';
export { verifyWaitMsDefault, type ReplicaVote, type Verification } from './client/verify.js';

/** A node's status, as `paxos status --json` prints it; every field is described in docs/protocol.md and docs/cli.md. */
export type NodeStatus = WireNodeStatus;
