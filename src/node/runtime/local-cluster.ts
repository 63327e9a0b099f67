// `paxos cluster start`: N local node processes on consecutive ports, their logs
// streamed with a prefix, stopped together. It restarts nothing by itself: a
// node killed from outside stays dead, so an operator can watch the others
// carry on. A node that fails on its own (its port is taken, its data dir
// belongs to another cluster) stops the whole cluster, which then exits non-zero:
// a "cluster" that can never form must not look like one that runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { clusterIdFor, readIdentity } from '../storage/identity.js';
import { listenAdvice, type ListenFlags } from './start-advice.js';

export interface LocalClusterOptions {
  nodes: number;
  basePort: number;
  host: string;
  /** Parent of the nodes' data dirs (n1, n2, ...); give it absolute, so the printed command lines work from anywhere. */
  dir: string;
  /** The `paxos` entry script to run the nodes with. */
  entry: string;
  /** Extra flags passed to every `paxos node start`. */
  nodeFlags: string[];
  /** Flags for node `id` alone (e.g. its own TLS certificate). */
  flagsFor?: (id: number) => string[];
  /**
   * How many nodes founded the cluster in --dir (see foundingSize), when fewer
   * than `nodes`: nodes 1..foundingNodes start as before, and the rest grow the
   * cluster (they start with --join once added as members).
   */
  foundingNodes?: number;
}

/** One node of a local cluster, as it will be started. */
export interface LocalNode {
  id: number;
  /** host:port, as clients dial it. */
  address: string;
  port: number;
  dataDir: string;
  /** The program and arguments spawned: process.execPath, then the entry script and `node start ...`. */
  argv: string[];
  /**
   * argv quoted for a POSIX shell, without `--initial-cluster-state new`: what
   * an operator pastes to restart this node by hand. The flag is for the first
   * start only; on a restart the data dir says what the node promised, and a
   * line kept with it would make an emptied data dir vote at once.
   */
  commandLine: string;
  /** Not a founder: it starts with --join once the founders serve, after `member add` (see growLocalCluster). */
  grows: boolean;
}

export interface LocalClusterPlan {
  nodes: LocalNode[];
  /** The value of PAXOS_CLUSTER for clients. */
  addresses: string;
  /**
   * No data dir existed: a brand-new cluster, so every node starts with
   * `--initial-cluster-state new` and votes at once. When any dir exists, none
   * does: a missing dir next to existing ones is a wiped disk, which joins as a new
   * incarnation (or, beyond the founders, a node that grows the cluster).
   */
  fresh: boolean;
}

export function peersFlag(options: Pick<LocalClusterOptions, 'nodes' | 'basePort' | 'host'>): string {
  return Array.from({ length: options.nodes }, (_, i) => `${i + 1}=${options.host}:${options.basePort + i}`).join(',');
}

/** Decides every node's command line. Reads only whether the data dirs exist. */
export function planLocalCluster(options: LocalClusterOptions): LocalClusterPlan {
  const founders = Math.min(options.foundingNodes ?? options.nodes, options.nodes);
  // The cluster id comes from the founders' ids (storage/identity.ts), so the founders keep their --peers.
  const peers = peersFlag({ ...options, nodes: founders });
  const ids = Array.from({ length: options.nodes }, (_, i) => i + 1);
  const addresses = ids.map((id) => `${options.host}:${options.basePort + id - 1}`);
  const founderAddresses = addresses.slice(0, founders).join(',');
  const dataDirs = ids.map((id) => join(options.dir, `n${id}`));
  const fresh = dataDirs.every((dataDir) => !existsSync(dataDir));
  const nodes = ids.map((id, i): LocalNode => {
    const port = options.basePort + i;
    const address = addresses[i];
    const grows = id > founders;
    const restart = [
      process.execPath,
      options.entry,
      'node',
      'start',
      '--id',
      String(id),
      ...(grows ? ['--join', founderAddresses, '--listen', address] : ['--peers', peers]),
      '--data-dir',
      dataDirs[i],
      ...options.nodeFlags,
      ...(options.flagsFor?.(id) ?? []),
    ];
    const argv = fresh ? [...restart, '--initial-cluster-state', 'new'] : restart;
    return { id, address, port, dataDir: dataDirs[i], argv, commandLine: restart.map(shellQuote).join(' '), grows };
  });
  return { nodes, addresses: addresses.join(','), fresh };
}

/**
 * How many nodes founded the cluster whose data dirs are in `dir` (n1, n2, ...):
 * the founders' ids are part of the cluster id, so it is the K in 1..nodesMax
 * whose id, with `token`, is the one recorded in the data dirs. Null when no
 * data dir holds an identity, or none of those K matches (another token).
 */
export async function foundingSize(dir: string, token: string, nodesMax: number): Promise<number | null> {
  const clusterIds = new Set<string>();
  for (let id = 1; id <= nodesMax; id += 1) {
    const identity = await readIdentity(join(dir, `n${id}`)).catch(() => null);
    if (identity !== null) clusterIds.add(identity.clusterId);
  }
  for (let size = 1; size <= nodesMax; size += 1) {
    if (clusterIds.has(clusterIdFor(token, Array.from({ length: size }, (_, i) => i + 1)))) return size;
  }
  return null;
}

/**
 * A warning for an even --nodes, or null: a majority of 2f+2 nodes is f+2, so
 * it survives f failures, no more than 2f+1 nodes do, with one more machine
 * that can fail and a larger quorum to wait for.
 */
export function clusterSizeWarning(nodes: number): string | null {
  if (nodes % 2 === 1) return null;
  const survives = (nodes - 2) / 2;
  return (
    `--nodes ${nodes} survives ${survives} failed node${survives === 1 ? '' : 's'} (a majority of ${nodes} is ${nodes / 2 + 1}), ` +
    `no more than --nodes ${nodes - 1}; an odd size (${nodes - 1} or ${nodes + 1}) is better. Starting ${nodes} nodes anyway.`
  );
}

/** Quotes one word for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_\/.,:=@%+-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/** How a local cluster ended. */
export type LocalClusterEnd =
  /** stop() was called (Ctrl-C, SIGTERM): every node was asked to stop. */
  | { kind: 'stopped' }
  /** A node failed on its own, or the nodes did not all serve in time; the others were stopped. */
  | { kind: 'failed'; message: string }
  /** Every node was killed from outside (kill -9 of each); there is nothing left to run. */
  | { kind: 'gone'; message: string };

export interface LocalClusterRunOptions {
  /**
   * Whether the node at `address` serves: it answers a status request. The
   * caller builds it on the client library with the cluster's secret and TLS.
   */
  probe: (address: string) => Promise<boolean>;
  /** Every node must serve within this long, or the cluster is stopped as failed. */
  readyTimeoutMs?: number;
  /** Pause between probes of a node that does not serve yet. */
  probeIntervalMs?: number;
  /** A node still running this long after it was asked to stop is killed (SIGKILL). */
  stopGraceMs?: number;
  /** Each line of the nodes' output (prefixed `[nID] `) and of the cluster's own account. */
  write: (line: string) => void;
}

export interface LocalCluster {
  readonly plan: LocalClusterPlan;
  /** Resolves true once every node answers a status request; false if the cluster ended first. */
  readonly ready: Promise<boolean>;
  /** Resolves once every node has exited, saying why. */
  readonly ended: Promise<LocalClusterEnd>;
  /** Asks every node to stop (SIGTERM), killing any that is still there after stopGraceMs. */
  stop(): void;
  /** Spawns a node that `grows` the cluster; resolves true once it answers a status request. */
  startGrowing(node: LocalNode): Promise<boolean>;
}

/**
 * A node's start-up can take a while: after kill -9 the data-dir lock is
 * waited out (up to 15 s, see storage/lock.ts) and a long log is replayed.
 */
export const localClusterReadyMsDefault = 30_000;
const probeIntervalMsDefault = 200;
/** A graceful stop flushes the log and releases the lock; seconds are plenty. */
const stopGraceMsDefault = 10_000;
/** Lines of each node's output kept to explain why it failed. */
const outputLinesKeptMax = 50;

/** Spawns the planned nodes; see LocalCluster for what it reports. */
export function startLocalCluster(plan: LocalClusterPlan, options: LocalClusterRunOptions): LocalCluster {
  return new RunningLocalCluster(plan, options);
}

class RunningLocalCluster implements LocalCluster {
  readonly ready: Promise<boolean>;
  readonly ended: Promise<LocalClusterEnd>;
  private readonly children = new Map<number, ChildProcess>();
  private readonly output = new Map<number, string[]>();
  private readonly running = new Set<number>();
  private end: LocalClusterEnd | null = null;
  private settleEnded!: (end: LocalClusterEnd) => void;
  private killTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly plan: LocalClusterPlan,
    private readonly options: LocalClusterRunOptions,
  ) {
    this.ended = new Promise((resolve) => (this.settleEnded = resolve));
    const founders = plan.nodes.filter((node) => !node.grows);
    for (const node of founders) this.spawn(node);
    this.ready = this.waitUntilServing(founders);
  }

  stop(): void {
    this.finish({ kind: 'stopped' });
  }

  startGrowing(node: LocalNode): Promise<boolean> {
    if (this.end !== null) return Promise.resolve(false);
    this.spawn(node);
    return this.waitUntilServing([node]);
  }

  private spawn(node: LocalNode): void {
    const [program, ...args] = node.argv;
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.set(node.id, child);
    this.running.add(node.id);
    this.output.set(node.id, []);
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on('line', (line) => {
        const kept = this.output.get(node.id) ?? [];
        kept.push(line);
        if (kept.length > outputLinesKeptMax) kept.shift();
        this.options.write(`[n${node.id}] ${line}`);
      });
    }
    // 'close' rather than 'exit': the node's last lines (why it failed) have been read by then.
    child.once('close', (code, signal) => this.onExit(node, code, signal));
    child.once('error', (error) => this.options.write(`[n${node.id}] could not be run: ${error.message}`));
  }

  private onExit(node: LocalNode, code: number | null, signal: NodeJS.Signals | null): void {
    this.running.delete(node.id);
    const how = signal ?? `code ${code}`;
    if (this.end !== null) {
      // Stopping: only a node that did not stop cleanly is worth a line.
      if (code !== 0) this.options.write(`[n${node.id}] exited (${how})`);
    } else if (signal === null && code !== 0) {
      this.options.write(`[n${node.id}] exited (${how})`);
      this.finish({ kind: 'failed', message: this.explainFailure(node, how) });
    } else if (this.running.size === 0) {
      this.options.write(`[n${node.id}] exited (${how})`);
      this.finish({ kind: 'gone', message: `every node has exited (the last, node ${node.id}, by ${how}); cluster start restarts nothing by itself` });
    } else {
      // Killed from outside (kill -9, a signal): the others carry on, as a real cluster would.
      this.options.write(`[n${node.id}] exited (${how}); the others carry on. To restart it, run its command line (printed above as "[n${node.id}] command:")`);
    }
    if (this.running.size === 0) {
      if (this.killTimer !== null) clearTimeout(this.killTimer);
      this.settleEnded(this.end ?? { kind: 'stopped' });
    }
  }

  /** Ends the cluster once: records why and asks every node that still runs to stop. */
  private finish(end: LocalClusterEnd): void {
    if (this.end !== null) return;
    this.end = end;
    // The caller reports the message itself, after the nodes' last lines.
    if (this.running.size > 0 && end.kind === 'failed') this.options.write('cluster: stopping the other nodes');
    for (const id of this.running) this.children.get(id)?.kill('SIGTERM');
    if (this.running.size === 0) return this.settleEnded(end);
    this.killTimer = setTimeout(() => {
      for (const id of this.running) {
        this.options.write(`[n${id}] still running ${this.options.stopGraceMs ?? stopGraceMsDefault}ms after SIGTERM: killing it`);
        this.children.get(id)?.kill('SIGKILL');
      }
    }, this.options.stopGraceMs ?? stopGraceMsDefault);
    this.killTimer.unref();
  }

  /** Probes the nodes until each answers a status request, the cluster ends, or the time limit passes. */
  private async waitUntilServing(nodes: readonly LocalNode[]): Promise<boolean> {
    const timeoutMs = this.options.readyTimeoutMs ?? localClusterReadyMsDefault;
    const deadline = Date.now() + timeoutMs;
    const waiting = new Set(nodes.map((node) => node.id));
    while (this.end === null) {
      const answers = await Promise.all(
        nodes.filter((node) => waiting.has(node.id)).map(async (node) => ({ id: node.id, serving: await this.options.probe(node.address) })),
      );
      for (const answer of answers) if (answer.serving) waiting.delete(answer.id);
      if (this.end !== null) return false;
      if (waiting.size === 0) return true;
      if (Date.now() >= deadline) {
        const ids = [...waiting].map((id) => `node ${id} (${this.plan.nodes[id - 1].address})`).join(', ');
        this.finish({ kind: 'failed', message: `${ids} did not answer a status request within ${timeoutMs}ms; see the [n] lines above for why` });
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, this.options.probeIntervalMs ?? probeIntervalMsDefault));
    }
    return false;
  }

  private explainFailure(node: LocalNode, how: string): string {
    const failure = startFailure(this.output.get(node.id) ?? []);
    const reason = failure === null ? '' : `: ${failure.error}`;
    return `node ${node.id} exited (${how})${reason}. ${advice(node, failure?.code ?? null, this.plan)}`;
  }
}

/** The error and code of a node's `could not start` line (pretty or JSON log format), if it logged one. */
export function startFailure(lines: readonly string[]): { error: string; code: string | null } | null {
  for (const line of [...lines].reverse()) {
    if (!line.includes('could not start')) continue;
    const json = parseJsonLine(line);
    if (json !== null) return { error: String(json.error ?? ''), code: typeof json.code === 'string' ? json.code : null };
    // The pretty format: `... ERROR could not start node=1 error=<message> code=<code>`.
    const match = /could not start(?: node=\S+)? error=(.*?)(?: code=(\S+))?$/.exec(line);
    if (match !== null) return { error: match[1], code: match[2] ?? null };
  }
  return null;
}

function parseJsonLine(line: string): Record<string, unknown> | null {
  const start = line.indexOf('{');
  if (start < 0) return null;
  try {
    const value: unknown = JSON.parse(line.slice(start));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** cluster start sets every node's port from --base-port and its host from --host. */
const clusterListenFlags: ListenFlags = { port: '--base-port', host: '--host address' };

/** What the operator of a local cluster can do about a node that could not start. */
function advice(node: LocalNode, code: string | null, plan: LocalClusterPlan): string {
  const listen = listenAdvice(code, node.port, clusterListenFlags);
  if (listen !== null) return listen;
  switch (code) {
    case 'DATA_DIR_LOCKED':
      return `Its data dir ${node.dataDir} is used by another running node (another cluster start on the same --dir?): stop that one, or use another --dir.`;
    case 'DATA_DIR_INVALID':
      return `Its data dir ${node.dataDir} cannot be used (see above): give --dir a directory this user may write.`;
    case 'WRONG_CLUSTER':
    case 'WRONG_NODE':
      return `Its data dir ${node.dataDir} belongs to another cluster: start with the same --nodes and --cluster-token as when --dir was made (this run has ${plan.nodes.length} nodes), or use another --dir.`;
    default:
      return `See its log above (the [n${node.id}] lines) for why.`;
  }
}

/** What the cluster needs from its clients beyond PAXOS_CLUSTER, for the hint. */
export interface ClientHintOptions {
  /** The cluster's addresses are the clients' default (127.0.0.1:7401..7403): no -c needed. */
  defaultAddresses: boolean;
  /** The --state-machine module, when it is not the built-in key-value store. */
  stateMachine?: string;
  /** Client commands need more exports than PAXOS_CLUSTER (a secret file, TLS files). */
  needsExports: boolean;
  /** How the user runs the CLI: `npx paxos` in the checkout, `paxos` once installed (see src/cli/invocation.ts). */
  command: string;
}

/** The lines to print once the cluster serves: how to reach it, with commands that fit its state machine. */
export function readyHint(plan: LocalClusterPlan, options: ClientHintOptions): string[] {
  // After the exports, PAXOS_CLUSTER names the nodes; without them, -c does.
  const cluster = options.defaultAddresses || options.needsExports ? '' : ` -c ${plan.addresses}`;
  const example = options.stateMachine === undefined
    ? 'set x 1'
    : `WORD...    # the words reach ${options.stateMachine}'s apply as an array of strings`;
  return [
    `ready: ${plan.nodes.length} node${plan.nodes.length === 1 ? '' : 's'} serving at ${plan.addresses} (Ctrl-C stops them all)`,
    options.needsExports ? 'in another shell, run the export lines printed on stdout (the clients need them), then try:' : 'in another shell, try:',
    `  ${options.command} submit${cluster} ${example}`,
    `  ${options.command} status${cluster}`,
  ];
}
