// `paxos cluster start`: N local node processes on consecutive ports, their logs
// streamed with a prefix, stopped together. It restarts nothing by itself: a
// node that dies stays dead, so an operator can watch the others carry on.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface LocalClusterOptions {
  nodes: number;
  basePort: number;
  host: string;
  dir: string;
  /** The `paxos` entry script to run the nodes with. */
  entry: string;
  /** Extra flags passed to every `paxos node start`. */
  nodeFlags: string[];
  /** Flags for node `id` alone (e.g. its own TLS certificate). */
  flagsFor?: (id: number) => string[];
  write: (line: string) => void;
}

export interface LocalCluster {
  /** The value of PAXOS_CLUSTER for clients. */
  readonly addresses: string;
  /** Resolves when every node has exited. */
  readonly exited: Promise<void>;
  stop(): void;
}

export function peersFlag(options: Pick<LocalClusterOptions, 'nodes' | 'basePort' | 'host'>): string {
  return Array.from({ length: options.nodes }, (_, i) => `${i + 1}=${options.host}:${options.basePort + i}`).join(',');
}

export function startLocalCluster(options: LocalClusterOptions): LocalCluster {
  const peers = peersFlag(options);
  const children: ChildProcess[] = [];
  const exits: Promise<void>[] = [];
  let stopping = false;
  for (let id = 1; id <= options.nodes; id += 1) {
    const args = [options.entry, 'node', 'start', '--id', String(id), '--peers', peers, '--data-dir', join(options.dir, `n${id}`), ...options.nodeFlags, ...(options.flagsFor?.(id) ?? [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on('line', (line) => options.write(`[n${id}] ${line}`));
    }
    exits.push(
      new Promise((resolve) =>
        child.once('exit', (code, signal) => {
          if (!stopping || code !== 0) options.write(`[n${id}] exited (${signal ?? `code ${code}`})`);
          resolve();
        }),
      ),
    );
  }
  return {
    addresses: Array.from({ length: options.nodes }, (_, i) => `${options.host}:${options.basePort + i}`).join(','),
    exited: Promise.all(exits).then(() => undefined),
    stop: () => {
      stopping = true;
      for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}
