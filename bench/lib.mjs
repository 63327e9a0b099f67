// Pieces the benchmarks share: free ports, a local paxos cluster of real
// processes, resident memory read from /proc, and waiting with a deadline.
// Benchmarks are never part of `npm test`; they need `npm ci` (for dist/).
import { spawn } from 'node:child_process';
import { openSync, readFileSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(fileURLToPath(import.meta.url), '../..');

/** Ports free right now on 127.0.0.1 (the OS picks them). */
export async function freePorts(count) {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise((done) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => done(server));
  })));
  const found = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
  return found;
}

/**
 * A three-node (or `ports.length`-node) paxos cluster of `paxos node start`
 * processes in `work`, with `flags` added to every node, run from `checkout`
 * (this one by default; another built checkout to compare). `start(id)` (re)starts
 * one; `children` maps id to process; `stop()` kills them all.
 */
export function paxosCluster({ work, ports, flags = [], nodeArgs = [], checkout = root }) {
  const peers = ports.map((port, i) => `${i + 1}=127.0.0.1:${port}`).join(',');
  const children = new Map();
  const start = (id) => {
    const log = openSync(join(work, `n${id}.log`), 'a');
    children.set(id, spawn(process.execPath, [...nodeArgs, join(checkout, 'bin/run.js'), 'node', 'start', '--id', String(id), '--peers', peers,
      '--data-dir', join(work, `n${id}`), '--log-level', 'warn', ...flags],
    { stdio: ['ignore', log, log], env: { ...process.env, NODE_ENV: 'production' } }));
  };
  for (let id = 1; id <= ports.length; id += 1) start(id);
  return {
    children,
    start,
    addresses: ports.map((port) => ({ host: '127.0.0.1', port })),
    stop: () => {
      for (const child of children.values()) child.kill('SIGKILL');
    },
  };
}

/** Resident and peak resident memory of a process, in MiB (Linux /proc). */
export function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/** CPU time (user + system) a process has used, in seconds (Linux /proc). */
export function cpuSecondsOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Bytes under `path`, recursively. */
export function dirBytes(path) {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    total += entry.isDirectory() ? dirBytes(full) : statSync(full).size;
  }
  return total;
}

/** Polls `check` until it returns true, for at most `limitMs`; throws naming `what` after that. */
export async function waitFor(check, what, limitMs = 30_000) {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`${what} did not come up in ${limitMs / 1000} s`);
}

/** `--name value` from argv, or `fallback`. */
export function flag(args, name, fallback) {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : args[at + 1];
}

export function parseDurationMs(text) {
  const match = /^(\d+)(ms|s|m)$/.exec(text);
  if (!match) throw new Error(`bad duration ${text} (say 500ms, 10s or 2m)`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2]];
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
