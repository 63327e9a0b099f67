// Untrusted msgpack values -> typed messages. Every field is checked for type and
// range, every list and string has a limit, and each parser builds a new plain
// object with exactly the known fields, so nothing a peer adds (extra keys,
// prototypes, exotic msgpackr extension types) reaches the core. Extra keys are
// ignored rather than refused, so a newer peer may add optional fields.
// Hand-written on purpose: this runs on every message.
import type {
  AcceptedEntry,
  Ballot,
  ChosenEntry,
  Command,
  NodeId,
  PeerMessage,
  Slot,
  Value,
} from '../node/core/messages.js';
import { parseMembershipState, type MembershipState } from '../node/core/membership.js';
import { WireError } from './errors.js';
import type {
  ClientRequest,
  ClientResponse,
  CloseReason,
  FaultAction,
  FaultRequest,
  GoodbyeMessage,
  HelloMessage,
  LatencyHistogramReport,
  LatencyWindowReport,
  NodeMetricsReport,
  NodeStatus,
  PeerTrafficReport,
  ReadConsistency,
  SnapshotChunkMessage,
  SnapshotRequestMessage,
  SnapshotUnavailableMessage,
  SnapshotUnavailableReason,
  TransferMessage,
  WelcomeMessage,
} from './protocol.js';
import { leaderTransferCodes, memberActions, readConsistencies, snapshotUnavailableReasons, type LeaderTransferCode, type MemberAction } from './protocol.js';

// ---------------------------------------------------------------------------
// Limits. Each is a ceiling for what one message may carry; the frame limit
// (16 MiB by default) bounds the bytes, these bound the work of checking them.

/** Node ids are small positive integers; a million leaves room and catches garbage. */
export const nodeIdMin = 1;
export const nodeIdMax = 1_000_000;
/**
 * Client commands in one slot's value. The leader batches at most
 * CoreLimits.batchCommandsMax (512 by default), so this is far above any honest value.
 */
export const commandsPerValueMax = 10_000;
/**
 * Accepted entries in one promise. Equal to the default CoreLimits.promiseEntriesMax:
 * the runtime must check at start that the configured value is not larger, or a
 * lagging acceptor's promise would be refused and phase 1 could never finish.
 */
export const acceptedEntriesMax = 100_000;
/**
 * Chosen entries in one chosen_reply. CoreLimits.catchupSlotsMax (256 by default)
 * must not exceed it, or catch-up replies would be refused.
 */
export const chosenEntriesMax = 100_000;
/** Nesting of a command's `op` and of a result: state machines take flat data; deep nesting is an attack. */
export const dataDepthMax = 32;
/** A client id names a session in the replicated session table, so keep it short. */
export const clientIdCharsMax = 128;
/** Cluster ids are derived from a token and node ids; 256 leaves room for a hash or a name. */
export const clusterIdCharsMax = 256;
/** Human-readable texts: goodbye reasons, refusals, error messages. */
export const textCharsMax = 4096;
/** Machine-readable error codes in an error response. */
export const errorCodeCharsMax = 128;
/** host:port as given by an operator (a DNS name is at most 253 characters). */
export const addressCharsMax = 512;
/** A ballot rendered as text in a status reply, such as "12.3". */
export const ballotTextCharsMax = 64;
/** Peers listed in one status reply. */
export const statusPeersMax = 1024;
/** Buckets of a latency histogram in a status reply; nodes send 16, a few dozen is the useful most. */
export const histogramBucketsMax = 64;
/** A state machine identity (`name@version` or a hash) is compared and logged on every peer connection. */
export const stateMachineIdentityCharsMax = 256;
/** A slot's outcome digest is a hex sha256 (nodes send 32 characters of it). */
export const outcomeDigestCharsMax = 128;
/** Peers named in one fault request: a cluster has at most a few dozen nodes. */
export const faultNodesMax = 1024;

/** Every close reason, for checking a goodbye; the object literal makes the compiler list them all. */
const closeReasonSet: ReadonlySet<string> = new Set(
  Object.keys({
    frame_too_large: true,
    decode_failed: true,
    invalid_message: true,
    unknown_type: true,
    wrong_cluster: true,
    wrong_protocol: true,
    unknown_node: true,
    handshake_required: true,
    wrong_state_machine: true,
    shutting_down: true,
    auth_failed: true,
    too_many_connections: true,
  } satisfies Record<CloseReason, true>),
);

// ---------------------------------------------------------------------------
// Entry points.

/** A Paxos message between nodes (after the handshake). */
export function parsePeerMessage(x: unknown): PeerMessage {
  const fields = fieldsOf(x, 'peer message');
  const parse = peerParsers.get(typeOf(fields, 'peer message'));
  if (parse === undefined) throw unknownType(fields, 'peer message');
  return parse(fields);
}

/** A message between nodes on a peer connection: Paxos, or snapshot transfer. */
export function parseNodeMessage(x: unknown): PeerMessage | TransferMessage {
  const fields = fieldsOf(x, 'peer message');
  const type = typeOf(fields, 'peer message');
  if (type === 'snapshot_request') return snapshotRequest(fields);
  if (type === 'snapshot_chunk') return snapshotChunk(fields);
  if (type === 'snapshot_unavailable') return snapshotUnavailable(fields);
  return parsePeerMessage(fields);
}

/** A snapshot chunk carries at most this many bytes (the requester asks for the next one). */
export const snapshotChunkBytesMax = 4 * 1024 * 1024;
/** The largest snapshot a transfer may announce. */
export const snapshotTransferBytesMax = 1024 * 1024 * 1024;

function snapshotRequest(f: Fields): SnapshotRequestMessage {
  return {
    type: 'snapshot_request',
    ...envelope(f, 'snapshot_request'),
    slot: slot(f.slot, 'snapshot_request', 'slot'),
    offset: natural(f.offset, 'snapshot_request', 'offset'),
  };
}

function snapshotChunk(f: Fields): SnapshotChunkMessage {
  const offset = natural(f.offset, 'snapshot_chunk', 'offset');
  const totalBytes = natural(f.totalBytes, 'snapshot_chunk', 'totalBytes');
  if (!(f.data instanceof Uint8Array)) invalid('snapshot_chunk.data must be bytes');
  const data = f.data as Uint8Array;
  if (data.length > snapshotChunkBytesMax) invalid(`snapshot_chunk carries ${data.length} bytes; at most ${snapshotChunkBytesMax}`);
  if (totalBytes > snapshotTransferBytesMax) invalid(`snapshot_chunk announces ${totalBytes} bytes; at most ${snapshotTransferBytesMax}`);
  if (offset + data.length > totalBytes) invalid(`snapshot_chunk runs past its total (${offset} + ${data.length} > ${totalBytes})`);
  return { type: 'snapshot_chunk', ...envelope(f, 'snapshot_chunk'), slot: slot(f.slot, 'snapshot_chunk', 'slot'), offset, totalBytes, data };
}

function snapshotUnavailable(f: Fields): SnapshotUnavailableMessage {
  const reason = f.reason;
  if (typeof reason !== 'string' || !(snapshotUnavailableReasons as readonly string[]).includes(reason)) {
    invalid(`snapshot_unavailable.reason must be one of ${snapshotUnavailableReasons.join(', ')}`);
  }
  return {
    type: 'snapshot_unavailable',
    ...envelope(f, 'snapshot_unavailable'),
    slot: slot(f.slot, 'snapshot_unavailable', 'slot'),
    reason: reason as SnapshotUnavailableReason,
  };
}

/** The first frame on a connection. Anything else first is 'handshake_required'. */
export function parseHello(x: unknown): HelloMessage {
  const fields = fieldsOf(x, 'hello');
  const type = typeOf(fields, 'hello');
  if (type !== 'hello') throw new WireError('handshake_required', `expected hello as the first message, got ${quoted(type)}`);
  return parseHelloFields(fields);
}

/** The listener's answer to a hello. Anything else is 'handshake_required'. */
export function parseHandshakeReply(x: unknown): WelcomeMessage | GoodbyeMessage {
  const fields = fieldsOf(x, 'handshake reply');
  const type = typeOf(fields, 'handshake reply');
  if (type === 'welcome') return parseWelcomeFields(fields);
  if (type === 'goodbye') return parseGoodbyeFields(fields);
  throw new WireError('handshake_required', `expected welcome or goodbye, got ${quoted(type)}`);
}

/** A goodbye may arrive at any time before the other side closes; see isGoodbye. */
export function parseGoodbye(x: unknown): GoodbyeMessage {
  const fields = fieldsOf(x, 'goodbye');
  const type = typeOf(fields, 'goodbye');
  if (type !== 'goodbye') throw new WireError('unknown_type', `expected goodbye, got ${quoted(type)}`);
  return parseGoodbyeFields(fields);
}

/** True when an undecoded value claims to be a goodbye; route it to parseGoodbye. */
export function isGoodbye(x: unknown): boolean {
  return typeof x === 'object' && x !== null && (x as Fields).type === 'goodbye';
}

export function parseClientRequest(x: unknown): ClientRequest {
  const fields = fieldsOf(x, 'client request');
  const type = typeOf(fields, 'client request');
  if (type === 'submit') {
    return {
      type: 'submit',
      id: natural(fields.id, 'submit', 'id'),
      client: clientId(fields.client, 'submit', 'client'),
      seq: natural(fields.seq, 'submit', 'seq'),
      op: data(fields.op, 'submit', 'op'),
    };
  }
  if (type === 'query') {
    return { type: 'query', id: natural(fields.id, 'query', 'id'), op: data(fields.op, 'query', 'op'), consistency: readConsistency(fields.consistency, 'query') };
  }
  if (type === 'status') return { type: 'status', id: natural(fields.id, 'status', 'id') };
  if (type === 'slot_outcome') return { type: 'slot_outcome', id: natural(fields.id, 'slot_outcome', 'id'), slot: slot(fields.slot, 'slot_outcome', 'slot') };
  if (type === 'member') {
    if (typeof fields.action !== 'string' || !(memberActions as readonly string[]).includes(fields.action)) invalid(`member.action must be one of ${memberActions.join(', ')}`);
    return {
      type: 'member',
      id: natural(fields.id, 'member', 'id'),
      action: fields.action as MemberAction,
      node: nodeId(fields.node, 'member', 'node'),
      address: fields.address === null ? null : text(fields.address, 'member', 'address', addressCharsMax),
      learner: boolean(fields.learner, 'member', 'learner'),
      force: boolean(fields.force, 'member', 'force'),
    };
  }
  if (type === 'fault') return faultRequest(fields);
  if (type === 'leader_transfer') {
    return { type: 'leader_transfer', id: natural(fields.id, 'leader_transfer', 'id'), to: fields.to === null ? null : nodeId(fields.to, 'leader_transfer', 'to') };
  }
  if (type === 'snapshot_fetch') {
    const fetchSlot = natural(fields.slot, 'snapshot_fetch', 'slot');
    const offset = natural(fields.offset, 'snapshot_fetch', 'offset');
    if (fetchSlot === 0 && offset !== 0) invalid('snapshot_fetch.offset must be 0 when slot is 0 (a new backup starts at its beginning)');
    return { type: 'snapshot_fetch', id: natural(fields.id, 'snapshot_fetch', 'id'), slot: fetchSlot, offset };
  }
  throw unknownType(fields, 'client request');
}

function readConsistency(x: unknown, owner: string): ReadConsistency {
  if (typeof x !== 'string' || !(readConsistencies as readonly string[]).includes(x)) invalid(`${owner}.consistency must be one of ${readConsistencies.join(', ')}`);
  return x as ReadConsistency;
}

const faultActions: ReadonlySet<unknown> = new Set<FaultAction>(['partition', 'heal', 'delay', 'drop']);

function faultRequest(f: Fields): FaultRequest {
  if (!faultActions.has(f.action)) invalid('fault.action must be partition, heal, delay or drop');
  const rate = duration(f.rate, 'fault', 'rate');
  if (rate > 1) invalid('fault.rate must be between 0 and 1');
  return {
    type: 'fault',
    id: natural(f.id, 'fault', 'id'),
    action: f.action as FaultAction,
    nodes: listOf(f.nodes, 'fault', 'nodes', faultNodesMax, (item, what) => nodeId(item, what, 'node')),
    delayMs: natural(f.delayMs, 'fault', 'delayMs'),
    rate,
  };
}

export function parseClientResponse(x: unknown): ClientResponse {
  const fields = fieldsOf(x, 'client response');
  const parse = clientResponseParsers.get(typeOf(fields, 'client response'));
  if (parse === undefined) throw unknownType(fields, 'client response');
  return parse(fields);
}

// ---------------------------------------------------------------------------
// Peer messages, one parser per Paxos message.

type Fields = Readonly<Record<string, unknown>>;

type ParserTable<M extends { type: string }> = { [K in M['type']]: (fields: Fields) => Extract<M, { type: K }> };

const peerParserTable: ParserTable<PeerMessage> = {
  prevote: (f) => ({ type: 'prevote', ...envelope(f, 'prevote') }),
  prevote_reply: (f) => ({ type: 'prevote_reply', ...envelope(f, 'prevote_reply'), granted: boolean(f.granted, 'prevote_reply', 'granted') }),
  prepare: (f) => ({
    type: 'prepare',
    ...envelope(f, 'prepare'),
    ballot: ballot(f.ballot, 'prepare.ballot'),
    fromSlot: slot(f.fromSlot, 'prepare', 'fromSlot'),
    // Absent on an ordinary prepare; only `true` when present (a leadership transfer's campaign).
    ...(f.blessed === undefined ? {} : { blessed: trueOnly(f.blessed, 'prepare', 'blessed') }),
  }),
  timeout_now: (f) => ({
    type: 'timeout_now',
    ...envelope(f, 'timeout_now'),
    ballot: ballot(f.ballot, 'timeout_now.ballot'),
    incarnation: incarnation(f.incarnation, 'timeout_now'),
    commitIndex: slot(f.commitIndex, 'timeout_now', 'commitIndex'),
  }),
  promise: (f) => ({
    type: 'promise',
    ...envelope(f, 'promise'),
    incarnation: incarnation(f.incarnation, 'promise'),
    ballot: ballot(f.ballot, 'promise.ballot'),
    fromSlot: slot(f.fromSlot, 'promise', 'fromSlot'),
    accepted: listOf(f.accepted, 'promise', 'accepted', acceptedEntriesMax, acceptedEntry),
    chosen: listOf(f.chosen, 'promise', 'chosen', chosenEntriesMax, chosenEntry),
    catchUpTo: slot(f.catchUpTo, 'promise', 'catchUpTo'),
  }),
  accept: (f) => ({
    type: 'accept',
    ...envelope(f, 'accept'),
    ballot: ballot(f.ballot, 'accept.ballot'),
    slot: slot(f.slot, 'accept', 'slot'),
    value: value(f.value, 'accept.value'),
    commitIndex: slot(f.commitIndex, 'accept', 'commitIndex'),
  }),
  accepted: (f) => ({
    type: 'accepted',
    ...envelope(f, 'accepted'),
    incarnation: incarnation(f.incarnation, 'accepted'),
    ballot: ballot(f.ballot, 'accepted.ballot'),
    slot: slot(f.slot, 'accepted', 'slot'),
    commitIndex: slot(f.commitIndex, 'accepted', 'commitIndex'),
  }),
  nack: (f) => ({
    type: 'nack',
    ...envelope(f, 'nack'),
    ballot: ballot(f.ballot, 'nack.ballot'),
    promised: ballot(f.promised, 'nack.promised'),
  }),
  heartbeat: (f) => ({
    type: 'heartbeat',
    ...envelope(f, 'heartbeat'),
    ballot: ballot(f.ballot, 'heartbeat.ballot'),
    commitIndex: slot(f.commitIndex, 'heartbeat', 'commitIndex'),
    round: natural(f.round, 'heartbeat', 'round'),
  }),
  heartbeat_reply: (f) => ({
    type: 'heartbeat_reply',
    ...envelope(f, 'heartbeat_reply'),
    ballot: ballot(f.ballot, 'heartbeat_reply.ballot'),
    round: natural(f.round, 'heartbeat_reply', 'round'),
    incarnation: incarnation(f.incarnation, 'heartbeat_reply'),
    commitIndex: slot(f.commitIndex, 'heartbeat_reply', 'commitIndex'),
  }),
  chosen_request: (f) => {
    const fromSlot = slot(f.fromSlot, 'chosen_request', 'fromSlot');
    const toSlot = slot(f.toSlot, 'chosen_request', 'toSlot');
    // An empty range is a bug in the asking replica, not something to answer.
    if (toSlot < fromSlot) invalid(`chosen_request asks for slots ${fromSlot}..${toSlot}, an empty range`);
    return { type: 'chosen_request', ...envelope(f, 'chosen_request'), fromSlot, toSlot };
  },
  chosen_reply: (f) => ({
    type: 'chosen_reply',
    ...envelope(f, 'chosen_reply'),
    entries: listOf(f.entries, 'chosen_reply', 'entries', chosenEntriesMax, chosenEntry),
    commitIndex: slot(f.commitIndex, 'chosen_reply', 'commitIndex'),
    compactedTo: slot(f.compactedTo, 'chosen_reply', 'compactedTo'),
  }),
  join_query: (f) => ({
    type: 'join_query',
    ...envelope(f, 'join_query'),
    incarnation: incarnation(f.incarnation, 'join_query'),
    window: natural(f.window, 'join_query', 'window'),
    ...(f.base === undefined ? {} : { base: bootstrapBase(f.base, 'join_query') }),
  }),
  join_reply: (f) => ({
    type: 'join_reply',
    ...envelope(f, 'join_reply'),
    incarnation: incarnation(f.incarnation, 'join_reply'),
    window: natural(f.window, 'join_reply', 'window'),
    pristine: boolean(f.pristine, 'join_reply', 'pristine'),
    view: listOf(f.view, 'join_reply', 'view', viewEntriesMax, (x, what) => {
      const e = fieldsOf(x, what);
      return { id: nodeId(e.id, what, 'id'), incarnation: incarnation(e.incarnation, what) };
    }),
    membership: f.membership === null ? null : membershipState(f.membership, 'join_reply.membership'),
    ...(f.base === undefined ? {} : { base: bootstrapBase(f.base, 'join_reply') }),
  }),
};

/** A restored data dir's base, `<slot>:<sha256 hex>` (PaxosNode's bootstrap base); short, so bounded tightly. */
function bootstrapBase(x: unknown, owner: string): string {
  if (typeof x !== 'string' || x.length > bootstrapBaseCharsMax || !/^[1-9][0-9]{0,15}:[0-9a-f]{64}$/.test(x)) invalid(`${owner}.base must be <slot>:<sha256 hex>`);
  return x;
}

const peerParsers = parserMap<PeerMessage>(peerParserTable);

/** Typed so that every PeerMessageType is covered; the map keeps '__proto__' and friends out. */
function parserMap<M extends { type: string }>(table: ParserTable<M>): ReadonlyMap<string, (fields: Fields) => M> {
  return new Map(Object.entries(table) as [string, (fields: Fields) => M][]);
}

/** Nodes one bootstrap view may name: far more than any cluster has. */
const viewEntriesMax = 1024;
/** `<slot, up to 16 digits>:<64 hex>`. */
const bootstrapBaseCharsMax = 81;

function incarnation(x: unknown, owner: string): string {
  const value = text(x, owner, 'incarnation', 64);
  if (value.length === 0) invalid(`${owner}.incarnation must not be empty`);
  return value;
}

function membershipState(x: unknown, what: string): MembershipState {
  const state = parseMembershipState(x);
  if (state === null) invalid(`${what} is not a valid membership state`);
  return state;
}

function envelope(f: Fields, what: string): { from: NodeId; to: NodeId } {
  return { from: nodeId(f.from, what, 'from'), to: nodeId(f.to, what, 'to') };
}

function acceptedEntry(x: unknown, what: string): AcceptedEntry {
  const f = fieldsOf(x, what);
  return { slot: slot(f.slot, what, 'slot'), ballot: ballot(f.ballot, `${what}.ballot`), value: value(f.value, `${what}.value`) };
}

function chosenEntry(x: unknown, what: string): ChosenEntry {
  const f = fieldsOf(x, what);
  return { slot: slot(f.slot, what, 'slot'), value: value(f.value, `${what}.value`) };
}

function ballot(x: unknown, what: string): Ballot {
  const f = fieldsOf(x, what);
  return { round: natural(f.round, what, 'round'), node: natural(f.node, what, 'node') };
}

function value(x: unknown, what: string): Value {
  const f = fieldsOf(x, what);
  return { commands: listOf(f.commands, what, 'commands', commandsPerValueMax, command) };
}

function command(x: unknown, what: string): Command {
  const f = fieldsOf(x, what);
  return { client: clientId(f.client, what, 'client'), seq: natural(f.seq, what, 'seq'), op: data(f.op, what, 'op') };
}

// ---------------------------------------------------------------------------
// Handshake and client messages.

function parseHelloFields(f: Fields): HelloMessage {
  const role = f.role;
  if (role !== 'node' && role !== 'client') invalid('hello.role must be "node" or "client"');
  // A node must say who it is; a client must not claim a node's identity.
  const helloNodeId = role === 'node' ? nodeId(f.nodeId, 'hello', 'nodeId') : nil(f.nodeId, 'hello', 'nodeId');
  const hello: HelloMessage = {
    type: 'hello',
    protocol: natural(f.protocol, 'hello', 'protocol'),
    clusterId: f.clusterId === null ? null : text(f.clusterId, 'hello', 'clusterId', clusterIdCharsMax),
    role,
    nodeId: helloNodeId,
  };
  const machine = optionalIdentity(f.stateMachine, 'hello');
  if (machine !== undefined) hello.stateMachine = machine;
  return hello;
}

/** Optional so that older peers still connect; absent (or nil) means the built-in store. */
function optionalIdentity(x: unknown, owner: string): string | undefined {
  if (x === undefined || x === null) return undefined;
  return text(x, owner, 'stateMachine', stateMachineIdentityCharsMax);
}

function parseWelcomeFields(f: Fields): WelcomeMessage {
  const welcome: WelcomeMessage = {
    type: 'welcome',
    protocol: natural(f.protocol, 'welcome', 'protocol'),
    clusterId: text(f.clusterId, 'welcome', 'clusterId', clusterIdCharsMax),
    nodeId: nodeId(f.nodeId, 'welcome', 'nodeId'),
  };
  const machine = optionalIdentity(f.stateMachine, 'welcome');
  if (machine !== undefined) welcome.stateMachine = machine;
  if (f.frameBytesMax !== undefined && f.frameBytesMax !== null) {
    const limit = natural(f.frameBytesMax, 'welcome', 'frameBytesMax');
    if (limit < 1 || limit > 0xffff_ffff) invalid('welcome.frameBytesMax must be 1 to 4294967295');
    welcome.frameBytesMax = limit;
  }
  return welcome;
}

function parseGoodbyeFields(f: Fields): GoodbyeMessage {
  return {
    type: 'goodbye',
    code: closeReason(f.code, 'goodbye', 'code'),
    reason: text(f.reason, 'goodbye', 'reason', textCharsMax),
  };
}

const clientResponseParserTable: ParserTable<ClientResponse> = {
  result: (f) => ({
    type: 'result',
    id: natural(f.id, 'result', 'id'),
    slot: slot(f.slot, 'result', 'slot'),
    result: data(f.result, 'result', 'result'),
  }),
  refused: (f) => ({
    type: 'refused',
    id: natural(f.id, 'refused', 'id'),
    slot: slot(f.slot, 'refused', 'slot'),
    error: text(f.error, 'refused', 'error', textCharsMax),
  }),
  query_reply: (f) => ({
    type: 'query_reply',
    id: natural(f.id, 'query_reply', 'id'),
    ok: boolean(f.ok, 'query_reply', 'ok'),
    result: data(f.result, 'query_reply', 'result'),
    error: f.error === null ? null : text(f.error, 'query_reply', 'error', textCharsMax),
    appliedSlot: slot(f.appliedSlot, 'query_reply', 'appliedSlot'),
    consistency: readConsistency(f.consistency, 'query_reply'),
    knownChosenSlot: slot(f.knownChosenSlot, 'query_reply', 'knownChosenSlot'),
  }),
  redirect: (f) => ({
    type: 'redirect',
    id: natural(f.id, 'redirect', 'id'),
    leader: f.leader === null ? null : nodeId(f.leader, 'redirect', 'leader'),
    address: f.address === null ? null : text(f.address, 'redirect', 'address', addressCharsMax),
  }),
  error: (f) => ({
    type: 'error',
    id: natural(f.id, 'error', 'id'),
    code: text(f.code, 'error', 'code', errorCodeCharsMax),
    message: text(f.message, 'error', 'message', textCharsMax),
    indeterminate: boolean(f.indeterminate, 'error', 'indeterminate'),
  }),
  status_reply: (f) => ({
    type: 'status_reply',
    id: natural(f.id, 'status_reply', 'id'),
    status: nodeStatus(f.status, 'status_reply.status'),
  }),
  member_reply: (f) => {
    if (f.status !== 'queued' && f.status !== 'refused' && f.status !== 'redirect') invalid('member_reply.status must be queued, refused or redirect');
    return {
      type: 'member_reply',
      id: natural(f.id, 'member_reply', 'id'),
      status: f.status,
      message: text(f.message, 'member_reply', 'message', 4096),
      leader: f.leader === null ? null : nodeId(f.leader, 'member_reply', 'leader'),
      address: f.address === null ? null : text(f.address, 'member_reply', 'address', addressCharsMax),
    };
  },
  leader_transfer_reply: (f) => {
    if (f.status !== 'done' && f.status !== 'failed' && f.status !== 'redirect') invalid('leader_transfer_reply.status must be done, failed or redirect');
    if (f.code !== null && !(leaderTransferCodes as readonly unknown[]).includes(f.code)) invalid(`leader_transfer_reply.code must be nil or one of ${leaderTransferCodes.join(', ')}`);
    const optionalNode = (x: unknown, field: string) => (x === null ? null : nodeId(x, 'leader_transfer_reply', field));
    return {
      type: 'leader_transfer_reply',
      id: natural(f.id, 'leader_transfer_reply', 'id'),
      status: f.status,
      code: f.code as LeaderTransferCode | null,
      message: text(f.message, 'leader_transfer_reply', 'message', 4096),
      certain: boolean(f.certain, 'leader_transfer_reply', 'certain'),
      from: optionalNode(f.from, 'from'),
      to: optionalNode(f.to, 'to'),
      ballot: f.ballot === null ? null : text(f.ballot, 'leader_transfer_reply', 'ballot', 64),
      leader: optionalNode(f.leader, 'leader'),
      address: f.address === null ? null : text(f.address, 'leader_transfer_reply', 'address', addressCharsMax),
      };
    },
  snapshot_fetch_reply: (f) => {
    const offset = natural(f.offset, 'snapshot_fetch_reply', 'offset');
    const totalBytes = natural(f.totalBytes, 'snapshot_fetch_reply', 'totalBytes');
    if (!(f.data instanceof Uint8Array)) invalid('snapshot_fetch_reply.data must be bytes');
    const data = f.data as Uint8Array;
    if (data.length > snapshotChunkBytesMax) invalid(`snapshot_fetch_reply carries ${data.length} bytes; at most ${snapshotChunkBytesMax}`);
    if (totalBytes > snapshotTransferBytesMax) invalid(`snapshot_fetch_reply announces ${totalBytes} bytes; at most ${snapshotTransferBytesMax}`);
    if (offset + data.length > totalBytes) invalid(`snapshot_fetch_reply runs past its total (${offset} + ${data.length} > ${totalBytes})`);
    return {
      type: 'snapshot_fetch_reply',
      id: natural(f.id, 'snapshot_fetch_reply', 'id'),
      slot: slot(f.slot, 'snapshot_fetch_reply', 'slot'),
      offset,
      totalBytes,
      data,
      voters: listOf(f.voters, 'snapshot_fetch_reply', 'voters', statusPeersMax, (x: unknown) => nodeId(x, 'snapshot_fetch_reply', 'voters')),
      learners: listOf(f.learners, 'snapshot_fetch_reply', 'learners', statusPeersMax, (x: unknown) => nodeId(x, 'snapshot_fetch_reply', 'learners')),
    };
  },
  slot_outcome_reply: (f) => ({
    type: 'slot_outcome_reply',
    id: natural(f.id, 'slot_outcome_reply', 'id'),
    slot: slot(f.slot, 'slot_outcome_reply', 'slot'),
    known: boolean(f.known, 'slot_outcome_reply', 'known'),
    digest: f.digest === null ? null : text(f.digest, 'slot_outcome_reply', 'digest', outcomeDigestCharsMax),
    lastApplied: slot(f.lastApplied, 'slot_outcome_reply', 'lastApplied'),
  }),
  fault_reply: (f) => ({
    type: 'fault_reply',
    id: natural(f.id, 'fault_reply', 'id'),
    ok: boolean(f.ok, 'fault_reply', 'ok'),
    message: text(f.message, 'fault_reply', 'message', textCharsMax),
  }),
};

const clientResponseParsers = parserMap<ClientResponse>(clientResponseParserTable);

const nodeRoles: ReadonlySet<unknown> = new Set<NodeStatus['role']>(['leader', 'follower', 'candidate']);

function nodeStatus(x: unknown, what: string): NodeStatus {
  const f = fieldsOf(x, what);
  if (!nodeRoles.has(f.role)) invalid(`${what}.role must be leader, follower or candidate`);
  const status: NodeStatus = {
    id: nodeId(f.id, what, 'id'),
    address: text(f.address, what, 'address', addressCharsMax),
    role: f.role as NodeStatus['role'],
    leader: f.leader === null ? null : nodeId(f.leader, what, 'leader'),
    ballot: text(f.ballot, what, 'ballot', ballotTextCharsMax),
    promised: text(f.promised, what, 'promised', ballotTextCharsMax),
    commitIndex: slot(f.commitIndex, what, 'commitIndex'),
    lastChosen: slot(f.lastChosen, what, 'lastChosen'),
    lastApplied: slot(f.lastApplied, what, 'lastApplied'),
    appliedDigest: text(f.appliedDigest, what, 'appliedDigest', ballotTextCharsMax),
    walBytes: natural(f.walBytes, what, 'walBytes'),
    lastSnapshot: slot(f.lastSnapshot, what, 'lastSnapshot'),
    uptimeMs: duration(f.uptimeMs, what, 'uptimeMs'),
    clusterId: text(f.clusterId, what, 'clusterId', clusterIdCharsMax),
    peers: listOf(f.peers, what, 'peers', statusPeersMax, peerStatus),
  };
  // Optional so that older nodes still answer (our encoder writes an undefined field as nil);
  // when present it is checked like everything else.
  if (f.metrics !== undefined && f.metrics !== null) status.metrics = nodeMetrics(f.metrics, `${what}.metrics`);
  if (f.rebuilding !== undefined && f.rebuilding !== null) status.rebuilding = boolean(f.rebuilding, what, 'rebuilding');
  if (f.member !== undefined && f.member !== null) {
    if (f.member !== 'voter' && f.member !== 'learner' && f.member !== 'none' && f.member !== 'pristine') invalid(`${what}.member must be voter, learner, none or pristine`);
    status.member = f.member;
  }
  if (f.incarnation !== undefined && f.incarnation !== null) status.incarnation = incarnation(f.incarnation, what);
  if (f.configuration !== undefined && f.configuration !== null) {
    const c = fieldsOf(f.configuration, `${what}.configuration`);
    const member = (x: unknown, memberWhat: string) => {
      const m = fieldsOf(x, memberWhat);
      return {
        id: nodeId(m.id, memberWhat, 'id'),
        incarnation: m.incarnation === null ? null : incarnation(m.incarnation, memberWhat),
        address: m.address === null ? null : text(m.address, memberWhat, 'address', addressCharsMax),
      };
    };
    status.configuration = {
      fromSlot: slot(c.fromSlot, `${what}.configuration`, 'fromSlot'),
      voters: listOf(c.voters, `${what}.configuration`, 'voters', statusPeersMax, member),
      learners: listOf(c.learners, `${what}.configuration`, 'learners', statusPeersMax, member),
    };
  }
  if (f.progress !== undefined && f.progress !== null) {
    status.progress = listOf(f.progress, what, 'progress', statusPeersMax, (x, progressWhat) => {
      const p = fieldsOf(x, progressWhat);
      return { id: nodeId(p.id, progressWhat, 'id'), incarnation: incarnation(p.incarnation, progressWhat), commitIndex: slot(p.commitIndex, progressWhat, 'commitIndex'), agoMs: natural(p.agoMs, progressWhat, 'agoMs') };
    });
  }
  if (f.changePending !== undefined && f.changePending !== null) status.changePending = boolean(f.changePending, what, 'changePending');
  const machine = optionalIdentity(f.stateMachine, what);
  if (machine !== undefined) status.stateMachine = machine;
  return status;
}

function peerStatus(x: unknown, what: string): NodeStatus['peers'][number] {
  const f = fieldsOf(x, what);
  return {
    id: nodeId(f.id, what, 'id'),
    address: text(f.address, what, 'address', addressCharsMax),
    connected: boolean(f.connected, what, 'connected'),
  };
}

function nodeMetrics(x: unknown, what: string): NodeMetricsReport {
  const f = fieldsOf(x, what);
  const metrics: NodeMetricsReport = {
    proposalsInFlight: natural(f.proposalsInFlight, what, 'proposalsInFlight'),
    commandsPending: natural(f.commandsPending, what, 'commandsPending'),
    commandsProposed: natural(f.commandsProposed, what, 'commandsProposed'),
    commandsApplied: natural(f.commandsApplied, what, 'commandsApplied'),
    commandsAppliedPerSecond: duration(f.commandsAppliedPerSecond, what, 'commandsAppliedPerSecond'),
    commitLatency: latencyWindow(f.commitLatency, `${what}.commitLatency`),
    commitLatencyHistogram: latencyHistogram(f.commitLatencyHistogram, `${what}.commitLatencyHistogram`),
    fsyncs: natural(f.fsyncs, what, 'fsyncs'),
    fsyncsPerSecond: duration(f.fsyncsPerSecond, what, 'fsyncsPerSecond'),
    fsyncMicrosTotal: natural(f.fsyncMicrosTotal, what, 'fsyncMicrosTotal'),
    fsyncLastMicros: natural(f.fsyncLastMicros, what, 'fsyncLastMicros'),
    fsyncMeanMicros: natural(f.fsyncMeanMicros, what, 'fsyncMeanMicros'),
    walRecordsWritten: natural(f.walRecordsWritten, what, 'walRecordsWritten'),
    walBytesWritten: natural(f.walBytesWritten, what, 'walBytesWritten'),
    leaderChanges: natural(f.leaderChanges, what, 'leaderChanges'),
    peers: listOf(f.peers, what, 'peers', statusPeersMax, peerTraffic),
  };
  // Added after the metrics object itself: optional, so that a node one version older still answers.
  if (f.fsyncLatency !== undefined && f.fsyncLatency !== null) metrics.fsyncLatency = latencyWindow(f.fsyncLatency, `${what}.fsyncLatency`);
  if (f.fsyncLatencyHistogram !== undefined && f.fsyncLatencyHistogram !== null) {
    metrics.fsyncLatencyHistogram = latencyHistogram(f.fsyncLatencyHistogram, `${what}.fsyncLatencyHistogram`);
  }
  return metrics;
}

function latencyWindow(x: unknown, what: string): LatencyWindowReport {
  const f = fieldsOf(x, what);
  return {
    windowSeconds: natural(f.windowSeconds, what, 'windowSeconds'),
    samples: natural(f.samples, what, 'samples'),
    p50Micros: natural(f.p50Micros, what, 'p50Micros'),
    p99Micros: natural(f.p99Micros, what, 'p99Micros'),
    maxMicros: natural(f.maxMicros, what, 'maxMicros'),
  };
}

function latencyHistogram(x: unknown, what: string): LatencyHistogramReport {
  const f = fieldsOf(x, what);
  const boundsMicros = listOf(f.boundsMicros, what, 'boundsMicros', histogramBucketsMax, (item, itemWhat) => natural(item, itemWhat, 'bound'));
  const counts = listOf(f.counts, what, 'counts', histogramBucketsMax, (item, itemWhat) => natural(item, itemWhat, 'count'));
  // A count without its bound (or the other way round) cannot be rendered or compared.
  if (counts.length !== boundsMicros.length) invalid(`${what} has ${boundsMicros.length} bounds but ${counts.length} counts`);
  return { boundsMicros, counts, count: natural(f.count, what, 'count'), sumMicros: natural(f.sumMicros, what, 'sumMicros') };
}

function peerTraffic(x: unknown, what: string): PeerTrafficReport {
  const f = fieldsOf(x, what);
  return {
    id: nodeId(f.id, what, 'id'),
    framesIn: natural(f.framesIn, what, 'framesIn'),
    framesOut: natural(f.framesOut, what, 'framesOut'),
    bytesIn: natural(f.bytesIn, what, 'bytesIn'),
    bytesOut: natural(f.bytesOut, what, 'bytesOut'),
    framesDropped: natural(f.framesDropped, what, 'framesDropped'),
  };
}

// ---------------------------------------------------------------------------
// Field checks. `what` names the field (or the item of a list) in the error.

function invalid(message: string): never {
  throw new WireError('invalid_message', message);
}

function fieldsOf(x: unknown, what: string): Fields {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) invalid(`${what} must be a map`);
  return x as Fields;
}

function typeOf(f: Fields, what: string): string {
  if (typeof f.type !== 'string') invalid(`${what} has no type string`);
  return f.type;
}

function unknownType(f: Fields, what: string): WireError {
  return new WireError('unknown_type', `unknown ${what} type ${quoted(String(f.type))}`);
}

/** Quotes a peer-supplied string for an error message, cut short so logs stay small. */
function quoted(s: string): string {
  const quotedCharsMax = 64;
  return JSON.stringify(s.length > quotedCharsMax ? `${s.slice(0, quotedCharsMax)}...` : s);
}

// Checks take the path of the enclosing map and the field name separately, and
// join them only to report a failure: nothing is concatenated on the happy path.

function natural(x: unknown, owner: string, field: string): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) invalid(`${owner}.${field} must be a non-negative safe integer`);
  return x;
}

function slot(x: unknown, owner: string, field: string): Slot {
  return natural(x, owner, field);
}

function nodeId(x: unknown, owner: string, field: string): NodeId {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < nodeIdMin || x > nodeIdMax) {
    invalid(`${owner}.${field} must be a node id in ${nodeIdMin}..${nodeIdMax}`);
  }
  return x;
}

/** Milliseconds measured by a clock may be fractional. */
function duration(x: unknown, owner: string, field: string): number {
  if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) invalid(`${owner}.${field} must be a non-negative number`);
  return x;
}

function boolean(x: unknown, owner: string, field: string): boolean {
  if (typeof x !== 'boolean') invalid(`${owner}.${field} must be a boolean`);
  return x;
}

function trueOnly(x: unknown, owner: string, field: string): true {
  if (x !== true) invalid(`${owner}.${field} must be true when present`);
  return true;
}

function nil(x: unknown, owner: string, field: string): null {
  if (x !== null) invalid(`${owner}.${field} must be nil`);
  return null;
}

function text(x: unknown, owner: string, field: string, charsMax: number): string {
  if (typeof x !== 'string') invalid(`${owner}.${field} must be a string`);
  if (x.length > charsMax) invalid(`${owner}.${field} is longer than ${charsMax} characters`);
  return x;
}

function clientId(x: unknown, owner: string, field: string): string {
  const id = text(x, owner, field, clientIdCharsMax);
  if (id.length === 0) invalid(`${owner}.${field} must not be empty`);
  return id;
}

function closeReason(x: unknown, owner: string, field: string): CloseReason {
  if (typeof x !== 'string' || !closeReasonSet.has(x)) invalid(`${owner}.${field} must be a known close reason`);
  return x as CloseReason;
}

/**
 * Checks the length before looking at any item, so a huge list costs nothing to
 * refuse. Items report their path as `owner.field[]`; a failure is rethrown with
 * the item's index filled in.
 */
function listOf<T>(
  x: unknown,
  owner: string,
  field: string,
  itemsMax: number,
  parseItem: (item: unknown, what: string) => T,
): T[] {
  if (!Array.isArray(x)) invalid(`${owner}.${field} must be an array`);
  if (x.length > itemsMax) invalid(`${owner}.${field} has ${x.length} items, more than ${itemsMax}`);
  const itemWhat = `${owner}.${field}[]`;
  const items = new Array<T>(x.length);
  let index = 0;
  try {
    for (; index < x.length; index++) items[index] = parseItem(x[index], itemWhat);
  } catch (error) {
    if (!(error instanceof WireError)) throw error;
    throw new WireError(error.code, error.message.replace(itemWhat, `${owner}.${field}[${index}]`));
  }
  return items;
}

/**
 * A state machine's op or result: passed through as decoded, but only if it is
 * plain msgpack data that our own encoder writes back identically. The leader
 * applies the value it decoded while followers apply what it re-encoded, so
 * anything that would not survive the round trip (msgpackr's undefined, Set,
 * Error, RegExp or typed-array extensions, bigints beyond 64 bits) could make
 * replicas diverge, and is refused.
 */
function data(x: unknown, owner: string, field: string): unknown {
  if (!isPlainData(x, dataDepthMax)) {
    invalid(`${owner}.${field} must be plain msgpack data (nil, boolean, number, string, binary, timestamp, array, map) nested at most ${dataDepthMax} deep`);
  }
  return x;
}

const int64Min = -(2n ** 63n);
const uint64Max = 2n ** 64n - 1n;

function isPlainData(x: unknown, depthLeft: number): boolean {
  switch (typeof x) {
    case 'string':
    case 'number':
    case 'boolean':
      return true;
    case 'bigint':
      return x >= int64Min && x <= uint64Max;
    case 'object':
      return x === null || isPlainContainer(x, depthLeft);
    default:
      return false;
  }
}

function isPlainContainer(x: object, depthLeft: number): boolean {
  if (Array.isArray(x)) {
    if (depthLeft === 0) return false;
    for (const item of x) if (!isPlainData(item, depthLeft - 1)) return false;
    return true;
  }
  if (Buffer.isBuffer(x)) return true;
  if (x instanceof Date) return !Number.isNaN(x.getTime());
  if (Object.getPrototypeOf(x) !== Object.prototype) return false;
  if (depthLeft === 0) return false;
  for (const key in x) if (!isPlainData((x as Fields)[key], depthLeft - 1)) return false;
  return true;
}
