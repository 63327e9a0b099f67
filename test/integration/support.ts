// Black-box helpers: run the built `paxos` binary as real processes on free
// loopback ports in temp dirs, and kill every one of them whatever happens.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The built CLI; PAXOS_TEST_BIN points the tests at another build (e.g. one outside a shared checkout). */
export const binary = process.env.PAXOS_TEST_BIN ?? resolve(__dirname, '../../bin/run.js');

/** Spawned children run the built CLI (vitest's NODE_ENV=test would make oclif use tsx). */
const childEnv = { ...process.env, NODE_ENV: 'production', NO_COLOR: '1' };

export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<net.Server>((done) => {
      const server = net.createServer();
      server.listen(0, '127.0.0.1', () => done(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  return ports;
}

/** Whether nothing listens on 127.0.0.1:port (we could bind it). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = net.createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

/** `count` consecutive free ports (for `cluster start --base-port`), tried at random bases. */
export async function freeConsecutivePorts(count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    const free = await Promise.all(ports.map(portIsFree));
    if (free.every(Boolean)) return ports;
  }
  throw new Error(`found no ${count} consecutive free ports`);
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'paxos-it-'));
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `paxos ARGS...` to completion (with optional stdin). */
export function runCli(args: string[], options: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [binary, ...args], { env: { ...childEnv, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`paxos ${args.join(' ')} took longer than ${options.timeoutMs ?? 30_000}ms\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

export interface NodeProcess {
  id: number;
  port: number;
  dataDir: string;
  child: ChildProcess;
  log: string[];
  exited: Promise<number | null>;
}

/** A cluster of `paxos node start` processes; `stopAll` kills whatever is still running. */
export class TestCluster {
  readonly nodes = new Map<number, NodeProcess>();
  private readonly processes = new Set<ChildProcess>();

  constructor(
    readonly ports: number[],
    readonly root: string,
    private readonly extraFlags: string[] = [],
    /** Flags for one node alone (e.g. its own TLS certificate), after extraFlags. */
    private readonly flagsFor: (id: number) => string[] = () => [],
  ) {}

  static async create(size: number, extraFlags: string[] = [], flagsFor?: (id: number) => string[]): Promise<TestCluster> {
    return new TestCluster(await freePorts(size), tempDir(), extraFlags, flagsFor);
  }

  /** How many of the ports found the cluster (the others join later); all of them unless set. */
  foundingSize: number | null = null;

  get peers(): string {
    return this.ports.slice(0, this.foundingSize ?? this.ports.length).map((port, i) => `${i + 1}=127.0.0.1:${port}`).join(',');
  }

  get addresses(): string {
    return this.ports.map((port) => `127.0.0.1:${port}`).join(',');
  }

  dataDir(id: number): string {
    return join(this.root, `n${id}`);
  }

  /** Spawns node `id` and waits until it logs that it started (or fails if it exits first). */
  async start(id: number, options: { dataDir?: string; waitMs?: number; join?: string } = {}): Promise<NodeProcess> {
    const dataDir = options.dataDir ?? this.dataDir(id);
    // --join: a node that joins a running cluster through those addresses, listening on its own port.
    const membership = options.join === undefined ? ['--peers', this.peers] : ['--join', options.join, '--listen', `127.0.0.1:${this.ports[id - 1]}`];
    const args = [binary, 'node', 'start', '--id', String(id), ...membership, '--data-dir', dataDir, '--log-format', 'json', ...this.extraFlags, ...this.flagsFor(id)];
    const child = spawn(process.execPath, args, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    this.processes.add(child);
    const log: string[] = [];
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => {
      this.processes.delete(child);
      done(code);
    }));
    const started = new Promise<void>((done) => {
      let buffer = '';
      const onData = (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const line of lines) {
          log.push(line);
          if (line.includes('"node started"')) done();
        }
      };
      child.stderr.on('data', onData);
      child.stdout.on('data', onData);
    });
    const node: NodeProcess = { id, port: this.ports[id - 1], dataDir, child, log, exited };
    this.nodes.set(id, node);
    await raceStart(started, exited, options.waitMs ?? 20_000, () => log.join('\n'));
    return node;
  }

  /** Waits until node `id` has logged a line matching `pattern` (its stderr is read asynchronously). */
  async waitForLog(id: number, pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const log = () => this.nodes.get(id)?.log.join('\n') ?? '';
    while (!pattern.test(log())) {
      if (Date.now() > deadline) throw new Error(`node ${id} did not log ${pattern} in ${timeoutMs}ms:\n${log()}`);
      await new Promise((done) => setTimeout(done, 50));
    }
  }

  async startAll(): Promise<void> {
    await Promise.all(this.ports.map((_, i) => this.start(i + 1)));
  }

  kill9(id: number): Promise<number | null> {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`node ${id} was never started`);
    node.child.kill('SIGKILL');
    return node.exited;
  }

  submit(words: string[], extra: string[] = []): Promise<CliResult> {
    return runCli(['submit', '--cluster', this.addresses, ...extra, ...words]);
  }

  async status(): Promise<StatusRow[]> {
    const result = await runCli(['status', '--cluster', this.addresses, '--json']);
    return JSON.parse(result.stdout) as StatusRow[];
  }

  /** Polls status until `check` holds for the rows, or throws with the last rows seen. */
  async waitFor(check: (rows: StatusRow[]) => boolean, timeoutMs = 20_000): Promise<StatusRow[]> {
    const deadline = Date.now() + timeoutMs;
    let rows: StatusRow[] = [];
    while (Date.now() < deadline) {
      rows = await this.status();
      if (check(rows)) return rows;
      await new Promise((done) => setTimeout(done, 200));
    }
    throw new Error(`condition not met in ${timeoutMs}ms; last status: ${JSON.stringify(rows, null, 1)}`);
  }

  async stopAll(): Promise<void> {
    for (const child of this.processes) child.kill('SIGKILL');
    await Promise.all([...this.nodes.values()].map((node) => node.exited));
    rmSync(this.root, { recursive: true, force: true });
  }
}

export interface StatusRow {
  address: string;
  reachable: boolean;
  id?: number;
  role?: string;
  leader?: number | null;
  commitIndex?: number;
  lastApplied?: number;
  [key: string]: unknown;
}

async function raceStart(started: Promise<void>, exited: Promise<number | null>, waitMs: number, log: () => string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`node did not start in ${waitMs}ms:\n${log()}`)), waitMs);
  });
  const early = exited.then((code) => {
    throw new Error(`node exited (code ${code}) before it started:\n${log()}`);
  });
  try {
    await Promise.race([started, early, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
