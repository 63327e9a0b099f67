// The client library: finds the leader, registers a session (lazily, before
// the first command), submits commands pipelined with sequence numbers and
// retries that are safe (the same session id and seq every time, so the
// replicas' session table executes a command at most once), tells a definite
// "not applied" from an unknown outcome, and asks nodes for their status.
// Used by `paxos submit`, `paxos status`, `paxos bench` and `paxos top`.
import { randomBytes } from 'node:crypto';
import type { NodeId, Slot } from '../node/core/messages.js';
import { finalErrorCodes, type ClientResponse, type ErrorResponse, type NodeStatus, type QueryRequest, type ReadConsistency, type SubmitRequest } from '../wire/protocol.js';
import { clientNonceCharsMax, registrationSeq, sessionErrors, sessionWindow, type SessionErrorCode } from '../node/statemachine/sessions.js';
import { NodeConnection, errorMessage } from './connection.js';
import { ClientClosedError, ClientError, InvalidOptionError, RequestFailedError, type ClientErrorCode } from './errors.js';
import { formatAddress, parseAddress, type ClusterAddress } from './options.js';
import type { ClientTls } from '../net/tls.js';

/** Options of a PaxosClient. Only `addresses` and `timeoutMs` are required. */
export interface PaxosClientOptions {
  /** Nodes to try, in order, until the leader is known. */
  addresses: readonly ClusterAddress[];
  /** How long one `submit` may take in all, retries included. */
  timeoutMs: number;
  /**
   * The nonce this client registers its sessions with (up to 96 characters; a
   * random 16-hex string by default). The replicas name each session after
   * where its registration was chosen (`<clientId>@<slot>.<position>`), so two
   * clients given the same id still get sessions of their own.
   */
  clientId?: string;
  /** Limit for TCP connect plus handshake with one node. */
  connectTimeoutMs?: number;
  /** Limit for one request to one node before the client tries elsewhere (same seq). */
  attemptTimeoutMs?: number;
  /** Limit for one `status` round trip, connect included. */
  statusTimeoutMs?: number;
  /**
   * When no node at all has accepted a connection for this long, `submit`
   * gives up early with `no_node_reachable` instead of waiting for
   * `timeoutMs`: the whole cluster is down, and nothing was proposed.
   * Infinity waits for the whole timeout.
   */
  unreachableGiveUpMs?: number;
  /** Pause after a round that found no leader; doubles up to backoffMsMax. */
  backoffMsMin?: number;
  backoffMsMax?: number;
  /** Passed to each connection (see NodeConnection). */
  requestsInFlightMax?: number;
  frameBytesMax?: number;
  /** The cluster's shared secret (`--secret-file`); see NodeConnectionOptions.secret. */
  secret?: Uint8Array | null;
  /** TLS to the nodes (loadClientTls); see NodeConnectionOptions.tls. */
  tls?: ClientTls | null;
  /**
   * Connections to share with other PaxosClients (sessions) of the same
   * cluster, as gRPC channels are shared: many sessions, few sockets. The
   * connection options above are then the pool's, not this client's. Closing
   * the client leaves a shared pool open; its owner closes it. Default: a pool
   * of this client's own.
   */
  pool?: ConnectionPool;
}

/** Defaults of the optional PaxosClientOptions, each with why. */
export const paxosClientDefaults = Object.freeze({
  /** A local or LAN node accepts within milliseconds; a second means it is down or partitioned. */
  connectTimeoutMs: 1000,
  /**
   * Longer than a leader election plus a few fsyncs, so a healthy but busy
   * leader is not abandoned; short enough to try another node well within the
   * default 10 s submit timeout when the leader is cut off from its majority.
   */
  attemptTimeoutMs: 3000,
  statusTimeoutMs: 2000,
  /** etcdctl gives up on dead endpoints after its 2 s dial timeout; do the same. */
  unreachableGiveUpMs: 2000,
  /** An election takes tens to hundreds of milliseconds: poll gently while it runs. */
  backoffMsMin: 20,
  backoffMsMax: 200,
});

/** Stable codes of an outcome that is certainly not applied. */
export type NotAppliedCode = 'no_node_reachable' | 'no_leader' | 'rejected' | 'request_too_large' | 'client_closed';

/**
 * How a read was answered (absent for a command through the log):
 * `linearizable` by the leader after it confirmed it still leads; `local` by
 * the contacted replica from its applied state, possibly stale. `appliedSlot`
 * is the state read; `knownChosenSlot` the highest slot that replica knew
 * chosen (for local, the gap between the two is how far behind it was, at least).
 */
export interface ReadInfo {
  /** How the read was answered: by the confirmed leader, or by the contacted replica alone. */
  consistency: ReadConsistency;
  /** The read saw the state with every slot up to this one applied. */
  appliedSlot: Slot;
  /** The highest slot the answering replica knew chosen when it answered. */
  knownChosenSlot: Slot;
}

/** Codes of a query's error answer that no retry can change. */
const finalQueryErrorCodes: ReadonlySet<string> = new Set(['query_unsupported']);

/**
 * What became of a submitted command.
 * - `applied`: chosen at `slot` and applied; `result` is the state machine's result.
 * - `refused`: chosen at `slot` and applied, but the state machine refused it (changed nothing).
 * - `not_applied`: certainly never proposed, so it will never be applied; safe to retry as new.
 * - `unknown`: it may have been proposed and may yet be applied (or already was).
 * `tried` lists the addresses contacted, in order; `address` is the node that answered.
 */
export type SubmitOutcome =
  | { status: 'applied'; slot: Slot; result: unknown; address: string; read?: ReadInfo }
  | { status: 'refused'; slot: Slot; error: string; address: string; read?: ReadInfo }
  | { status: 'not_applied'; code: NotAppliedCode; error: string; tried: string[] }
  | { status: 'unknown'; code: UnknownCode; error: string; tried: string[] };

/**
 * Stable codes of an outcome that is unknown: no answer after the command may
 * have been proposed, or a session error (see {@link sessionErrors}): the
 * session was evicted (the client registers a new one for its next command),
 * or the seq fell below the session's window.
 */
export type UnknownCode = 'outcome_unknown' | SessionErrorCode;

/** One node's answer to `status`, or why there was none. */
export type NodeStatusReport =
  | { address: string; reachable: true; status: NodeStatus }
  | { address: string; reachable: false; code: ClientErrorCode | 'node_error'; error: string };

interface SubmitCommand {
  client: string;
  seq: number;
  op: unknown;
}

/** One request as rounds of attempts send it: a command (through the log) or a read. */
type Request = Omit<SubmitRequest, 'id'> | Omit<QueryRequest, 'id'>;
/** A registered session, as this client uses it: the seqs it handed out and those still unanswered. */
interface ClientSessionState {
  id: string;
  nextSeq: number;
  open: Set<number>;
}

/** What a submit waiting for a seq gets: a seq of the current session, or the outcome it ends with unsent. */
type SeqGrant = { session: ClientSessionState; seq: number } | { outcome: SubmitOutcome };

/** Where one attempt left the search for the leader. */
type AttemptResult =
  | { kind: 'done'; outcome: SubmitOutcome }
  | { kind: 'redirect'; address: string }
  | { kind: 'next' };

/**
 * A client of one cluster. Before its first command it registers a session
 * (a command of seq 0 that the replicas answer with the session's id), then
 * numbers its commands 1, 2, 3... in call order. Submits that overlap are
 * pipelined: up to {@link sessionWindow} seqs are open at once (a seq is
 * handed out only below the lowest unanswered one plus the window, so every
 * retry stays inside the replicas' window); their slots, and so their order in
 * the log, may differ from the call order. Await each submit for one command
 * at a time. When the replicas no longer know the session (evicted as least
 * recently used) a command is reported `unknown` (`session_expired`) and the
 * next one registers a new session.
 *
 * @example
 * const client = new PaxosClient({ addresses: resolveCluster(), timeoutMs: 10_000 });
 * const outcome = await client.submit(['set', 'x', '1']);
 * client.close();
 */
export class PaxosClient {
  /** The nonce sessions are registered with (PaxosClientOptions.clientId). */
  readonly clientId: string;
  private readonly addresses: string[];
  private readonly settings: Required<Omit<PaxosClientOptions, 'addresses' | 'clientId' | 'requestsInFlightMax' | 'frameBytesMax' | 'secret' | 'tls' | 'pool'>>;
  private readonly pool: ConnectionPool;
  private readonly ownsPool: boolean;
  /** Addresses this client reached each node id at (from welcomes), then what redirects named. */
  private readonly nodeAddresses = new Map<NodeId, string>();
  private leaderAddress: string | null = null;
  private clusterId: string | null = null;
  /** The registered session; null before the first command and after session_expired. */
  private session: ClientSessionState | null = null;
  private registering = false;
  /** Submits waiting for a seq, in call order. */
  private readonly seqWaiters: ((grant: SeqGrant) => void)[] = [];
  private closed = false;

  constructor(options: PaxosClientOptions) {
    if (options.addresses.length === 0) throw new InvalidOptionError('PaxosClient needs at least one node address');
    checkPositive('timeoutMs', options.timeoutMs);
    this.addresses = options.addresses.map(formatAddress);
    this.clientId = options.clientId ?? randomBytes(8).toString('hex');
    if (this.clientId.length === 0 || this.clientId.length > clientNonceCharsMax) {
      throw new InvalidOptionError(`clientId must be 1 to ${clientNonceCharsMax} characters`);
    }
    this.settings = {
      timeoutMs: options.timeoutMs,
      connectTimeoutMs: options.connectTimeoutMs ?? paxosClientDefaults.connectTimeoutMs,
      attemptTimeoutMs: options.attemptTimeoutMs ?? paxosClientDefaults.attemptTimeoutMs,
      statusTimeoutMs: options.statusTimeoutMs ?? paxosClientDefaults.statusTimeoutMs,
      unreachableGiveUpMs: options.unreachableGiveUpMs ?? paxosClientDefaults.unreachableGiveUpMs,
      backoffMsMin: options.backoffMsMin ?? paxosClientDefaults.backoffMsMin,
      backoffMsMax: options.backoffMsMax ?? paxosClientDefaults.backoffMsMax,
    };
    for (const [name, value] of Object.entries(this.settings)) checkPositive(name, value);
    this.ownsPool = options.pool === undefined;
    this.pool = options.pool ?? new ConnectionPool({ requestsInFlightMax: options.requestsInFlightMax, frameBytesMax: options.frameBytesMax, secret: options.secret, tls: options.tls });
  }

  /** The id of the session commands are sent in, or null while none is registered. */
  get sessionId(): string | null {
    return this.session?.id ?? null;
  }

  /**
   * Submits one state machine command and waits until it is applied or the
   * timeout passes. Never rejects for operating errors (nodes down, no
   * leader, timeouts): those are outcomes. Seqs are handed out in call order;
   * overlapping submits are pipelined (see the class).
   */
  async submit(op: unknown): Promise<SubmitOutcome> {
    const startedAt = Date.now();
    const grant = await new Promise<SeqGrant>((resolve) => {
      this.seqWaiters.push(resolve);
      this.grantSeqs();
    });
    if ('outcome' in grant) return grant.outcome;
    const { session, seq } = grant;
    try {
      const remainingMs = Math.max(1, this.settings.timeoutMs - (Date.now() - startedAt));
      const outcome = await this.submitNow({ client: session.id, seq, op }, remainingMs);
      // Evicted: the next command registers a new session (this one's other open seqs end the same way).
      if (outcome.status === 'unknown' && outcome.code === 'session_expired' && this.session === session) this.session = null;
      return outcome;
    } finally {
      session.open.delete(seq);
      this.grantSeqs();
    }
  }

  /**
   * Hands out seqs to waiting submits, in call order: a session first
   * (registered lazily), then only seqs below the lowest unanswered one plus
   * the window, so the replicas still keep the outcome of any seq retried.
   */
  private grantSeqs(): void {
    while (this.seqWaiters.length > 0) {
      if (this.closed) {
        for (const resolve of this.seqWaiters.splice(0)) resolve({ outcome: closedOutcome() });
        return;
      }
      const session = this.session;
      if (session === null) return this.registerSession();
      if (session.open.size > 0 && session.nextSeq >= Math.min(...session.open) + sessionWindow) return;
      const seq = session.nextSeq++;
      session.open.add(seq);
      (this.seqWaiters.shift() as (grant: SeqGrant) => void)({ session, seq });
    }
  }

  /**
   * Registers a session: a command of seq 0 and no op, retried like any other
   * (a retry chosen twice opens a second session, which is harmless and
   * evicted in time). When it fails, the waiting commands were never sent.
   */
  private registerSession(): void {
    if (this.registering) return;
    this.registering = true;
    void this.submitNow({ client: this.clientId, seq: registrationSeq, op: null }, this.settings.timeoutMs).then((outcome) => {
      this.registering = false;
      const id = outcome.status === 'applied' ? sessionIdOf(outcome.result, this.clientId) : null;
      if (id !== null) this.session = { id, nextSeq: 1, open: new Set() };
      else for (const resolve of this.seqWaiters.splice(0)) resolve({ outcome: registrationFailed(outcome) });
      this.grantSeqs();
    });
  }

  /**
   * Answers a read-only `op` without the log (SPEC: Reads): `linearizable`
   * (the default) at the leader, once it has confirmed it still leads;
   * `local` from the first replica that answers, possibly stale (the outcome's
   * `read` says how far behind it knew itself to be). Retries like `submit`;
   * a read changes nothing, so an outcome is never `unknown`. Reads do not
   * wait for this client's earlier commands (they have no seq): await those
   * first when the read must see them.
   */
  query(op: unknown, consistency: ReadConsistency = 'linearizable'): Promise<SubmitOutcome> {
    return this.run({ type: 'query', op, consistency });
  }

  /**
   * A welcomed connection to some node of the cluster: the last known leader
   * first, then the addresses in order, retried like `submit` (backoff, and
   * giving up after `unreachableGiveUpMs` when no node accepts at all, or at
   * `timeoutMs`). When none answers, the `not_applied` outcome a submit would
   * have had instead: `no_node_reachable` with the addresses tried and the
   * last reason (refused, TLS, secret, connection limit). Never rejects.
   */
  async reach(): Promise<{ connection: NodeConnection } | { outcome: SubmitOutcome }> {
    const ledger = new AttemptLedger(this.settings.timeoutMs);
    let backoffMs = this.settings.backoffMsMin;
    for (;;) {
      const order = this.leaderAddress === null ? this.addresses : [this.leaderAddress, ...this.addresses.filter((address) => address !== this.leaderAddress)];
      for (const address of order) {
        if (this.closed || ledger.remainingMs() <= 0) break;
        ledger.contacted(address);
        try {
          return { connection: await this.connect(address, Math.min(this.settings.connectTimeoutMs, ledger.remainingMs())) };
        } catch (error) {
          ledger.connectFailed(address, errorMessage(error));
        }
      }
      if (this.closed) return { outcome: ledger.outcome('client_closed') };
      if (ledger.remainingMs() <= 0 || ledger.elapsedMs() >= this.settings.unreachableGiveUpMs) return { outcome: ledger.outcome() };
      await sleep(Math.min(backoffMs, ledger.remainingMs()));
      backoffMs = Math.min(backoffMs * 2, this.settings.backoffMsMax);
    }
  }

  /**
   * Asks one node for its status: one round trip within `timeoutMs` (connect
   * included). Never rejects: an unreachable node is reported as such.
   */
  async status(address: string | ClusterAddress, timeoutMs = this.settings.statusTimeoutMs): Promise<NodeStatusReport> {
    // A malformed address is the caller's mistake, not an unreachable node: let it throw.
    const key = typeof address === 'string' ? formatAddress(parseAddress(address)) : formatAddress(address);
    const deadline = Date.now() + timeoutMs;
    try {
      const connection = await this.connect(key, timeoutMs);
      const response = await connection.request({ type: 'status' }, Math.max(1, deadline - Date.now()));
      return statusReport(key, response);
    } catch (error) {
      const code = error instanceof ClientError ? error.code : 'connect_failed';
      return { address: key, reachable: false, code, error: errorMessage(error) };
    }
  }

  /** Asks every node (the client's addresses by default) in parallel; one report per address, in order. */
  statusAll(addresses: readonly (string | ClusterAddress)[] = this.addresses, timeoutMs = this.settings.statusTimeoutMs): Promise<NodeStatusReport[]> {
    return Promise.all(addresses.map((address) => this.status(address, timeoutMs)));
  }

  /** Closes every connection (unless they belong to a shared pool). A submit still running ends with its current outcome. */
  close(): void {
    this.closed = true;
    if (this.ownsPool) this.pool.close();
    this.grantSeqs();
  }

  private submitNow(command: SubmitCommand, timeoutMs: number): Promise<SubmitOutcome> {
    return this.run({ type: 'submit', client: command.client, seq: command.seq, op: command.op }, timeoutMs);
  }

  private async run(request: Request, timeoutMs: number = this.settings.timeoutMs): Promise<SubmitOutcome> {
    const ledger = new AttemptLedger(timeoutMs);
    let backoffMs = this.settings.backoffMsMin;
    for (;;) {
      const outcome = await this.submitRound(request, ledger);
      if (outcome !== null) return outcome;
      if (this.closed) return ledger.outcome('client_closed');
      if (ledger.remainingMs() <= 0) return ledger.outcome();
      if (!ledger.anyNodeReached && ledger.elapsedMs() >= this.settings.unreachableGiveUpMs) return ledger.outcome();
      // A whole round found no leader: an election is probably running.
      await sleep(Math.min(backoffMs, ledger.remainingMs()));
      backoffMs = Math.min(backoffMs * 2, this.settings.backoffMsMax);
    }
  }

  /**
   * One pass over the nodes: the last known leader first, then the configured
   * addresses in order; a redirect jumps the queue. Each address is tried at
   * most once per round, so stale redirects cannot make the client ping-pong.
   * A local read asks the addresses in their order: any replica may answer it.
   */
  private async submitRound(request: Request, ledger: AttemptLedger): Promise<SubmitOutcome | null> {
    const local = request.type === 'query' && request.consistency === 'local';
    const queue = this.leaderAddress === null || local ? [...this.addresses] : [this.leaderAddress, ...this.addresses];
    const visited = new Set<string>();
    while (queue.length > 0 && ledger.remainingMs() > 0 && !this.closed) {
      const address = queue.shift() as string;
      if (visited.has(address)) continue;
      visited.add(address);
      const result = await this.attempt(address, request, ledger);
      if (result.kind === 'done') return result.outcome;
      if (result.kind === 'redirect') queue.unshift(result.address);
    }
    return null;
  }

  private async attempt(address: string, request: Request, ledger: AttemptLedger): Promise<AttemptResult> {
    ledger.contacted(address);
    let connection: NodeConnection;
    try {
      connection = await this.connect(address, Math.min(this.settings.connectTimeoutMs, ledger.remainingMs()));
    } catch (error) {
      ledger.connectFailed(address, errorMessage(error));
      if (this.leaderAddress === address) this.leaderAddress = null;
      return { kind: 'next' };
    }
    ledger.reached();
    let response: ClientResponse;
    const read = request.type === 'query';
    try {
      response = await connection.request(request, Math.max(1, Math.min(this.settings.attemptTimeoutMs, ledger.remainingMs())));
    } catch (error) {
      return this.requestFailed(error, ledger, read);
    }
    return read ? this.interpretRead(address, response, ledger) : this.interpret(address, response, ledger);
  }

  private requestFailed(error: unknown, ledger: AttemptLedger, read: boolean): AttemptResult {
    const failure = error instanceof RequestFailedError ? error : null;
    // Anything but a request known to be unsent may have reached the leader; a read changes nothing either way.
    ledger.requestFailed(failure?.address ?? null, errorMessage(error), !read && (failure?.sent ?? true));
    // Too large fails the same way on every node: waiting cannot help.
    if (failure?.code === 'request_too_large') return { kind: 'done', outcome: ledger.outcome('request_too_large') };
    return { kind: 'next' };
  }

  private interpret(address: string, response: ClientResponse, ledger: AttemptLedger): AttemptResult {
    switch (response.type) {
      case 'result':
        this.leaderAddress = address;
        return { kind: 'done', outcome: { status: 'applied', slot: response.slot, result: response.result, address } };
      case 'refused':
        this.leaderAddress = address;
        return { kind: 'done', outcome: { status: 'refused', slot: response.slot, error: response.error, address } };
      case 'redirect':
        return this.followRedirect(address, response.leader, response.address, ledger);
      case 'error':
        ledger.nodeError(address, response);
        // Decided by applying, alike on every node: asking another would only hear it again.
        if (isSessionError(response.code)) {
          this.leaderAddress = address;
          return { kind: 'done', outcome: ledger.sessionOutcome(response.code) };
        }
        // Too large, or this session's own backlog: another node (or waiting) would only say it again.
        if (!response.indeterminate && finalErrorCodes.has(response.code)) {
          return { kind: 'done', outcome: ledger.outcome(response.code === 'session_busy' ? 'rejected' : 'request_too_large') };
        }
        return { kind: 'next' };
      default:
        // A wrong answer to a sent submit tells nothing about whether it was proposed.
        ledger.requestFailed(address, `${address}: answered a submit with a ${response.type}`, true);
        return { kind: 'next' };
    }
  }

  private interpretRead(address: string, response: ClientResponse, ledger: AttemptLedger): AttemptResult {
    switch (response.type) {
      case 'query_reply': {
        const read: ReadInfo = { consistency: response.consistency, appliedSlot: response.appliedSlot, knownChosenSlot: response.knownChosenSlot };
        if (response.consistency === 'linearizable') this.leaderAddress = address;
        const slot = response.appliedSlot;
        const outcome: SubmitOutcome = response.ok
          ? { status: 'applied', slot, result: response.result, address, read }
          : { status: 'refused', slot, error: response.error ?? 'query refused', address, read };
        return { kind: 'done', outcome };
      }
      case 'redirect':
        return this.followRedirect(address, response.leader, response.address, ledger);
      case 'error':
        ledger.nodeError(address, { ...response, indeterminate: false });
        if (finalQueryErrorCodes.has(response.code)) return { kind: 'done', outcome: ledger.outcome('rejected') };
        return { kind: 'next' };
      default:
        ledger.requestFailed(address, `${address}: answered a query with a ${response.type}`, false);
        return { kind: 'next' };
    }
  }

  /**
   * Prefers the address this client itself reached the leader at (a node's
   * view of a peer's address may be a proxy the client cannot use), then the
   * address the redirect names.
   */
  private followRedirect(from: string, leader: NodeId | null, named: string | null, ledger: AttemptLedger): AttemptResult {
    const namedAddress = named === null ? null : normaliseAddress(named);
    if (leader !== null && namedAddress !== null && !this.nodeAddresses.has(leader)) this.nodeAddresses.set(leader, namedAddress);
    const target = (leader === null ? undefined : this.nodeAddresses.get(leader)) ?? namedAddress;
    ledger.redirected(from, leader);
    if (target === null) {
      if (this.leaderAddress === from) this.leaderAddress = null;
      return { kind: 'next' };
    }
    this.leaderAddress = target;
    return { kind: 'redirect', address: target };
  }

  /**
   * The pool's connection to `address` (host:port as formatAddress writes it),
   * or a new one within `timeoutMs`, checked to belong to this client's
   * cluster. Rejects with a ClientError. Client voting (verify.ts) asks every
   * node over these.
   */
  async connect(address: string, timeoutMs: number): Promise<NodeConnection> {
    if (this.closed) throw new ClientClosedError();
    return this.adopt(address, await this.pool.connect(address, timeoutMs));
  }

  /** Checks a fresh connection belongs to this client's cluster and learns its node id. */
  private adopt(address: string, connection: NodeConnection): NodeConnection {
    if (this.closed) throw new ClientClosedError();
    this.clusterId ??= connection.clusterId;
    if (connection.clusterId !== this.clusterId) {
      connection.close();
      throw new RequestFailedError({
        code: 'wrong_cluster',
        message: `${address} belongs to cluster ${connection.clusterId}, not ${this.clusterId}: check --cluster / PAXOS_CLUSTER`,
        sent: false,
        address,
      });
    }
    this.nodeAddresses.set(connection.nodeId, address);
    return connection;
  }
}

/** How a pool opens its connections (see NodeConnectionOptions). */
export interface ConnectionPoolOptions {
  /** Requests one connection may have waiting for answers (the sessions on it together). */
  requestsInFlightMax?: number;
  /** Largest frame a connection sends or reads. */
  frameBytesMax?: number;
  /** The cluster's shared secret; absent: the process's (PAXOS_SECRET_FILE under the CLI). */
  secret?: Uint8Array | null;
  /** TLS to the nodes (loadClientTls); absent: the process's (PAXOS_TLS_* under the CLI). */
  tls?: ClientTls | null;
}

/**
 * At most one open connection per node address, shared by every PaxosClient
 * given the pool. Requests on a connection are matched to answers by id, so
 * sessions never see each other's answers; what they share is the socket,
 * which lets a node answer many sessions with one write.
 */
export class ConnectionPool {
  private readonly connections = new Map<string, Promise<NodeConnection>>();
  private closed = false;

  constructor(private readonly options: ConnectionPoolOptions = {}) {}

  /** The open connection to `address` (host:port), or a new one within `timeoutMs`. Failed and closed ones leave the pool. */
  connect(address: string, timeoutMs: number): Promise<NodeConnection> {
    if (this.closed) return Promise.reject(new ClientClosedError());
    const cached = this.connections.get(address);
    if (cached !== undefined) return cached;
    const forget = (): void => {
      if (this.connections.get(address) === opening) this.connections.delete(address);
    };
    const opening = NodeConnection.open({ address: parseAddress(address), connectTimeoutMs: Math.max(1, timeoutMs), ...this.options }).then((connection) => {
      connection.onClose(forget);
      if (this.closed) {
        connection.close();
        throw new ClientClosedError();
      }
      return connection;
    });
    opening.catch(forget);
    this.connections.set(address, opening);
    return opening;
  }

  /** Closes every connection; requests still waiting on them fail with `connection_closed`. */
  close(): void {
    this.closed = true;
    for (const opening of this.connections.values()) {
      opening.then((connection) => connection.close(), () => undefined);
    }
    this.connections.clear();
  }
}

/**
 * What one submit has seen so far, to decide its outcome if it never gets an
 * answer: `unknown` as soon as any attempt may have been proposed, otherwise
 * `not_applied` with the most telling reason.
 */
class AttemptLedger {
  readonly tried: string[] = [];
  anyNodeReached = false;
  private mayHaveBeenProposed = false;
  private lastError = 'no attempt was made';
  /**
   * What each address said last, in the order first tried: "no leader found"
   * names them all, since the telling one (the leader refusing a connection,
   * say) is rarely the last said.
   */
  private readonly lastWords = new Map<string, string>();
  private lastRejection: string | null = null;
  private readonly startedAt = Date.now();

  constructor(private readonly timeoutMs: number) {}

  elapsedMs(): number {
    return Date.now() - this.startedAt;
  }

  remainingMs(): number {
    return this.timeoutMs - this.elapsedMs();
  }

  contacted(address: string): void {
    if (!this.tried.includes(address)) this.tried.push(address);
  }

  reached(): void {
    this.anyNodeReached = true;
  }

  connectFailed(address: string, message: string): void {
    this.said(address, message);
  }

  requestFailed(address: string | null, message: string, sent: boolean): void {
    this.said(address, message);
    if (sent) this.mayHaveBeenProposed = true;
  }

  redirected(from: string, leader: NodeId | null): void {
    this.said(from, leader === null ? `${from} knows no leader (an election is probably running)` : `${from} redirected to node ${leader}`);
  }

  nodeError(address: string, response: ErrorResponse): void {
    this.said(address, `${address}: ${response.message} (${response.code})`);
    if (response.indeterminate) this.mayHaveBeenProposed = true;
    else this.lastRejection = this.lastError;
  }

  private said(address: string | null, message: string): void {
    this.lastError = message;
    if (address !== null) this.lastWords.set(address, message);
  }

  /** A session error's outcome, as the one table says: unknown when the command may have been applied. */
  sessionOutcome(code: SessionErrorCode): SubmitOutcome {
    const tried = [...this.tried];
    if (sessionErrors[code].indeterminate) return { status: 'unknown', code, error: `outcome unknown: ${this.lastError}`, tried };
    return { status: 'not_applied', code: 'rejected', error: this.lastError, tried };
  }

  outcome(code?: NotAppliedCode): SubmitOutcome {
    const tried = [...this.tried];
    if (this.mayHaveBeenProposed) {
      const error = `outcome unknown after ${this.elapsedMs()}ms: the command may have been applied (last error: ${this.lastError})`;
      return { status: 'unknown', code: 'outcome_unknown', error, tried };
    }
    const notAppliedCode = code ?? this.notAppliedCode();
    return { status: 'not_applied', code: notAppliedCode, error: this.notAppliedMessage(notAppliedCode), tried };
  }

  private notAppliedCode(): NotAppliedCode {
    if (!this.anyNodeReached) return 'no_node_reachable';
    return this.lastRejection === null ? 'no_leader' : 'rejected';
  }

  private notAppliedMessage(code: NotAppliedCode): string {
    switch (code) {
      case 'no_node_reachable':
        return `no node reachable (tried ${this.tried.join(', ')}): ${this.lastError}`;
      case 'no_leader':
        return `no leader found within ${this.elapsedMs()}ms (is a majority of the nodes up?): ${this.lastWords.size > 0 ? [...this.lastWords.values()].join('; ') : this.lastError}`;
      case 'rejected':
        return `rejected before it was proposed: ${this.lastRejection ?? this.lastError}`;
      case 'client_closed':
        return 'the client was closed before the command could be sent';
      case 'request_too_large':
        return this.lastError;
    }
  }
}

function isSessionError(code: string): code is SessionErrorCode {
  return Object.hasOwn(sessionErrors, code);
}

/** The session id a registration's result names, when it is one of `nonce`'s. */
function sessionIdOf(result: unknown, nonce: string): string | null {
  const session = typeof result === 'object' && result !== null ? (result as { session?: unknown }).session : undefined;
  return typeof session === 'string' && session.startsWith(`${nonce}@`) ? session : null;
}

/** A command that waited for a registration that failed was never sent: certainly not applied. */
function registrationFailed(outcome: SubmitOutcome): SubmitOutcome {
  const why = 'could not register a session, so the command was not sent';
  switch (outcome.status) {
    case 'not_applied':
      return { ...outcome, error: `${why}: ${outcome.error}` };
    case 'unknown':
      return { status: 'not_applied', code: 'no_leader', error: `${why}: ${outcome.error}`, tried: outcome.tried };
    case 'refused':
      return { status: 'not_applied', code: 'rejected', error: `${why}: the registration was refused: ${outcome.error}`, tried: [outcome.address] };
    case 'applied':
      return { status: 'not_applied', code: 'rejected', error: `${why}: ${outcome.address} answered the registration with ${JSON.stringify(outcome.result)}`, tried: [outcome.address] };
  }
}

function closedOutcome(): SubmitOutcome {
  return { status: 'not_applied', code: 'client_closed', error: 'the client was closed before the command could be sent', tried: [] };
}

function statusReport(address: string, response: ClientResponse): NodeStatusReport {
  if (response.type === 'status_reply') return { address, reachable: true, status: response.status };
  const error = response.type === 'error' ? `${response.message} (${response.code})` : `unexpected ${response.type} answer to status`;
  return { address, reachable: false, code: 'node_error', error: `${address}: ${error}` };
}

/** Redirect addresses come from the node as text; compare them in the client's own spelling. */
function normaliseAddress(text: string): string | null {
  try {
    return formatAddress(parseAddress(text));
  } catch {
    return null;
  }
}

function checkPositive(name: string, value: number): void {
  if (!(value > 0)) throw new InvalidOptionError(`PaxosClient option ${name} must be positive, got ${value}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
