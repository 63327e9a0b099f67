// Real sockets around the wire room. Every node listens on one TCP port for
// peers and clients alike, and dials each other node once: messages to a peer
// travel on our outbound connection, messages from it arrive on its own. A peer
// is known by the node id in its hello, never by its source address.
import net from 'node:net';
import type { NodeId, PeerMessage } from '../core/messages.js';
import { encodeFrame, FrameDecoder } from '../../wire/frame.js';
import type { SharedEncodings } from '../../wire/codec.js';
import { CoalescingWriter } from '../../wire/coalesce.js';
import { isWireError, WireError } from '../../wire/errors.js';
import { parseClientRequest, parseNodeMessage } from '../../wire/validate.js';
import { builtinStateMachineIdentity, transferMessageTypes, type ClientRequest, type ClientResponse, type CloseReason, type TransferMessage, type WireMessage } from '../../wire/protocol.js';
import type { Logger } from './log.js';
import type { FaultInjector } from './faults.js';
import { ListenerHandshake, PeerDialHandshake, type HandshakeStep, type PeerDialStep } from '../../wire/handshake.js';
import { isGoodbye, parseGoodbye } from '../../wire/validate.js';
import { transportLimitsDefault } from '../config.js';
import { ClientConnectionGuard, ConnectionsPerAddress, defaultAdmissionLimits, LogThrottle, type AdmissionLimits } from './admission.js';
import { createListener, describeTlsError, dial, dialledPeerRefusal, logHandshakeFailures, nodeServerOptions, peerCertificateRefusal, peerDialOptions, readyEvent, type NodeTls } from './tls.js';

export interface Endpoint {
  host: string;
  port: number;
}

export interface TransportLimits {
  /** Largest frame accepted or sent; a bigger one closes the connection. */
  frameBytesMax: number;
  /** Bytes queued on a peer socket before further messages to it are dropped (Paxos resends). */
  peerBufferBytesMax: number;
  /** Messages kept for a peer while its connection is being (re)established. */
  peerQueueMessagesMax: number;
  /**
   * Queued messages older than this are dropped when the connection comes up: a
   * peer that was down for long needs catch-up, not a flood of stale accepts.
   */
  peerQueueAgeMsMax: number;
  /** Inbound connections, peers and clients together; beyond it a new one is refused with `too_many_connections` (--connections-max). */
  connectionsMax: number;
  /** A connection that has not finished its handshake (TLS, hello, proof) by then is closed (--handshake-timeout). */
  handshakeMsMax: number;
}

/** The defaults, from the table of every node limit in src/node/config.ts. */
export const defaultTransportLimits: TransportLimits = transportLimitsDefault;

/**
 * Connections over connectionsMax that may be open at once while the node
 * tells them why it refuses them (a goodbye, then close within a second).
 */
const connectionsRefusingMax = 64;

/** One connected client, to answer its requests. */
export interface ClientLink {
  readonly remote: string;
  reply(response: ClientResponse): void;
  readonly closed: boolean;
}

export interface TransportOptions {
  self: NodeId;
  clusterId: string;
  /** Every other node and where to dial it. */
  peers: Map<NodeId, Endpoint>;
  listen: Endpoint;
  limits: TransportLimits;
  log: Logger;
  /** The identity of the state machine this node runs (default: the built-in store); peers must run the same. */
  stateMachine?: string;
  /** Test-only (--enable-faults): drops or delays messages between nodes; absent, nothing is touched. */
  faults?: FaultInjector;
  /** The cluster's shared secret (--secret-file): every connection must prove it holds it (see wire/auth.ts). */
  secret?: Uint8Array | null;
  /** TLS on the node's port (--tls-*): every connection is TLS, peers must present a certificate from the CA (see tls.ts). */
  tls?: NodeTls | null;
  /** What one remote may cost this node (see admission.ts); defaults when absent. */
  admission?: AdmissionLimits;
  onPeerMessage(message: PeerMessage): void;
  onTransferMessage(message: TransferMessage): void;
  onClientRequest(request: ClientRequest, client: ClientLink): void;
}

export interface PeerLinkStatus {
  id: NodeId;
  address: string;
  connected: boolean;
  framesOut: number;
  bytesOut: number;
  framesIn: number;
  bytesIn: number;
  dropped: number;
}

export class Transport {
  private readonly server: net.Server;
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly inbound = new Set<net.Socket>();
  private readonly inboundFromPeer = new Map<NodeId, { frames: number; bytes: number }>();
  private stopped = false;
  private readonly admission: AdmissionLimits;
  private readonly perAddress: ConnectionsPerAddress;
  /** Refusals are logged with the remote's address, but a flood of them costs a few lines a second. */
  private readonly refusalLog: LogThrottle;
  private listening = false;

  constructor(private readonly options: TransportOptions) {
    const tlsOptions = options.tls == null ? null : nodeServerOptions(options.tls, options.limits.handshakeMsMax);
    this.server = createListener(tlsOptions, (socket) => this.accept(socket));
    logHandshakeFailures(this.server, (fields) => this.logRefusal({ ...fields, code: 'auth_failed' }));
    // Past connectionsMax a connection is still accepted, to be told why in a goodbye; past this many more, Node drops it unheard.
    this.server.maxConnections = options.limits.connectionsMax + connectionsRefusingMax;
    this.admission = options.admission ?? defaultAdmissionLimits;
    this.perAddress = new ConnectionsPerAddress(this.admission.connectionsPerAddressMax);
    this.refusalLog = new LogThrottle(this.admission.refusalLogLinesPerSecondMax);
    for (const [id, endpoint] of options.peers) this.links.set(id, new PeerLink(id, endpoint, options));
  }

  /**
   * A member added to the cluster after start (a membership change named it
   * with an address): dial it like any peer from now on. Ignored for an id
   * already known (this node's own --peers view of an address wins).
   */
  addPeer(id: NodeId, endpoint: Endpoint): boolean {
    if (id === this.options.self || this.links.has(id)) return false;
    this.options.peers.set(id, endpoint);
    const link = new PeerLink(id, endpoint, this.options);
    this.links.set(id, link);
    if (this.listening) link.start();
    return true;
  }

  /** Dials a peer at `endpoint` from now on: a new member, or one named at a new address (`member replace --address`). */
  movePeer(id: NodeId, endpoint: Endpoint): boolean {
    const old = this.links.get(id);
    if (old !== undefined) {
      old.stop();
      this.links.delete(id);
    }
    return this.addPeer(id, endpoint);
  }

  /** Starts listening; rejects with the OS error (e.g. EADDRINUSE) if the port cannot be had. */
  async listen(): Promise<Endpoint> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.listen.port, this.options.listen.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.server.on('error', (error) => this.options.log.error('listener failed', { error: error.message }));
    for (const link of this.links.values()) link.start();
    this.listening = true;
    const address = this.server.address() as net.AddressInfo;
    return { host: address.address, port: address.port };
  }

  /** Sends messages to other nodes, one socket write per peer. */
  send(messages: (PeerMessage | TransferMessage)[]): void {
    const shared: SharedEncodings = new Map();
    const byPeer = new Map<NodeId, (PeerMessage | TransferMessage)[]>();
    for (const message of messages) {
      const list = byPeer.get(message.to);
      if (list === undefined) byPeer.set(message.to, [message]);
      else list.push(message);
    }
    for (const [to, list] of byPeer) {
      const link = this.links.get(to);
      if (link === undefined) continue;
      if (this.options.faults === undefined) link.send(list, shared);
      else this.options.faults.deliver(to, list, (kept) => link.send(kept, shared));
    }
  }

  peerStatus(): PeerLinkStatus[] {
    return [...this.links.values()].map((link) => ({ ...link.status(), ...this.inboundCounts(link.id) }));
  }

  async close(): Promise<void> {
    this.stopped = true;
    for (const link of this.links.values()) link.stop();
    for (const socket of this.inbound) closeWith(socket, 'shutting_down', 'node is stopping');
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private inboundCounts(id: NodeId): { framesIn: number; bytesIn: number } {
    const counts = this.inboundFromPeer.get(id);
    return { framesIn: counts?.frames ?? 0, bytesIn: counts?.bytes ?? 0 };
  }

  private accept(socket: net.Socket): void {
    if (this.stopped) return void socket.destroy();
    socket.on('error', () => undefined); // a reset by the other side is routine; 'close' follows
    const address = socket.remoteAddress ?? '?';
    if (this.inbound.size >= this.options.limits.connectionsMax) {
      const reason = `${this.options.limits.connectionsMax} connections are open already (--connections-max); retry later`;
      this.logRefusal({ remote: remoteOf(socket), code: 'too_many_connections', reason });
      return closeWith(socket, 'too_many_connections', reason);
    }
    if (!this.perAddress.admit(address)) {
      const reason = `${this.admission.connectionsPerAddressMax} connections from ${address} are open already (--connections-per-address)`;
      this.logRefusal({ remote: remoteOf(socket), code: 'too_many_connections', reason });
      return closeWith(socket, 'too_many_connections', reason);
    }
    socket.setNoDelay(true);
    this.inbound.add(socket);
    let countedForAddress = true;
    const releaseAddress = () => {
      if (!countedForAddress) return;
      countedForAddress = false;
      this.perAddress.release(address);
    };
    socket.on('close', () => {
      this.inbound.delete(socket);
      releaseAddress();
    });
    new InboundConnection(socket, this.options, {
      logRefusal: (fields) => this.logRefusal(fields),
      admission: this.admission,
      countInbound: (id, bytes) => this.countInbound(id, bytes),
      // A peer that dials us is back up: dial it now rather than after our backoff,
      // or it hears no heartbeat for seconds and starts an election for nothing.
      peerIsUp: (id) => this.links.get(id)?.redialNow(),
      // --connections-per-address is for clients: on loopback a local cluster's
      // peers share the clients' address, and would take slots from them.
      // --connections-max still counts every connection.
      isPeer: releaseAddress,
    });
  }

  /** One warn line per refusal, at most a few per second per close code; the rest are counted. */
  private logRefusal(fields: { remote: string; code: CloseReason; reason: string; peer?: NodeId }): void {
    const { log, suppressed } = this.refusalLog.allow(fields.code, Date.now());
    if (!log) return;
    const { peer, ...rest } = fields;
    this.options.log.warn('closing connection', { ...rest, ...(peer === undefined ? {} : { peer }), ...(suppressed > 0 ? { similarSuppressed: suppressed } : {}) });
  }

  private countInbound(id: NodeId, bytes: number): void {
    const counts = this.inboundFromPeer.get(id) ?? { frames: 0, bytes: 0 };
    counts.frames += 1;
    counts.bytes += bytes;
    this.inboundFromPeer.set(id, counts);
  }
}

/** Why a dial failed, with what an operator can check. */
function describeDialError(error: NodeJS.ErrnoException, peer: NodeId): string {
  const code = error.code ?? 'unknown error';
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve the host (${code}): check node ${peer}'s address in --peers`;
    case 'ECONNREFUSED':
      return `connection refused (ECONNREFUSED): node ${peer} is not up yet, or not at this address`;
    default:
      return `${error.message} (${code})`;
  }
}

/**
 * Runs the reading of what a remote sent. Validation throws WireError for
 * what it refuses; any other error there is a bug in our reading, and it too
 * must only close that connection (with its message logged), never stop the
 * node: a node never crashes because of what a peer or client sent.
 */
function fromRemote<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (isWireError(error)) throw error;
    throw new WireError('invalid_message', `could not read what the remote sent: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Sends a goodbye that says why, then closes. */
function closeWith(socket: net.Socket, code: CloseReason, reason: string): void {
  if (socket.destroyed) return;
  try {
    socket.end(encodeFrame({ type: 'goodbye', code, reason }));
  } catch {
    socket.destroy();
  }
  setTimeout(() => socket.destroy(), 1_000).unref();
}

function remoteOf(socket: net.Socket): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
}

/** One accepted connection: the handshake first (src/wire/handshake.ts), then peer messages or client requests. */
class InboundConnection implements ClientLink {
  readonly remote: string;
  private readonly decoder: FrameDecoder;
  /** Answers to the sessions sharing this connection, given in one turn (one applied slot), leave in one write. */
  private readonly writer: CoalescingWriter;
  private readonly handshake: ListenerHandshake;
  private role: 'handshake' | 'peer' | 'client' = 'handshake';
  private peerId: NodeId = 0;
  /** The handshake's deadline: it is ours to keep, the handshake only says what to close with. */
  private handshakeTimer: NodeJS.Timeout | null;
  /** Refused and closing: what the remote still sends is not read (a refused hello must not be followed by one that is admitted). */
  private refused = false;
  private readonly guard: ClientConnectionGuard;

  constructor(
    private readonly socket: net.Socket,
    private readonly options: TransportOptions,
    private readonly hooks: InboundHooks,
  ) {
    this.remote = remoteOf(socket);
    this.decoder = new FrameDecoder({ frameBytesMax: options.limits.frameBytesMax });
    this.writer = new CoalescingWriter(socket);
    const tls = options.tls;
    this.handshake = new ListenerHandshake({
      self: options.self,
      clusterId: options.clusterId,
      isPeer: (nodeId) => options.peers.has(nodeId),
      stateMachine: options.stateMachine ?? builtinStateMachineIdentity,
      frameBytesMax: options.limits.frameBytesMax,
      secret: options.secret ?? null,
      certificateRefusal: tls == null ? undefined : (hello) => peerCertificateRefusal(socket, hello, tls.peerNamePattern),
    });
    this.handshakeTimer = this.handshakeDeadline();
    this.guard = new ClientConnectionGuard(socket, hooks.admission);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => {
      this.clearHandshakeDeadline();
      this.guard.close();
    });
  }

  /** A connection that has not finished its handshake by then is closed: it holds a slot for nothing. */
  private handshakeDeadline(): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const verdict = this.handshake.timedOut();
      this.refuse(verdict.code, verdict.reason);
    }, this.options.limits.handshakeMsMax);
    timer.unref();
    return timer;
  }

  private clearHandshakeDeadline(): void {
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }

  get closed(): boolean {
    return this.socket.destroyed || !this.socket.writable;
  }

  reply(response: ClientResponse): void {
    if (this.closed) return;
    this.writer.write(encodeFrame(response, this.options.limits.frameBytesMax));
    this.guard.onReply(response.id);
  }

  private onData(chunk: Buffer): void {
    if (this.socket.destroyed || this.refused) return;
    try {
      const frames = fromRemote(() => this.decoder.push(chunk));
      for (const frame of frames) {
        if (this.socket.destroyed) return;
        this.onFrame(frame, chunk.length / Math.max(frames.length, 1));
      }
      // Peers are members that proved who they are; only clients are held to a frame rate.
      if (this.role === 'client') this.guard.onFrames(frames.length);
    } catch (error) {
      // Anything else came from acting on a valid message (the core's invariants): fail loudly.
      if (!isWireError(error)) throw error;
      this.refuse(error.code, error.message);
    }
  }

  private onFrame(frame: unknown, bytes: number): void {
    if (isGoodbye(frame)) return fromRemote(() => this.onGoodbye(frame));
    if (this.role === 'handshake') return this.onHandshake(this.handshake.receive(frame));
    if (this.role === 'peer') {
      const message = fromRemote(() => parseNodeMessage(frame));
      if (message.from !== this.peerId || message.to !== this.options.self) {
        throw new WireError('invalid_message', `message from ${message.from} to ${message.to} on node ${this.peerId}'s connection`);
      }
      this.hooks.countInbound(this.peerId, bytes);
      if (this.options.faults?.admits(this.peerId) === false) return;
      if (isTransferMessage(message)) return this.options.onTransferMessage(message);
      return this.options.onPeerMessage(message);
    }
    const request = fromRemote(() => parseClientRequest(frame));
    this.guard.onRequest(request.id);
    this.options.onClientRequest(request, this);
  }

  /** Acts on the handshake's verdict for one frame: refuse, challenge under a fresh deadline, or admit. */
  private onHandshake(step: HandshakeStep): void {
    this.clearHandshakeDeadline();
    if (step.kind === 'refused') throw new WireError(step.code, step.reason);
    if (step.kind === 'challenge') this.handshakeTimer = this.handshakeDeadline();
    if (step.kind === 'admitted' && step.role === 'peer') this.acceptPeer(step.nodeId);
    if (step.kind === 'admitted' && step.role === 'client') this.role = 'client';
    for (const message of step.send) this.send(message);
  }

  /** The connector gave up on us (e.g. our proof did not match its secret): log why, with its address. */
  private onGoodbye(frame: unknown): void {
    const goodbye = parseGoodbye(frame);
    const fields = { remote: this.remote, code: goodbye.code, reason: goodbye.reason, peer: this.peerId || undefined };
    if (goodbye.code === 'auth_failed') this.hooks.logRefusal({ ...fields, reason: `the remote refused us: ${goodbye.reason}` });
    else this.options.log.debug('remote said goodbye', fields);
    this.socket.destroy();
  }

  private acceptPeer(nodeId: NodeId): void {
    this.role = 'peer';
    this.peerId = nodeId;
    this.options.log.debug('peer connected', { peer: nodeId, remote: this.remote });
    this.hooks.isPeer();
    this.hooks.peerIsUp(nodeId);
  }

  private send(message: WireMessage): void {
    this.socket.write(encodeFrame(message, this.options.limits.frameBytesMax));
  }

  private refuse(code: CloseReason, reason: string): void {
    this.refused = true;
    this.clearHandshakeDeadline();
    this.hooks.logRefusal({ remote: this.remote, code, reason, peer: this.peerId || undefined });
    closeWith(this.socket, code, reason);
  }
}

interface InboundHooks {
  countInbound: (id: NodeId, bytes: number) => void;
  peerIsUp: (id: NodeId) => void;
  /** The connection proved to be a member peer's: it no longer counts against its address's limit. */
  isPeer: () => void;
  logRefusal: (fields: { remote: string; code: CloseReason; reason: string; peer?: NodeId }) => void;
  admission: AdmissionLimits;
}

/** Our outbound connection to one peer, re-dialled with backoff whenever it drops. */
class PeerLink {
  private socket: net.Socket | null = null;
  private ready = false;
  private stopped = false;
  private backoffMs = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private queue: { frame: Buffer; atMs: number }[] = [];
  private counters = { framesOut: 0, bytesOut: 0, dropped: 0 };
  private lastRefusal = '';
  private lastDialFailure = '';

  constructor(
    readonly id: NodeId,
    private readonly endpoint: Endpoint,
    private readonly options: TransportOptions,
  ) {}

  start(): void {
    this.dial();
  }

  /** Skips the rest of a reconnect backoff (the peer just showed it is up). */
  redialNow(): void {
    if (this.stopped || this.socket !== null || this.retryTimer === null) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.backoffMs = 0;
    this.dial();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.socket?.destroy();
  }

  status(): Omit<PeerLinkStatus, 'framesIn' | 'bytesIn'> {
    return { id: this.id, address: `${this.endpoint.host}:${this.endpoint.port}`, connected: this.ready, ...this.counters };
  }

  send(messages: (PeerMessage | TransferMessage)[], shared: SharedEncodings): void {
    const frames: Buffer[] = [];
    for (const message of messages) {
      const frame = this.encode(message, shared);
      if (frame !== null) frames.push(frame);
    }
    if (!this.ready || this.socket === null) return this.enqueue(frames);
    if (this.socket.writableLength > this.options.limits.peerBufferBytesMax) {
      this.counters.dropped += frames.length; // the peer is slow; Paxos resends what matters
      return;
    }
    this.write(frames);
  }

  /**
   * A message too large for a frame is dropped and logged, never thrown: the
   * core bounds its messages in bytes (batches, windows, catch-up replies),
   * so this is a configuration the bounds did not foresee (say a raised
   * --command-bytes-max with a lowered --max-frame-bytes), not a reason to stop.
   */
  private encode(message: PeerMessage | TransferMessage, shared: SharedEncodings): Buffer | null {
    try {
      return encodeFrame(message, this.options.limits.frameBytesMax, shared);
    } catch (error) {
      this.counters.dropped += 1;
      this.options.log.error('dropped a message too large to send', { peer: this.id, type: message.type, error: (error as Error).message });
      return null;
    }
  }

  private write(frames: Buffer[]): void {
    const bytes = frames.length === 1 ? frames[0] : Buffer.concat(frames);
    this.counters.framesOut += frames.length;
    this.counters.bytesOut += bytes.length;
    this.socket?.write(bytes);
  }

  private enqueue(frames: Buffer[]): void {
    const atMs = Date.now();
    for (const frame of frames) {
      if (this.queue.length >= this.options.limits.peerQueueMessagesMax) this.counters.dropped += 1;
      else this.queue.push({ frame, atMs });
    }
  }

  private dial(): void {
    if (this.stopped) return;
    const socket = dial(this.endpoint, this.options.tls == null ? null : peerDialOptions(this.options.tls, this.endpoint));
    this.socket = socket;
    socket.setNoDelay(true);
    const decoder = new FrameDecoder({ frameBytesMax: this.options.limits.frameBytesMax });
    const address = `${this.endpoint.host}:${this.endpoint.port}`;
    const handshake = new PeerDialHandshake({
      self: this.options.self,
      clusterId: this.options.clusterId,
      stateMachine: this.options.stateMachine ?? builtinStateMachineIdentity,
      secret: this.options.secret ?? null,
      peer: this.id,
      address,
    });
    socket.on(readyEvent(socket), () => {
      // With TLS, the certificate that answered must be the one of the node we dialled.
      const impostor = this.options.tls == null ? null : dialledPeerRefusal(socket, this.id, this.options.tls.peerNamePattern);
      if (impostor !== null) {
        this.refused(`auth_failed: ${impostor}`);
        return closeWith(socket, 'auth_failed', impostor);
      }
      socket.write(encodeFrame(handshake.hello()));
    });
    socket.on('data', (chunk: Buffer) => {
      let frames: unknown[];
      try {
        frames = fromRemote(() => decoder.push(chunk));
      } catch (error) {
        if (!isWireError(error)) throw error;
        this.onDialStep(socket, { kind: 'refused', code: error.code, reason: error.message });
        return;
      }
      // Only handshake replies come this way (a peer sends its messages on its own connection).
      for (const frame of frames) {
        if (!this.onDialStep(socket, handshake.receive(frame))) return;
      }
    });
    let connected = false;
    socket.once('connect', () => (connected = true));
    // 'close' follows and schedules the retry. A TLS failure (wrong CA, expired) is a misconfiguration worth a
    // log line, and so is a dial that fails (a typo'd host, a peer not up): a reset after connecting is routine.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const tlsFailure = describeTlsError(error);
      if (tlsFailure !== null) this.refused(tlsFailure);
      else if (!connected) this.dialFailed(error);
    });
    socket.on('close', () => this.onClose(socket));
  }

  /** Acts on what the handshake made of one frame; false when the connection is done for. */
  private onDialStep(socket: net.Socket, step: PeerDialStep): boolean {
    switch (step.kind) {
      case 'answer':
        for (const message of step.send) socket.write(encodeFrame(message));
        return true;
      case 'goodbye':
        this.refused(`${step.code}: ${step.reason}`);
        return true;
      case 'misdialled':
        this.refused(step.reason);
        socket.destroy();
        return false;
      case 'refused':
        this.refused(`${step.code}: ${step.reason}`);
        // Say why, so the listener logs it too (an auth failure is a misconfiguration on one side or the other).
        closeWith(socket, step.code, step.reason);
        return false;
      case 'welcomed':
        this.connected();
        return true;
    }
  }

  private connected(): void {
    this.ready = true;
    this.backoffMs = 0;
    this.lastRefusal = '';
    this.lastDialFailure = '';
    this.options.log.info('connected to peer', { peer: this.id, address: `${this.endpoint.host}:${this.endpoint.port}` });
    const oldestMs = Date.now() - this.options.limits.peerQueueAgeMsMax;
    const fresh = this.queue.filter((entry) => entry.atMs >= oldestMs).map((entry) => entry.frame);
    this.counters.dropped += this.queue.length - fresh.length;
    this.queue = [];
    if (fresh.length > 0) this.write(fresh);
  }

  /**
   * Logs a failed dial once per distinct reason until a connection succeeds
   * (retries come every second). A refusal is what a peer that is down or not
   * up yet gives, routine at info; anything else (a host that does not resolve,
   * is unreachable or does not answer) is likely a wrong --peers entry: warn.
   */
  private dialFailed(error: NodeJS.ErrnoException): void {
    const reason = describeDialError(error, this.id);
    if (reason === this.lastDialFailure) return;
    this.lastDialFailure = reason;
    const level = error.code === 'ECONNREFUSED' ? 'info' : 'warn';
    this.options.log[level]('cannot reach peer; retrying', { peer: this.id, address: `${this.endpoint.host}:${this.endpoint.port}`, reason });
  }

  /** Logs a refusal once per distinct reason, so a misconfigured peer does not flood the log. */
  private refused(reason: string): void {
    if (reason === this.lastRefusal) return;
    this.lastRefusal = reason;
    this.options.log.error('peer refused our connection', { peer: this.id, reason });
  }

  private onClose(socket: net.Socket): void {
    if (this.socket !== socket) return;
    if (this.ready) this.options.log.warn('lost connection to peer', { peer: this.id });
    this.ready = false;
    this.socket = null;
    if (this.stopped) return;
    this.backoffMs = Math.min(Math.max(this.backoffMs * 2, 50), 1_000);
    const delay = this.backoffMs / 2 + Math.random() * (this.backoffMs / 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.dial();
    }, delay);
    this.retryTimer.unref();
  }
}

function isTransferMessage(message: PeerMessage | TransferMessage): message is TransferMessage {
  return transferMessageTypes.has(message.type);
}
