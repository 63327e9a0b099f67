#!/usr/bin/env node
// Side-by-side benchmark: a three-node paxos cluster and a three-member etcd
// cluster on loopback, both fsyncing every write, driven by the same
// closed-loop harness (src/client/bench.ts) with the same key and value sizes
// and client counts, alternating the two systems. Also measures the machine's
// floor in the same run: fdatasync latency of small appends and the loopback
// TCP round trip. Not part of `npm test`.
//
//   node bench/compare-etcd.mjs [--duration 10s] [--clients 1,16,64,256] [--json]
//
// Needs `npm ci` (for dist/) and Debian's etcd (installed here if missing).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const { closedLoop } = await import(join(root, 'dist/client/bench.js'));
const { PaxosClient } = await import(join(root, 'dist/client/client.js'));

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : args[at + 1];
};
const durationMs = parseDurationMs(flag('duration', '10s'));
const clientCounts = flag('clients', '1,16,64,256').split(',').map(Number);
const valueBytes = Number(flag('value-size', '64'));
const asJson = args.includes('--json');
const say = (line) => process.stderr.write(`${line}\n`);

const work = mkdtempSync(join(tmpdir(), 'paxos-vs-etcd-'));
const children = [];
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

ensureEtcd();
const floor = { fdatasyncMs: await fdatasyncLatency(join(work, 'fsync-probe')), rttMs: await loopbackRoundTrip() };
say(`floor: fdatasync p50 ${floor.fdatasyncMs.toFixed(3)} ms, loopback round trip p50 ${floor.rttMs.toFixed(3)} ms`);
const ports = await freePorts(9);
const etcdEndpoints = await startEtcd(ports.slice(0, 6));
const paxosAddresses = await startPaxos(ports.slice(6, 9));

const rows = [];
for (const clients of clientCounts) {
  // Alternate which system goes first, so neither always runs on a warmer machine.
  const order = rows.length % 2 === 0 ? ['paxos', 'etcd'] : ['etcd', 'paxos'];
  const row = { clients };
  for (const system of order) {
    say(`${system}: ${clients} clients for ${durationMs / 1000}s ...`);
    row[system] = system === 'paxos' ? await benchPaxos(clients) : await benchEtcd(clients);
  }
  row.ratio = row.paxos.opsPerSecond / Math.max(1, row.etcd.opsPerSecond);
  rows.push(row);
}

const report = { machine: { cores: (await import('node:os')).cpus().length }, floor, durationMs, valueBytes, rows };
if (asJson) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
else printTable(report);
process.exit(0);

// ---- the two systems under the same harness --------------------------------

async function benchPaxos(clients) {
  const addresses = paxosAddresses.map((a) => ({ host: '127.0.0.1', port: a }));
  const pool = Array.from({ length: clients }, () => new PaxosClient({ addresses, timeoutMs: 10_000 }));
  try {
    return await closedLoop({ clients, durationMs, valueBytes, keys: 1000 }, async (index, key, value) => {
      const outcome = await pool[index].submit(['set', key, value]);
      return outcome.status === 'applied' ? 'applied' : outcome.status === 'not_applied' ? 'not_applied' : 'unknown';
    });
  } finally {
    for (const client of pool) client.close();
  }
}

async function benchEtcd(clients) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  try {
    return await closedLoop({ clients, durationMs, valueBytes, keys: 1000 }, (index, key, value) => {
      // Like etcd's own client balancer: each client sticks to one member, spread over all three.
      const endpoint = etcdEndpoints[index % etcdEndpoints.length];
      return etcdPut(agent, endpoint, key, value);
    });
  } finally {
    agent.destroy();
  }
}

function etcdPut(agent, port, key, value) {
  const body = JSON.stringify({ key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') });
  return new Promise((done) => {
    const request = http.request({ host: '127.0.0.1', port, path: '/v3/kv/put', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (response) => {
      response.resume();
      response.on('end', () => done(response.statusCode === 200 ? 'applied' : 'not_applied'));
    });
    request.on('error', () => done('unknown'));
    request.end(body);
  });
}

// ---- clusters ----------------------------------------------------------------

function ensureEtcd() {
  try {
    execFileSync('etcd', ['--version'], { stdio: 'ignore' });
  } catch {
    say('installing Debian\'s etcd (apt-get install etcd-server) ...');
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', 'etcd-server'], { stdio: 'inherit' });
  }
}

async function startEtcd(p) {
  const names = ['e1', 'e2', 'e3'];
  const peerUrl = (i) => `http://127.0.0.1:${p[3 + i]}`;
  const initial = names.map((n, i) => `${n}=${peerUrl(i)}`).join(',');
  names.forEach((name, i) => {
    const log = openSync(join(work, `${name}.log`), 'w');
    children.push(spawn('etcd', [
      '--name', name, '--data-dir', join(work, name),
      '--listen-client-urls', `http://127.0.0.1:${p[i]}`, '--advertise-client-urls', `http://127.0.0.1:${p[i]}`,
      '--listen-peer-urls', peerUrl(i), '--initial-advertise-peer-urls', peerUrl(i),
      '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', 'bench',
    ], { stdio: ['ignore', log, log], env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.arch === 'x64' ? '' : process.arch } }));
  });
  const endpoints = p.slice(0, 3);
  await waitFor(async () => (await etcdPut(undefined, endpoints[0], 'ready', 'x')) === 'applied', 'etcd');
  return endpoints;
}

async function startPaxos(p) {
  const peers = p.map((port, i) => `${i + 1}=127.0.0.1:${port}`).join(',');
  for (let id = 1; id <= 3; id += 1) {
    const log = openSync(join(work, `n${id}.log`), 'w');
    children.push(spawn(process.execPath, [join(root, 'bin/run.js'), 'node', 'start', '--id', String(id), '--peers', peers,
      '--data-dir', join(work, `n${id}`), '--fsync', 'always', '--log-level', 'warn'],
    { stdio: ['ignore', log, log], env: { ...process.env, NODE_ENV: 'production' } }));
  }
  const client = new PaxosClient({ addresses: p.map((port) => ({ host: '127.0.0.1', port })), timeoutMs: 2_000 });
  await waitFor(async () => (await client.submit(['set', 'ready', 'x'])).status === 'applied', 'paxos');
  client.close();
  return p;
}

// ---- the floor ---------------------------------------------------------------

async function fdatasyncLatency(path) {
  const handle = await open(path, 'w');
  const samples = [];
  const record = Buffer.alloc(100, 7);
  for (let i = 0; i < 500; i += 1) {
    const started = performance.now();
    await handle.write(record, 0, record.length, i * record.length);
    await handle.datasync();
    samples.push(performance.now() - started);
  }
  await handle.close();
  return median(samples);
}

async function loopbackRoundTrip() {
  const server = net.createServer((socket) => socket.on('data', (chunk) => socket.write(chunk)));
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const socket = net.connect(server.address().port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise((done) => socket.once('connect', done));
  const samples = [];
  for (let i = 0; i < 2000; i += 1) {
    const started = performance.now();
    await new Promise((done) => {
      socket.once('data', done);
      socket.write(Buffer.alloc(64));
    });
    samples.push(performance.now() - started);
  }
  socket.destroy();
  server.close();
  return median(samples);
}

// ---- helpers -----------------------------------------------------------------

function printTable(r) {
  const floorMs = r.floor.fdatasyncMs + 2 * r.floor.rttMs;
  console.log(`paxos vs etcd, 3 members each on loopback, fsync on every write, ${r.valueBytes}-byte values, ${r.durationMs / 1000}s per run, ${r.machine.cores} cores`);
  console.log(`floor (one fdatasync + two loopback round trips): ${floorMs.toFixed(3)} ms  (fdatasync ${r.floor.fdatasyncMs.toFixed(3)}, rtt ${r.floor.rttMs.toFixed(3)})`);
  console.log('clients  paxos ops/s  p50 ms  p99 ms  | etcd ops/s  p50 ms  p99 ms  | ratio');
  for (const row of r.rows) {
    const p = row.paxos;
    const e = row.etcd;
    console.log(`${String(row.clients).padStart(7)}  ${String(p.opsPerSecond).padStart(11)}  ${p.latencyMs.p50.toFixed(2).padStart(6)}  ${p.latencyMs.p99.toFixed(2).padStart(6)}  | ${String(e.opsPerSecond).padStart(10)}  ${e.latencyMs.p50.toFixed(2).padStart(6)}  ${e.latencyMs.p99.toFixed(2).padStart(6)}  | ${row.ratio.toFixed(1)}x`);
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function waitFor(check, what) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`${what} did not come up in 30 s (logs in ${work})`);
}

async function freePorts(count) {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise((done) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => done(server));
  })));
  const found = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
  return found;
}

function parseDurationMs(text) {
  const match = /^(\d+)(ms|s|m)$/.exec(text);
  if (!match) throw new Error(`bad duration ${text}`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2]];
}
