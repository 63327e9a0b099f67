// Messages that are not Paxos: the connection handshake and the client protocol.
// Peer (Paxos) messages are defined by the core in src/node/core/messages.ts.
import type { NodeId, PeerMessage, Slot } from '../node/core/messages.js';

/** Bumped whenever a message changes shape; both sides must speak the same version. */
export const protocolVersion = 1;

/** The first frame on every connection, from the side that connected. */
export interface HelloMessage {
  type: 'hello';
  protocol: number;
  /** The cluster the speaker belongs to. A client that does not know it yet sends null. */
  clusterId: string | null;
  role: 'node' | 'client';
  /** The speaker's node id when role is 'node'. */
  nodeId: NodeId | null;
}

/** The listener's answer to a hello it accepts. */
export interface WelcomeMessage {
  type: 'welcome';
  protocol: number;
  clusterId: string;
  nodeId: NodeId;
}

/** Sent just before a connection is closed on purpose, so the other side can say why. */
export interface GoodbyeMessage {
  type: 'goodbye';
  code: CloseReason;
  reason: string;
}

/** Stable codes for why a connection was closed (logged and reported in --json). */
export type CloseReason =
  | 'frame_too_large'
  | 'decode_failed'
  | 'invalid_message'
  | 'unknown_type'
  | 'wrong_cluster'
  | 'wrong_protocol'
  | 'unknown_node'
  | 'handshake_required'
  | 'shutting_down';

/** A client asks for `op` to be ordered and applied. (client, seq) makes retries safe. */
export interface SubmitRequest {
  type: 'submit';
  /** Request id, unique per connection; echoed in the response. */
  id: number;
  client: string;
  seq: number;
  op: unknown;
}

/** A client asks for the node's status (role, ballot, slots, ...). */
export interface StatusRequest {
  type: 'status';
  id: number;
}

export type ClientRequest = SubmitRequest | StatusRequest;

/** The command was chosen at `slot` and applied; `result` is the state machine's result. */
export interface ResultResponse {
  type: 'result';
  id: number;
  slot: Slot;
  result: unknown;
}

/** The command was chosen at `slot` and applied, but the state machine refused it (it changed nothing). */
export interface RefusedResponse {
  type: 'refused';
  id: number;
  slot: Slot;
  error: string;
}

/** This node does not lead; try `leader` (null when it does not know who does). Nothing was proposed. */
export interface RedirectResponse {
  type: 'redirect';
  id: number;
  leader: NodeId | null;
  address: string | null;
}

/**
 * The node could not complete the request. `indeterminate` is true when the
 * command may still be chosen (it was proposed), false when it certainly was not.
 */
export interface ErrorResponse {
  type: 'error';
  id: number;
  code: string;
  message: string;
  indeterminate: boolean;
}

export interface NodeStatus {
  id: NodeId;
  address: string;
  role: 'leader' | 'follower' | 'candidate';
  leader: NodeId | null;
  ballot: string;
  promised: string;
  commitIndex: Slot;
  lastChosen: Slot;
  lastApplied: Slot;
  /**
   * A hash chain over the values of every applied slot: two replicas with the
   * same lastApplied and the same digest went through the same history.
   */
  appliedDigest: string;
  walBytes: number;
  lastSnapshot: Slot;
  uptimeMs: number;
  clusterId: string;
  peers: { id: NodeId; address: string; connected: boolean }[];
}

export interface StatusResponse {
  type: 'status_reply';
  id: number;
  status: NodeStatus;
}

export type ClientResponse = ResultResponse | RefusedResponse | RedirectResponse | ErrorResponse | StatusResponse;

/** Everything that can travel in a frame. */
export type WireMessage = HelloMessage | WelcomeMessage | GoodbyeMessage | PeerMessage | ClientRequest | ClientResponse;
