// One TCP connection from a client to one node: the handshake, then requests
// matched to responses by id. Every failure rejects with a RequestFailedError
// whose `sent` says whether the request's bytes left this process, because
// only a request that was never sent is certainly not proposed.
import net from 'node:net';
import type { NodeId } from '../node/core/messages.js';
import { encodeFrame, FrameDecoder, frameBytesMaxDefault } from '../wire/frame.js';
import { isGoodbye, parseClientResponse, parseGoodbye, parseHandshakeReply } from '../wire/validate.js';
import {
  builtinStateMachineIdentity,
  protocolVersion,
  type ClientRequest,
  type ClientResponse,
  type GoodbyeMessage,
  type HelloMessage,
} from '../wire/protocol.js';
import { RequestFailedError, type ClientErrorCode } from './errors.js';
import { ConnectorAuth, isChallenge, parseChallenge } from '../wire/auth.js';
import { isWireError } from '../wire/errors.js';
import { formatAddress, type ClusterAddress } from './options.js';
import { CoalescingWriter } from '../wire/coalesce.js';
import { clientDialOptions, closedBeforeWelcome, describeTlsError, dial, readyEvent, type ClientTls } from '../net/tls.js';

/**
 * Requests waiting for an answer on one connection. A client that outruns the
 * node gets a clear error instead of an ever-growing map; the node bounds its
 * own queues, so more in flight than this buys nothing.
 */
export const requestsInFlightMaxDefault = 1024;

/** Idle connections are probed this often, so a vanished node is noticed without traffic. */
const keepAliveDelayMs = 10_000;

/** Bytes of a non-paxos server's first answer kept to show what it is ("HTTP/1.1 400 ...", "SSH-2.0-..."). */
const foreignBytesShownMax = 40;

/** A request as the caller gives it; the connection assigns the id. */
export type ClientRequestBody = { [T in ClientRequest['type']]: Omit<Extract<ClientRequest, { type: T }>, 'id'> }[ClientRequest['type']];

export interface NodeConnectionOptions {
  address: ClusterAddress;
  /** Limit for TCP connect plus the welcome. */
  connectTimeoutMs: number;
  requestsInFlightMax?: number;
  frameBytesMax?: number;
  /** The cluster's shared secret: prove it in the handshake, and insist the node proves it too (see wire/auth.ts). */
  secret?: Uint8Array | null;
  /** TLS (loadClientTls): verify the node against the CA, present a client certificate if given. Default: the process's (--tls-* / PAXOS_TLS_*). */
  tls?: ClientTls | null;
}

interface PendingRequest {
  resolve(response: ClientResponse): void;
  reject(error: RequestFailedError): void;
  timer: NodeJS.Timeout;
}

/** What a node said about itself in its welcome. */
interface Welcome {
  nodeId: NodeId;
  clusterId: string;
  stateMachine: string;
  /** The largest frame the node reads; null when it did not say (an older node). */
  frameBytesMax: number | null;
}

interface HandshakeWaiter {
  resolve(): void;
  reject(error: RequestFailedError): void;
}

/** One open, welcomed connection to one node. Create it with `NodeConnection.open`. */
export class NodeConnection {
  /** The address as dialed, host:port. */
  readonly address: string;
  private readonly socket: net.Socket;
  /** Requests of sessions sharing this connection (ConnectionPool) that are sent in one turn leave in one write. */
  private readonly writer: CoalescingWriter;
  private readonly decoder: FrameDecoder;
  private readonly requestsInFlightMax: number;
  private readonly frameBytesMax: number;
  private readonly pending = new Map<number, PendingRequest>();
  private readonly closeListeners: ((error: RequestFailedError) => void)[] = [];
  private handshakeWaiter: HandshakeWaiter | null = null;
  private welcome: Welcome | null = null;
  private closeError: RequestFailedError | null = null;
  private nextRequestId = 1;
  private readonly auth: ConnectorAuth;
  /** The first bytes received before the welcome, to tell the user what answered if it is not a paxos node. */
  private firstBytes: Buffer = Buffer.alloc(0);

  /**
   * Connects and completes the handshake. Rejects with a RequestFailedError
   * (`sent: false`): code `connect_failed` (refused, unreachable, timed out) or
   * `handshake_refused` (the node said goodbye).
   */
  static async open(options: NodeConnectionOptions): Promise<NodeConnection> {
    const connection = new NodeConnection(options);
    await connection.handshake(options.connectTimeoutMs);
    return connection;
  }

  private constructor(options: NodeConnectionOptions) {
    const secret = options.secret === undefined ? processSecret : options.secret;
    this.auth = new ConnectorAuth(secret, { role: 'client', nodeId: null });
    this.address = formatAddress(options.address);
    this.requestsInFlightMax = options.requestsInFlightMax ?? requestsInFlightMaxDefault;
    this.frameBytesMax = options.frameBytesMax ?? frameBytesMaxDefault;
    this.decoder = new FrameDecoder({ frameBytesMax: this.frameBytesMax });
    const tls = options.tls === undefined ? processTls : options.tls;
    this.socket = dial(options.address, tls === null ? null : clientDialOptions(tls, options.address));
    this.writer = new CoalescingWriter(this.socket);
    this.socket.setNoDelay(true);
    this.socket.setKeepAlive(true, keepAliveDelayMs);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (error: NodeJS.ErrnoException) => this.fail('connection_closed', describeSocketError(error)));
    this.socket.on('close', () => this.fail('connection_closed', this.handshakeWaiter === null ? 'the connection was closed' : closedBeforeWelcome(this.socket)));
  }

  /** The node's id, from its welcome. */
  get nodeId(): NodeId {
    return this.welcomed().nodeId;
  }

  /** The cluster the node belongs to, from its welcome. */
  get clusterId(): string {
    return this.welcomed().clusterId;
  }

  /** The state machine the node runs, from its welcome (a node that does not say runs the built-in store). */
  get stateMachine(): string {
    return this.welcomed().stateMachine;
  }

  get isClosed(): boolean {
    return this.closeError !== null;
  }

  /** Called once when the connection closes, for whatever reason. */
  onClose(listener: (error: RequestFailedError) => void): void {
    if (this.closeError !== null) listener(this.closeError);
    else this.closeListeners.push(listener);
  }

  /**
   * Sends one request and resolves with the node's answer to it. Rejects with a
   * RequestFailedError: `request_timeout` or `connection_closed` with
   * `sent: true`; `too_many_requests`, `request_too_large` or
   * `connection_closed` with `sent: false` when nothing was written.
   */
  request(body: ClientRequestBody, timeoutMs: number): Promise<ClientResponse> {
    if (this.closeError !== null) return Promise.reject(this.notSent('connection_closed', this.closeError.message));
    if (this.pending.size >= this.requestsInFlightMax) {
      return Promise.reject(this.notSent('too_many_requests', `${this.requestsInFlightMax} requests already wait for an answer`));
    }
    const id = this.nextRequestId++;
    let frame: Buffer;
    // A frame over the node's limit would close the connection at its header (goodbye frame_too_large), after it may
    // have read earlier requests: refusing to send it keeps its outcome certain (not applied) and the connection open.
    const nodeLimit = this.welcome?.frameBytesMax ?? null;
    const limit = nodeLimit === null ? this.frameBytesMax : Math.min(this.frameBytesMax, nodeLimit);
    try {
      frame = encodeFrame({ ...body, id } as ClientRequest, limit);
    } catch (error) {
      const whose = nodeLimit !== null && nodeLimit <= this.frameBytesMax ? ` (node ${this.welcome?.nodeId} reads frames up to ${nodeLimit} bytes: its --max-frame-bytes)` : '';
      return Promise.reject(this.notSent('request_too_large', `the request cannot be sent, so it was not applied: ${errorMessage(error)}${whose}`));
    }
    return new Promise<ClientResponse>((resolve, reject) => {
      const timer = setTimeout(() => this.expire(id, timeoutMs), timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.writer.write(frame);
    });
  }

  /** Closes the connection; requests still waiting reject with `connection_closed`. */
  close(): void {
    this.fail('connection_closed', 'the client closed the connection');
  }

  private handshake(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail('connect_failed', `no welcome within ${timeoutMs}ms${this.firstBytes.length === 0 ? ' (is a paxos node listening there?)' : `; it sent ${describeBytes(this.firstBytes)}, not a welcome`}`),
        timeoutMs,
      );
      this.handshakeWaiter = {
        resolve: () => { clearTimeout(timer); resolve(); },
        reject: (error) => { clearTimeout(timer); reject(error); },
      };
      this.socket.once(readyEvent(this.socket), () => this.socket.write(encodeFrame({ ...clientHello, nonce: this.auth.nonce })));
    });
  }

  private onData(chunk: Buffer): void {
    if (this.handshakeWaiter !== null && this.firstBytes.length < foreignBytesShownMax) {
      this.firstBytes = Buffer.concat([this.firstBytes, chunk.subarray(0, foreignBytesShownMax - this.firstBytes.length)]);
    }
    let messages: unknown[];
    try {
      messages = this.decoder.push(chunk);
    } catch (error) {
      // Before the welcome, bytes that are no paxos frame mean something else listens there (HTTP, SSH, ...).
      if (this.handshakeWaiter !== null) this.fail('connect_failed', this.notAPaxosNode('its first bytes are not a paxos frame'));
      else this.fail('protocol_violation', `unreadable frame: ${errorMessage(error)}`);
      return;
    }
    for (const message of messages) {
      if (this.closeError !== null) return;
      if (this.handshakeWaiter !== null) this.onHandshakeReply(message);
      else this.onResponse(message);
    }
  }

  private onHandshakeReply(message: unknown): void {
    if (isChallenge(message)) return this.authenticate(message);
    let reply;
    try {
      reply = parseHandshakeReply(message);
    } catch (error) {
      this.fail('connect_failed', this.notAPaxosNode(`its first message is not a welcome (${errorMessage(error)})`));
      return;
    }
    if (reply.type === 'goodbye') {
      this.fail('handshake_refused', describeGoodbye(reply));
      return;
    }
    if (reply.protocol !== protocolVersion) {
      this.fail('handshake_refused', `the node speaks protocol ${reply.protocol}, this client ${protocolVersion}`);
      return;
    }
    if (!this.authenticated(reply.nodeId)) return;
    this.welcome = {
      nodeId: reply.nodeId,
      clusterId: reply.clusterId,
      stateMachine: reply.stateMachine ?? builtinStateMachineIdentity,
      frameBytesMax: reply.frameBytesMax ?? null,
    };
    const waiter = this.handshakeWaiter;
    this.handshakeWaiter = null;
    waiter?.resolve();
  }

  /** Answers the node's challenge, or refuses it (and says why to the node, which logs it). */
  private authenticate(message: unknown): void {
    try {
      this.socket.write(encodeFrame(this.auth.answer(parseChallenge(message))));
    } catch (error) {
      this.refuseNode(error);
    }
  }

  /** With a secret, a welcome counts only after the node proved it holds the secret. */
  private authenticated(nodeId: NodeId): boolean {
    try {
      this.auth.checkWelcome(nodeId);
      return true;
    } catch (error) {
      this.refuseNode(error);
      return false;
    }
  }

  private refuseNode(error: unknown): void {
    if (!isWireError(error)) throw error;
    this.socket.write(encodeFrame({ type: 'goodbye', code: error.code, reason: error.message }));
    this.fail('handshake_refused', `authentication failed (${error.code}): ${error.message}`);
  }

  private onResponse(message: unknown): void {
    if (isGoodbye(message)) {
      // A node that stops (or dislikes us) says why before it closes.
      this.onGoodbye(message);
      return;
    }
    let response: ClientResponse;
    try {
      response = parseClientResponse(message);
    } catch (error) {
      this.fail('protocol_violation', `invalid response: ${errorMessage(error)}`);
      return;
    }
    const waiter = this.pending.get(response.id);
    // No waiter: the answer came after its request timed out; nobody wants it now.
    if (waiter === undefined) return;
    this.pending.delete(response.id);
    clearTimeout(waiter.timer);
    waiter.resolve(response);
  }

  private onGoodbye(message: unknown): void {
    let goodbye: GoodbyeMessage;
    try {
      goodbye = parseGoodbye(message);
    } catch (error) {
      this.fail('protocol_violation', `invalid goodbye: ${errorMessage(error)}`);
      return;
    }
    this.fail('connection_closed', describeGoodbye(goodbye));
  }

  private expire(id: number, timeoutMs: number): void {
    const waiter = this.pending.get(id);
    if (waiter === undefined) return;
    this.pending.delete(id);
    waiter.reject(new RequestFailedError({
      code: 'request_timeout',
      message: `${this.address}: no answer within ${timeoutMs}ms`,
      sent: true,
      address: this.address,
    }));
  }

  /** Closes once; the first reason wins and is what every waiter is told. */
  private fail(code: ClientErrorCode, reason: string): void {
    if (this.closeError !== null) return;
    this.closeError = new RequestFailedError({ code, message: `${this.address}: ${reason}`, sent: false, address: this.address });
    this.socket.destroy();
    this.rejectHandshake(code);
    this.rejectPending();
    for (const listener of this.closeListeners.splice(0)) listener(this.closeError);
  }

  private notAPaxosNode(why: string): string {
    return `not a paxos node: ${why}; it sent ${describeBytes(this.firstBytes)}. Check the address (--cluster, PAXOS_CLUSTER): is it a paxos node's port?`;
  }

  private rejectHandshake(code: ClientErrorCode): void {
    const waiter = this.handshakeWaiter;
    if (waiter === null) return;
    this.handshakeWaiter = null;
    // Whatever ended the handshake, the caller only needs "could not connect" or "refused".
    const handshakeCode = code === 'handshake_refused' ? code : 'connect_failed';
    waiter.reject(this.notSent(handshakeCode, this.closeError?.message ?? 'closed'));
  }

  private rejectPending(): void {
    const message = `${this.closeError?.message ?? 'closed'} before the answer arrived`;
    for (const waiter of this.pending.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(new RequestFailedError({ code: 'connection_closed', message, sent: true, address: this.address }));
    }
    this.pending.clear();
  }

  private notSent(code: ClientErrorCode, message: string): RequestFailedError {
    return new RequestFailedError({ code, message, sent: false, address: this.address });
  }

  private welcomed(): Welcome {
    if (this.welcome === null) throw new Error('NodeConnection used before its handshake completed');
    return this.welcome;
  }
}

/**
 * The secret every connection of this process uses unless its options name
 * one: the CLI sets it once from --secret-file / PAXOS_SECRET_FILE, so every
 * command (submit, status, bench, top, fault, --verify) authenticates alike.
 */
let processSecret: Uint8Array | null = null;

export function setProcessSecret(secret: Uint8Array | null): void {
  processSecret = secret;
}

/** Like processSecret: the TLS every connection uses unless its options say otherwise (set from --tls-* / PAXOS_TLS_*). */
let processTls: ClientTls | null = null;

export function setProcessTls(tls: ClientTls | null): void {
  processTls = tls;
}

const clientHello: HelloMessage = {
  type: 'hello',
  protocol: protocolVersion,
  clusterId: null,
  role: 'client',
  nodeId: null,
};

/** Printable ASCII as a quoted string (HTTP and SSH greet in text), anything else as hex. */
function describeBytes(bytes: Buffer): string {
  const printable = bytes.every((byte) => byte === 0x0a || byte === 0x0d || byte === 0x09 || (byte >= 0x20 && byte < 0x7f));
  if (printable) return JSON.stringify(bytes.toString('latin1'));
  return `0x${bytes.toString('hex')}`;
}

function describeGoodbye(goodbye: GoodbyeMessage): string {
  return `the node closed the connection (${goodbye.code}): ${goodbye.reason}`;
}

/** ECONNREFUSED and friends are what an operator searches for; keep them in the message. */
function describeSocketError(error: NodeJS.ErrnoException): string {
  if (error.code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED): is a node running there?';
  const tlsFailure = describeTlsError(error);
  if (tlsFailure !== null) return tlsFailure;
  return error.code !== undefined ? `${error.message} (${error.code})` : error.message;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
