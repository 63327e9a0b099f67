#!/usr/bin/env node
// Side-by-side benchmark: a three-node paxos cluster and a three-member etcd
// cluster on loopback, both fsyncing every write before acknowledging it,
// driven by the same closed-loop harness (closedLoop in src/client/bench.ts)
// with the same key and value sizes, client counts and connection counts,
// alternating the two systems. etcd is spoken to the way its own clients do,
// gRPC over HTTP/2 (KV/Put), not through its slower JSON gateway. Also
// measures, in the same run, the machine's floor (fdatasync of small appends,
// the loopback round trip), each paxos node's resident memory, and the CPU
// time both clusters spend per operation. Not part of `npm test`.
//
//   node bench/compare-etcd.mjs [--duration 10s] [--clients 1,16,64,256]
//                               [--share 1,16] [--value-size 64]
//                               [--workloads writes,reads,local,mix] [--json]
//
// --workloads, one table each, every row run on both systems back to back:
//   writes  paxos `set` (through the log)     etcd KV/Put
//   reads   paxos linearizable `get` (no log) etcd linearizable KV/Range (ReadIndex)
//   local   paxos `get --consistency local`   etcd serializable KV/Range (one member, maybe stale)
//   mix     90% reads, 10% writes, as `reads` and `writes` above
// The keys are written once before the first read row, so reads find values.
//
// --share K: K clients share one connection (1: a connection per client, as
// independent processes would; 16: as one program multiplexing its sessions,
// the way etcd's clientv3 shares a gRPC channel). One table per K.
// Needs `npm ci` (for dist/) and Debian's etcd (installed here if missing).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import http2 from 'node:http2';
import net from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSecondsOf, flag, freePorts, median, memoryOf, parseDurationMs, paxosCluster, root, waitFor } from './lib.mjs';

const { closedLoop } = await import(join(root, 'dist/client/bench.js'));
const { ConnectionPool, PaxosClient } = await import(join(root, 'dist/client/client.js'));

const args = process.argv.slice(2);
const durationMs = parseDurationMs(flag(args, 'duration', '10s'));
const clientCounts = flag(args, 'clients', '1,16,64,256').split(',').map(Number);
const shares = flag(args, 'share', '1,16').split(',').map(Number);
const valueBytes = Number(flag(args, 'value-size', '64'));
const workloadNames = ['writes', 'reads', 'local', 'mix'];
const workloads = flag(args, 'workloads', workloadNames.join(',')).split(',');
for (const w of workloads) if (!workloadNames.includes(w)) throw new Error(`unknown workload ${w} (say ${workloadNames.join(', ')})`);
const keys = 1000;
/** The fraction of operations that are reads, per workload. */
const readShare = { writes: 0, reads: 1, local: 1, mix: 0.9 };
const asJson = args.includes('--json');
const say = (line) => process.stderr.write(`${line}\n`);

const work = mkdtempSync(join(tmpdir(), 'paxos-vs-etcd-'));
const etcdChildren = [];
let paxos = null;
process.on('exit', () => {
  for (const child of etcdChildren) child.kill('SIGKILL');
  paxos?.stop();
  rmSync(work, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

ensureEtcd();
const floor = {
  fdatasyncMs: await fdatasyncLatency(join(work, 'fsync-probe'), 1),
  fdatasyncThreeAtOnceMs: await fdatasyncLatency(join(work, 'fsync-probe-3'), 3),
  rttMs: await loopbackRoundTrip(),
};
floor.totalMs = floor.fdatasyncMs + 2 * floor.rttMs;
say(`floor: fdatasync p50 ${floor.fdatasyncMs.toFixed(3)} ms (three files at once: ${floor.fdatasyncThreeAtOnceMs.toFixed(3)} ms), loopback round trip between two processes p50 ${floor.rttMs.toFixed(3)} ms`);
const ports = await freePorts(9);
const etcdEndpoints = await startEtcd(ports.slice(0, 6));
paxos = paxosCluster({ work, ports: ports.slice(6, 9), flags: ['--fsync', 'always'] });
await waitForPaxos(paxos.addresses);

const tables = [];
let turn = 0;
let keysWritten = false;
for (const workload of workloads) {
  if (readShare[workload] > 0 && !keysWritten) {
    say(`writing the ${keys} keys both systems will read ...`);
    await preload();
    keysWritten = true;
  }
  for (const share of shares) {
    const rows = [];
    for (const clients of clientCounts) {
      const connections = Math.max(1, Math.ceil(clients / share));
      if (share !== shares[0] && connections === Math.max(1, Math.ceil(clients / shares[0]))) continue; // the same run as in the first table
      // Alternate which system goes first, so neither always runs on a warmer machine.
      const order = turn++ % 2 === 0 ? ['paxos', 'etcd'] : ['etcd', 'paxos'];
      const row = { clients, connections };
      for (const system of order) {
        say(`${system} ${workload}: ${clients} clients over ${connections} connection(s) for ${durationMs / 1000}s ...`);
        row[system] = system === 'paxos' ? await benchPaxos(workload, clients, connections) : await benchEtcd(workload, clients, connections);
      }
      row.ratio = row.paxos.opsPerSecond / Math.max(1, row.etcd.opsPerSecond);
      rows.push(row);
    }
    tables.push({ workload, clientsPerConnection: share, rows });
  }
}

const memory = [...paxos.children.entries()].map(([id, child]) => ({ node: id, ...memoryOf(child.pid) }));
const report = { machine: { cores: cpus().length, node: process.version }, floor, durationMs, valueBytes, tables, paxosMemory: memory };
if (asJson) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
else printReport(report);
process.exit(0);

// ---- the two systems under the same harness --------------------------------

async function benchPaxos(workload, clients, connections) {
  const pools = Array.from({ length: connections }, () => new ConnectionPool());
  const pool = Array.from({ length: clients }, (_, i) => new PaxosClient({ addresses: paxos.addresses, timeoutMs: 10_000, pool: pools[i % connections] }));
  const sampler = sampleMemory([...paxos.children.values()]);
  const consistency = workload === 'local' ? 'local' : 'linearizable';
  const reads = readShare[workload];
  try {
    return await measured([...paxos.children.values()], () => closedLoop({ clients, durationMs, valueBytes, keys }, async (index, key, value) => {
      const outcome = reads > 0 && Math.random() < reads
        ? await pool[index].query(['get', key], consistency)
        : await pool[index].submit(['set', key, value]);
      return outcome.status === 'applied' ? 'applied' : outcome.status === 'not_applied' ? 'not_applied' : 'unknown';
    }), sampler);
  } finally {
    for (const client of pool) client.close();
    for (const p of pools) p.close();
  }
}

async function benchEtcd(workload, clients, connections) {
  // Like etcd's own client balancer: connections spread over all three members.
  const sessions = Array.from({ length: connections }, (_, i) => http2.connect(`http://127.0.0.1:${etcdEndpoints[i % etcdEndpoints.length]}`).on('error', () => undefined));
  const serializable = workload === 'local';
  const reads = readShare[workload];
  try {
    return await measured(etcdChildren, () => closedLoop({ clients, durationMs, valueBytes, keys }, (index, key, value) => {
      const session = sessions[index % connections];
      return reads > 0 && Math.random() < reads ? etcdRange(session, key, serializable) : etcdPut(session, key, value);
    }), null);
  } finally {
    for (const session of sessions) session.close();
  }
}

/** Writes every key the benchmarks use (`bench-0` .. `bench-999`, as closedLoop names them) into both systems. */
async function preload() {
  const value = 'v'.repeat(valueBytes);
  const client = new PaxosClient({ addresses: paxos.addresses, timeoutMs: 10_000 });
  const session = http2.connect(`http://127.0.0.1:${etcdEndpoints[0]}`).on('error', () => undefined);
  try {
    for (let from = 0; from < keys; from += 50) {
      const batch = Array.from({ length: Math.min(50, keys - from) }, (_, i) => `bench-${from + i}`);
      const outcomes = await Promise.all(batch.flatMap((key) => [client.submit(['set', key, value]).then((o) => o.status), etcdPut(session, key, value)]));
      if (outcomes.some((status) => status !== 'applied')) throw new Error(`writing the keys to read failed: ${outcomes.join(', ')}`);
    }
  } finally {
    client.close();
    session.close();
  }
}

/** Runs one benchmark, adding the CPU the cluster spent per applied write and, for paxos, the memory seen. */
async function measured(processes, run, sampler) {
  const cpuBefore = processes.reduce((sum, child) => sum + cpuSecondsOf(child.pid), 0);
  const result = await run();
  const cpuSeconds = processes.reduce((sum, child) => sum + cpuSecondsOf(child.pid), 0) - cpuBefore;
  const memory = sampler?.stop();
  return { ...result, clusterCpuMicrosPerWrite: Math.round((cpuSeconds * 1e6) / Math.max(1, result.applied)), ...(memory === undefined ? {} : { memory }) };
}

/** Resident memory of each process every 250 ms: the highest seen, and the first and last sample. */
function sampleMemory(children) {
  const samples = children.map(() => []);
  const take = () => children.forEach((child, i) => samples[i].push(memoryOf(child.pid).rssMb));
  take();
  const timer = setInterval(take, 250);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return samples.map((s) => ({ firstMb: round1(s[0]), lastMb: round1(s[s.length - 1]), highestMb: round1(Math.max(...s)) }));
    },
  };
}

/** etcdserverpb.PutRequest {key = 1, value = 2} as a gRPC message: a 5-byte prefix, then protobuf. */
function putRequest(key, value) {
  const field = (tag, bytes) => Buffer.concat([Buffer.from([tag, ...varint(bytes.length)]), bytes]);
  const body = Buffer.concat([field(0x0a, Buffer.from(key)), field(0x12, Buffer.from(value))]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

function varint(n) {
  const bytes = [];
  for (; n > 127; n >>>= 7) bytes.push((n & 127) | 128);
  bytes.push(n);
  return bytes;
}

/** etcdserverpb.RangeRequest {key = 1, serializable = 7}: linearizable (ReadIndex) unless serializable. */
function rangeRequest(key, serializable) {
  const keyBytes = Buffer.from(key);
  const body = Buffer.concat([Buffer.from([0x0a, ...varint(keyBytes.length)]), keyBytes, serializable ? Buffer.from([0x38, 1]) : Buffer.alloc(0)]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

function etcdPut(session, key, value) {
  return etcdCall(session, '/etcdserverpb.KV/Put', putRequest(key, value));
}

function etcdRange(session, key, serializable) {
  return etcdCall(session, '/etcdserverpb.KV/Range', rangeRequest(key, serializable));
}

function etcdCall(session, path, message) {
  return new Promise((done) => {
    let status = null;
    const request = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    request.on('response', (headers) => { status = headers['grpc-status'] ?? status; });
    request.on('trailers', (trailers) => { status = trailers['grpc-status'] ?? status; });
    request.on('data', () => undefined);
    request.on('end', () => done(status === '0' ? 'applied' : 'not_applied'));
    request.on('error', () => done('unknown'));
    request.end(message);
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
    etcdChildren.push(spawn('etcd', [
      '--name', name, '--data-dir', join(work, name),
      '--listen-client-urls', `http://127.0.0.1:${p[i]}`, '--advertise-client-urls', `http://127.0.0.1:${p[i]}`,
      '--listen-peer-urls', peerUrl(i), '--initial-advertise-peer-urls', peerUrl(i),
      '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', 'bench',
    ], { stdio: ['ignore', log, log] }));
  });
  const endpoints = p.slice(0, 3);
  await waitFor(async () => {
    // A session whose connect failed is dead: a new one each try.
    const session = http2.connect(`http://127.0.0.1:${endpoints[0]}`);
    session.on('error', () => undefined);
    try {
      return (await etcdPut(session, 'ready', 'x')) === 'applied';
    } finally {
      session.close();
    }
  }, `etcd (logs in ${work})`);
  return endpoints;
}

async function waitForPaxos(addresses) {
  const client = new PaxosClient({ addresses, timeoutMs: 2_000 });
  await waitFor(async () => (await client.submit(['set', 'ready', 'x'])).status === 'applied', `paxos (logs in ${work})`);
  client.close();
}

// ---- the floor ---------------------------------------------------------------

/** p50 of write + fdatasync of 100-byte appends, with `files` appenders at once (three nodes share one disk here). */
async function fdatasyncLatency(path, files) {
  const samples = [];
  await Promise.all(Array.from({ length: files }, async (_, f) => {
    const handle = await open(`${path}.${f}`, 'w');
    const record = Buffer.alloc(100, 7);
    for (let i = 0; i < 500; i += 1) {
      const started = performance.now();
      await handle.write(record, 0, record.length, i * record.length);
      await handle.datasync();
      samples.push(performance.now() - started);
    }
    await handle.close();
  }));
  return median(samples);
}

/**
 * p50 of a 64-byte ping-pong over loopback TCP between this process and an
 * echo server in another one: a client and a node are different processes,
 * and waking another process is most of a round trip on a small VM (within
 * one process the same ping-pong takes a fraction of it).
 */
async function loopbackRoundTrip() {
  const echo = spawn(process.execPath, ['-e', `
    const server = require('node:net').createServer((s) => { s.setNoDelay(true); s.on('data', (c) => s.write(c)); });
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = Number(await new Promise((done) => echo.stdout.once('data', (chunk) => done(String(chunk).trim()))));
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise((done) => socket.once('connect', done));
    const samples = [];
    for (let i = 0; i < 3000; i += 1) {
      const started = performance.now();
      await new Promise((done) => {
        socket.once('data', done);
        socket.write(Buffer.alloc(64));
      });
      samples.push(performance.now() - started);
    }
    socket.destroy();
    return median(samples.slice(500));
  } finally {
    echo.kill('SIGKILL');
  }
}

// ---- the report --------------------------------------------------------------

function printReport(r) {
  const f = r.floor;
  console.log(`paxos vs etcd 3.4: 3 members each on loopback, fsync before every acknowledgement, ${r.valueBytes}-byte values, ${r.durationMs / 1000}s per run, ${r.machine.cores} cores`);
  console.log(`floor: one fdatasync + two loopback round trips = ${f.totalMs.toFixed(3)} ms (fdatasync p50 ${f.fdatasyncMs.toFixed(3)}, three files at once ${f.fdatasyncThreeAtOnceMs.toFixed(3)}; round trip between two processes p50 ${f.rttMs.toFixed(3)})`);
  for (const table of r.tables) {
    console.log('');
    const what = { writes: 'writes (paxos set, etcd Put)', reads: 'linearizable reads (paxos get, etcd Range)', local: 'local reads (paxos get --consistency local, etcd serializable Range)', mix: '90% linearizable reads, 10% writes' }[table.workload];
    console.log(`${what}, ${table.clientsPerConnection === 1 ? 'one connection per client' : `${table.clientsPerConnection} clients per connection`}:`);
    console.log('clients  conns |  paxos ops/s  p50 ms  p99 ms  cpu µs/op |   etcd ops/s  p50 ms  p99 ms  cpu µs/op |  ratio');
    for (const row of table.rows) {
      const cells = (x) => `${String(x.opsPerSecond).padStart(11)}  ${x.latencyMs.p50.toFixed(2).padStart(6)}  ${x.latencyMs.p99.toFixed(2).padStart(6)}  ${String(x.clusterCpuMicrosPerWrite).padStart(9)}`;
      console.log(`${String(row.clients).padStart(7)}  ${String(row.connections).padStart(5)} |  ${cells(row.paxos)} |  ${cells(row.etcd)} | ${row.ratio.toFixed(1).padStart(5)}x`);
    }
  }
  console.log('');
  const highest = Math.max(...r.tables.flatMap((t) => t.rows.flatMap((row) => row.paxos.memory.map((m) => m.highestMb))));
  console.log(`paxos memory: highest resident set of any node during the runs ${highest.toFixed(0)} MB; peak (VmHWM) per node: ${r.paxosMemory.map((m) => `n${m.node} ${m.peakMb.toFixed(0)} MB`).join(', ')}`);
}

function round1(x) {
  return Math.round(x * 10) / 10;
}
