// The client half of the package's library API (`import { connect } from
// 'paxos-rsm'`): a PaxosClient for leader discovery, retries and sessions, plus
// the state machine the cluster runs and client voting. `paxos submit` is
// built on it.
import { builtinStateMachineIdentity, type ReadConsistency } from '../wire/protocol.js';
import { ConnectionPool, PaxosClient, paxosClientDefaults, type NodeStatusReport, type PaxosClientOptions, type SubmitOutcome } from './client.js';
import { formatAddress, parseAddress, parseClusterAddresses, resolveCluster, type ClusterAddress } from './options.js';
import { verifySlot, verifyWaitMsDefault, type Verification } from './verify.js';
import type { ClientTls } from '../net/tls.js';

/** How long `submit` waits, retries included, unless told otherwise. */
export const submitTimeoutMsDefault = 10_000;

/** Options of {@link connect}. All are optional. */
export interface ConnectOptions {
  /** How long one `submit` may take in all, retries included; default 10 s. */
  timeoutMs?: number;
  /**
   * The nonce this client registers its sessions with; random by default
   * (see PaxosClientOptions.clientId).
   */
  clientId?: string;
  /** Vote on every applied command (see {@link SubmitOptions.verify}); default false. */
  verify?: boolean;
  /** How long a vote waits for replicas that have not applied the slot yet; default 2 s. */
  verifyWaitMs?: number;
  /** Limit for TCP connect plus handshake with one node; default 1 s. */
  connectTimeoutMs?: number;
  /** Limit for one request to one node before trying another; default 3 s. */
  attemptTimeoutMs?: number;
  /**
   * The cluster's shared secret, when its nodes were started with one
   * (`--secret-file`): the same bytes the nodes use (`secretFromBytes` of the
   * file, as the CLI reads it, drops its trailing newline). Absent: the
   * process's (`PAXOS_SECRET_FILE` under the CLI, else none); null: none.
   */
  secret?: Uint8Array | null;
  /**
   * Sockets to share with other clients of the same cluster in this process:
   * many sessions (one client per concurrent stream of commands), few sockets,
   * and a node answers all the sessions on one socket that a slot applied in
   * one write. `secret` and `tls` are then the pool's. Closing the client
   * leaves the pool open; close it when every client using it is done.
   *
   * @example
   * const pool = new ConnectionPool();
   * const clients = Array.from({ length: 32 }, () => connect(addresses, { pool }));
   * // ... clients[i].submit(...) concurrently ...
   * for (const client of clients) client.close();
   * pool.close();
   */
  pool?: ConnectionPool;
  /**
   * TLS to the nodes, when they were started with `--tls-*`: from
   * `loadClientTls` (the CA that signed the nodes' certificates, and
   * optionally a client certificate). Absent: the process's (`PAXOS_TLS_*`
   * under the CLI, else plain TCP); null: plain TCP.
   *
   * @example
   * const client = connect('10.0.0.1:7401', { tls: loadClientTls({ ca: 'ca.crt' }) });
   */
  tls?: ClientTls | null;
}

/** Options of one {@link ClusterClient.submit}. */
export interface SubmitOptions {
  /**
   * After the command is applied at slot S, ask every replica for the outcome
   * it computed at S and report how many agree (client voting). Overrides
   * {@link ConnectOptions.verify}.
   */
  verify?: boolean;
}

/**
 * How a read is answered (SPEC: Reads): `linearizable` (the default) by the
 * leader without the log, once it has confirmed with a majority that it still
 * leads; `log` as a command through the log, like any write; `local` at once
 * by the first replica that answers, from its applied state, possibly stale.
 */
export type Consistency = ReadConsistency | 'log';

/** Every {@link Consistency}, in the order `paxos submit --consistency` lists them. */
export const consistencies: readonly Consistency[] = ['linearizable', 'log', 'local'];

/** Options of one {@link ClusterClient.query}. */
export interface QueryOptions {
  /** Default `linearizable`. */
  consistency?: Consistency;
}

/**
 * What became of a submitted command (see SubmitOutcome), with the vote when
 * one was asked for and the command was applied (status `applied` or `refused`).
 */
export type SubmitResult = SubmitOutcome & { verification?: Verification };

/** What {@link ClusterClient.probe} found: the cluster's state machine, or why no node answered. */
export type ClusterProbe = { reached: true; stateMachine: string } | { reached: false; outcome: SubmitOutcome };

/**
 * A client of one cluster. It registers a session before its first command;
 * each command carries the session id and the next sequence number, so a
 * command retried across leader changes is executed at most once. Overlapping
 * submits are pipelined (up to 64 seqs open, numbered in call order; their
 * slots may differ from the call order): await each for one at a time.
 */
export interface ClusterClient {
  /** The nonce this client registers its sessions with. */
  readonly clientId: string;
  /** The cluster's addresses as this client dials them (host:port). */
  readonly addresses: readonly string[];
  /**
   * Submits `command` (any msgpack-able value: what the state machine's
   * `apply` receives) and waits until it is applied or the timeout passes.
   * Never rejects for operating errors: nodes down, no leader and timeouts are
   * outcomes (`not_applied`, `unknown`).
   */
  submit(command: unknown, options?: SubmitOptions): Promise<SubmitResult>;
  /**
   * Reads with a read-only `command` (the built-in store's `["get", K]`, or
   * what a user state machine's `query` export takes), without the log unless
   * `consistency` is `log`. An `applied` outcome's `read` says how it was
   * answered and from which applied slot (for `local`, how far the replica knew
   * itself behind). A read never changes state, so it is never `unknown`
   * (except through the log). It does not wait for this client's commands
   * still running: await them first.
   */
  query(command: unknown, options?: QueryOptions): Promise<SubmitResult>;
  /** Votes on an applied slot: asks every replica for the outcome it computed there. */
  verify(slot: number, answeredBy?: string): Promise<Verification>;
  /**
   * The identity of the state machine the cluster runs (`builtin:kv@1` for
   * the built-in key-value store), from the first node that answers; null
   * when none does (see {@link ClusterClient.probe} for why). Learned once,
   * then remembered.
   */
  stateMachine(): Promise<string | null>;
  /**
   * Reaches a node (retrying as `submit` does) and says which state machine
   * the cluster runs; or, when no node answers, the `not_applied` outcome a
   * submit would have had (`no_node_reachable`, the addresses tried, the last
   * reason: refused, TLS, secret, connection limit). Never rejects.
   */
  probe(): Promise<ClusterProbe>;
  /** Asks every node for its status, in parallel; one report per address. */
  status(): Promise<NodeStatusReport[]>;
  /** Closes every connection. */
  close(): void;
}

/**
 * Makes a client of the cluster at `addresses` (`"host:port,host:port"` or a
 * list; default: `PAXOS_CLUSTER`, else the local cluster on ports 7401-7403).
 * Nothing is dialled until the first request.
 *
 * @example
 * const client = connect('127.0.0.1:7401,127.0.0.1:7402,127.0.0.1:7403', { verify: true });
 * const outcome = await client.submit(['deposit', 'alice', '10']);
 * if (outcome.status === 'applied') console.log(outcome.result, outcome.verification?.verdict);
 * client.close();
 */
export function connect(addresses?: string | readonly (string | ClusterAddress)[], options: ConnectOptions = {}): ClusterClient {
  return new Client(clusterAddresses(addresses), options);
}

function clusterAddresses(addresses: string | readonly (string | ClusterAddress)[] | undefined): ClusterAddress[] {
  if (addresses === undefined) return resolveCluster();
  if (typeof addresses === 'string') return parseClusterAddresses(addresses);
  return addresses.map((address) => (typeof address === 'string' ? parseAddress(address) : address));
}

class Client implements ClusterClient {
  readonly addresses: readonly string[];
  private readonly paxos: PaxosClient;
  private readonly verifyByDefault: boolean;
  private readonly verifyWaitMs: number;
  private readonly connectTimeoutMs: number;
  private learnedStateMachine: string | null = null;

  constructor(addresses: ClusterAddress[], options: ConnectOptions) {
    const clientOptions: PaxosClientOptions = {
      addresses,
      timeoutMs: options.timeoutMs ?? submitTimeoutMsDefault,
      clientId: options.clientId,
      connectTimeoutMs: options.connectTimeoutMs,
      attemptTimeoutMs: options.attemptTimeoutMs,
      secret: options.secret,
      tls: options.tls,
      pool: options.pool,
    };
    this.paxos = new PaxosClient(clientOptions);
    this.addresses = addresses.map(formatAddress);
    this.verifyByDefault = options.verify ?? false;
    this.verifyWaitMs = options.verifyWaitMs ?? verifyWaitMsDefault;
    this.connectTimeoutMs = options.connectTimeoutMs ?? paxosClientDefaults.connectTimeoutMs;
  }

  get clientId(): string {
    return this.paxos.clientId;
  }

  async submit(command: unknown, options: SubmitOptions = {}): Promise<SubmitResult> {
    const outcome: SubmitResult = await this.paxos.submit(command);
    if (!(options.verify ?? this.verifyByDefault)) return outcome;
    if (outcome.status !== 'applied' && outcome.status !== 'refused') return outcome;
    return { ...outcome, verification: await this.verify(outcome.slot, outcome.address) };
  }

  query(command: unknown, options: QueryOptions = {}): Promise<SubmitResult> {
    const consistency = options.consistency ?? 'linearizable';
    if (consistency === 'log') return this.paxos.submit(command);
    return this.paxos.query(command, consistency);
  }

  verify(slot: number, answeredBy?: string): Promise<Verification> {
    return verifySlot({ client: this.paxos, addresses: this.addresses, slot, answeredBy, waitMs: this.verifyWaitMs, connectTimeoutMs: this.connectTimeoutMs });
  }

  /** Tries the addresses in order, so the connection it opens is the one submit tries first. */
  async probe(): Promise<ClusterProbe> {
    if (this.learnedStateMachine !== null) return { reached: true, stateMachine: this.learnedStateMachine };
    const reached = await this.paxos.reach();
    if ('outcome' in reached) return { reached: false, outcome: reached.outcome };
    this.learnedStateMachine = reached.connection.stateMachine;
    return { reached: true, stateMachine: this.learnedStateMachine };
  }

  async stateMachine(): Promise<string | null> {
    const probe = await this.probe();
    return probe.reached ? probe.stateMachine : null;
  }

  status(): Promise<NodeStatusReport[]> {
    return this.paxos.statusAll();
  }

  close(): void {
    this.paxos.close();
  }
}

/**
 * True when `identity` names the built-in key-value store, whose verbs
 * `paxos submit` checks; also for null (no node answered), since the built-in
 * store is the default.
 */
export function isBuiltinStateMachine(identity: string | null): boolean {
  return identity === null || identity === builtinStateMachineIdentity;
}
