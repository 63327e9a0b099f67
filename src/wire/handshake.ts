// The connection handshake, as pure classes like FrameDecoder: frames in,
// frames to send and a verdict out; no socket, no timer. The listener's side
// (ListenerHandshake) takes the frames a new connection sends until it admits
// the connection (as a peer or a client) or refuses it with a close reason;
// the caller keeps the deadline (see `timedOut`). The side of a node dialling
// a peer (PeerDialHandshake) writes the hello and reads the listener's
// answers. The runtime's transport drives both.
//
//   connector -> listener  hello      protocol, cluster, node or client, [nonce]
//   listener  -> connector challenge  only with a shared secret (see auth.ts)
//   connector -> listener  auth       the connector's proof
//   listener  -> connector welcome    or a goodbye with the close reason
//
// With a secret, nothing is admitted (not even which node ids exist) before
// the connector proves it holds it; protocol and cluster are checked first.
// A goodbye may come at any time and is the connection's to handle, not this.
import type { NodeId } from '../node/core/messages.js';
import { challengeFor, checkAuth, ConnectorAuth, helloNonce, isChallenge, parseChallenge, type PendingChallenge } from './auth.js';
import { isWireError, WireError } from './errors.js';
import { builtinStateMachineIdentity, protocolVersion, type CloseReason, type HelloMessage, type WelcomeMessage, type WireMessage } from './protocol.js';
import { parseHandshakeReply, parseHello } from './validate.js';

export interface ListenerHandshakeOptions {
  /** This node's id and cluster, named in the challenge and the welcome. */
  self: NodeId;
  clusterId: string;
  /** Whether a node id is one of this node's peers (this node itself is never one). */
  isPeer(nodeId: NodeId): boolean;
  /** The identity of the state machine this node runs; a peer must run the same. */
  stateMachine: string;
  /** The largest frame body this node reads, told to connectors in the welcome. */
  frameBytesMax: number;
  /** The cluster's shared secret: when set, every connector must prove it holds it. */
  secret: Uint8Array | null;
  /**
   * Under TLS, why the connection's certificate does not fit what the hello
   * claims (a node id its certificate does not name, no certificate), or null.
   * Asked first, before anything else in the hello is believed.
   */
  certificateRefusal?: (hello: HelloMessage) => string | null;
}

/** What the connection should do after a frame. */
export type HandshakeStep =
  /** Send `send` (the challenge) and wait for the next frame, under a fresh deadline. */
  | { kind: 'challenge'; send: WireMessage[] }
  /** Send `send` (the welcome): the connector is peer `nodeId`, or a client. */
  | { kind: 'admitted'; role: 'peer'; nodeId: NodeId; send: WireMessage[] }
  | { kind: 'admitted'; role: 'client'; send: WireMessage[] }
  /** Close the connection with this reason (a goodbye says it to the connector). */
  | HandshakeRefusal;

export interface HandshakeRefusal {
  kind: 'refused';
  code: CloseReason;
  reason: string;
}

export type HandshakePhase = 'hello' | 'auth' | 'admitted' | 'refused';

export class ListenerHandshake {
  private current: HandshakePhase = 'hello';
  /** Between our challenge and the connector's proof: what to check, and the admission it unlocks. */
  private pending: { challenge: PendingChallenge; hello: HelloMessage } | null = null;
  private refusal: HandshakeRefusal | null = null;

  constructor(private readonly options: ListenerHandshakeOptions) {}

  /** Where the handshake is: waiting for a hello, for the proof, or over. */
  get phase(): HandshakePhase {
    return this.current;
  }

  /**
   * Takes the next frame the connector sent. Never throws for what the remote
   * sent: whatever cannot be read is a refusal. Once refused, every later frame
   * gets the same refusal; after admission, frames are no longer the
   * handshake's (an assertion: the caller must route them elsewhere).
   */
  receive(frame: unknown): HandshakeStep {
    if (this.current === 'admitted') throw new Error('ListenerHandshake.receive after admission: the frame is not part of the handshake');
    if (this.refusal !== null) return this.refusal;
    try {
      return this.current === 'hello' ? this.onHello(frame) : this.onAuth(frame);
    } catch (error) {
      return this.refuse(refusalOf(error));
    }
  }

  /**
   * The caller's deadline passed before the handshake finished (a connection
   * that never finishes holds a slot for nothing): the verdict to close with.
   */
  timedOut(): HandshakeRefusal {
    if (this.current === 'admitted') throw new Error('ListenerHandshake.timedOut after admission: no deadline runs then');
    if (this.refusal !== null) return this.refusal;
    const reason = this.current === 'hello' ? 'no hello in time' : 'no answer to the authentication challenge in time';
    return this.refuse({ kind: 'refused', code: 'handshake_required', reason });
  }

  private onHello(frame: unknown): HandshakeStep {
    const hello = parseHello(frame);
    const badCertificate = this.options.certificateRefusal?.(hello) ?? null;
    if (badCertificate !== null) throw new WireError('auth_failed', badCertificate);
    if (hello.protocol !== protocolVersion) {
      throw new WireError('wrong_protocol', `protocol ${hello.protocol} is not ${protocolVersion}; upgrade the older side`);
    }
    if (hello.clusterId !== null && hello.clusterId !== this.options.clusterId) {
      throw new WireError('wrong_cluster', `cluster ${hello.clusterId} is not this node's cluster ${this.options.clusterId}`);
    }
    if (this.options.secret === null) return this.admit(hello);
    const listener = { nodeId: this.options.self, clusterId: this.options.clusterId, protocol: protocolVersion };
    const challenge = challengeFor(this.options.secret, listener, { role: hello.role, nodeId: hello.nodeId, nonce: helloNonce(frame) });
    this.pending = { challenge, hello };
    this.current = 'auth';
    return { kind: 'challenge', send: [challenge.message] };
  }

  private onAuth(frame: unknown): HandshakeStep {
    const pending = this.pending;
    if (pending === null || this.options.secret === null) throw new WireError('auth_failed', 'no challenge is pending');
    this.pending = null;
    checkAuth(this.options.secret, pending.challenge, frame);
    return this.admit(pending.hello);
  }

  private admit(hello: HelloMessage): HandshakeStep {
    const welcome: WireMessage = {
      type: 'welcome',
      protocol: protocolVersion,
      clusterId: this.options.clusterId,
      nodeId: this.options.self,
      stateMachine: this.options.stateMachine,
      frameBytesMax: this.options.frameBytesMax,
    };
    if (hello.role === 'client') {
      this.current = 'admitted';
      return { kind: 'admitted', role: 'client', send: [welcome] };
    }
    const nodeId = this.checkPeer(hello);
    this.current = 'admitted';
    return { kind: 'admitted', role: 'peer', nodeId, send: [welcome] };
  }

  private checkPeer(hello: HelloMessage): NodeId {
    if (hello.clusterId === null) throw new WireError('wrong_cluster', 'a node must name its cluster');
    const { nodeId } = hello;
    if (nodeId === null || nodeId === this.options.self || !this.options.isPeer(nodeId)) {
      throw new WireError('unknown_node', `node id ${nodeId} is not a peer of node ${this.options.self}`);
    }
    // Replicas of different services would apply the same log to different code and diverge.
    const theirs = hello.stateMachine ?? builtinStateMachineIdentity;
    const ours = this.options.stateMachine;
    if (theirs !== ours) {
      const reason = `node ${nodeId} runs state machine ${theirs} but node ${this.options.self} runs ${ours}; every node of a cluster must run the same one (--state-machine)`;
      throw new WireError('wrong_state_machine', reason);
    }
    return nodeId;
  }

  private refuse(refusal: HandshakeRefusal): HandshakeRefusal {
    this.current = 'refused';
    this.pending = null;
    this.refusal = refusal;
    return refusal;
  }
}

/**
 * What a frame that could not be accepted closes the connection with.
 * Validation throws WireError with its code; any other error while reading
 * what the remote sent is a bug in our reading, and it too only closes that
 * connection: a node never crashes because of what a peer or client sent.
 */
function refusalOf(error: unknown): HandshakeRefusal {
  if (isWireError(error)) return { kind: 'refused', code: error.code, reason: error.message };
  return { kind: 'refused', code: 'invalid_message', reason: `could not read what the remote sent: ${error instanceof Error ? error.message : String(error)}` };
}

export interface PeerDialOptions {
  /** This node, as its hello names it. */
  self: NodeId;
  clusterId: string;
  /** The state machine this node runs, named in the hello. */
  stateMachine: string;
  /** The cluster's shared secret, or null: with one, the listener must prove it holds it too (mutual). */
  secret: Uint8Array | null;
  /** The node we dialled: a welcome from any other is a wrong address, not a peer. */
  peer: NodeId;
  /** Where we dialled it, for the message when another node answers. */
  address: string;
}

/** What the dialling side should do after a frame from the listener. */
export type PeerDialStep =
  /** Send `send` (our proof) and wait for the welcome. */
  | { kind: 'answer'; send: WireMessage[] }
  /** The peer we dialled welcomed us: the link is up. */
  | { kind: 'welcomed'; welcome: WelcomeMessage }
  /** The listener refused us (its goodbye); it closes the connection itself. */
  | { kind: 'goodbye'; code: CloseReason; reason: string }
  /** Another node answers at that address: drop the connection, no goodbye (it is not the peer to tell). */
  | { kind: 'misdialled'; reason: string }
  /** We refuse the listener: say why in a goodbye, so it logs it too, and close. */
  | HandshakeRefusal;

/**
 * The handshake of a node dialling a peer: our hello (with a nonce when a
 * secret is set), our proof for its challenge, and what its welcome or
 * goodbye means. Never throws for what the listener sent.
 */
export class PeerDialHandshake {
  private readonly auth: ConnectorAuth;

  constructor(private readonly options: PeerDialOptions) {
    this.auth = new ConnectorAuth(options.secret, { role: 'node', nodeId: options.self });
  }

  /** The first frame on the connection, once it is ready (after TLS, when TLS is on). */
  hello(): HelloMessage {
    return {
      type: 'hello',
      protocol: protocolVersion,
      clusterId: this.options.clusterId,
      role: 'node',
      nodeId: this.options.self,
      stateMachine: this.options.stateMachine,
      nonce: this.auth.nonce,
    };
  }

  /** Takes a frame the listener sent on our connection (only handshake replies come this way). */
  receive(frame: unknown): PeerDialStep {
    try {
      return this.step(frame);
    } catch (error) {
      return refusalOf(error);
    }
  }

  private step(frame: unknown): PeerDialStep {
    if (isChallenge(frame)) return { kind: 'answer', send: [this.auth.answer(parseChallenge(frame))] };
    const reply = parseHandshakeReply(frame);
    if (reply.type === 'goodbye') return { kind: 'goodbye', code: reply.code, reason: reply.reason };
    if (reply.nodeId !== this.options.peer) return { kind: 'misdialled', reason: `the node at ${this.options.address} is node ${reply.nodeId}, not ${this.options.peer}` };
    this.auth.checkWelcome(reply.nodeId);
    return { kind: 'welcomed', welcome: reply };
  }
}
