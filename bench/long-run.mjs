#!/usr/bin/env node
// Long run (issue 3): a million small writes on a three-node cluster with a
// snapshot every 10,000 slots. Reports each node's resident memory (current and
// peak) and data dir size at 100k and at the end, then restarts one node and
// times how long it takes to serve again. Not part of `npm test`.
//
//   node bench/long-run.mjs [--writes 1000000] [--clients 64] [--snapshot-every 10000]
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const { PaxosClient } = await import(join(root, 'dist/client/client.js'));
const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback);
const writes = flag('writes', 1_000_000);
const clients = flag('clients', 64);
const snapshotEvery = flag('snapshot-every', 10_000);
const checkpoints = [100_000, writes].filter((n, i, all) => n <= writes && all.indexOf(n) === i);

const work = mkdtempSync(join(tmpdir(), 'paxos-long-run-'));
const nodes = new Map();
process.on('exit', () => {
  for (const child of nodes.values()) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

const ports = await freePorts(3);
const peers = ports.map((port, i) => `${i + 1}=127.0.0.1:${port}`).join(',');
for (let id = 1; id <= 3; id += 1) startNode(id);
const addresses = ports.map((port) => ({ host: '127.0.0.1', port }));
await waitServing();

const rows = [];
let done = 0;
const started = performance.now();
const pool = Array.from({ length: clients }, () => new PaxosClient({ addresses, timeoutMs: 10_000 }));
let next = 0;
await Promise.all(pool.map(async (client, index) => {
  while (next < writes) {
    const n = next++;
    const outcome = await client.submit(['set', `k${n % 10_000}`, `v${n}`]);
    if (outcome.status !== 'applied') throw new Error(`write ${n} not applied: ${JSON.stringify(outcome)}`);
    done += 1;
    if (checkpoints.includes(done)) rows.push(measure(done));
    if (done % 50_000 === 0) process.stderr.write(`${done.toLocaleString('en-US')} writes, ${Math.round(done / ((performance.now() - started) / 1000))} writes/s\n`);
  }
}));
for (const client of pool) client.close();

// Restart node 2 and time how long it takes to serve again (recover + catch up).
const probe = new PaxosClient({ addresses, timeoutMs: 2_000 });
const target = (await probe.statusAll()).map((r) => (r.reachable ? r.status.commitIndex : 0)).reduce((a, b) => Math.max(a, b), 0);
probe.close();
// A graceful stop releases the data-dir lock; after kill -9 a restart first waits
// for the dead holder's lock to go stale (about 4 s), which is not what this measures.
await new Promise((done) => {
  nodes.get(2).once('exit', done);
  nodes.get(2).kill('SIGTERM');
});
const restartStarted = performance.now();
startNode(2);
const restartMs = await timeUntilServing(2, target, restartStarted);

console.log(`long run: ${writes.toLocaleString('en-US')} writes, ${clients} clients, --snapshot-every ${snapshotEvery}, ${Math.round((performance.now() - started) / 1000)} s`);
console.log('writes     node  rss MB  peak rss MB  data dir MB');
for (const row of rows) for (const node of row.nodes) {
  console.log(`${String(row.writes).padStart(9)}  ${String(node.id).padStart(4)}  ${node.rssMb.toFixed(0).padStart(6)}  ${node.peakMb.toFixed(0).padStart(11)}  ${node.dataMb.toFixed(1).padStart(11)}`);
}
console.log(`node 2 stopped and restarted: serving again (status answers, applied caught up) in ${(restartMs / 1000).toFixed(2)} s`);
process.exit(0);

function startNode(id) {
  const log = openSync(join(work, `n${id}.log`), 'a');
  nodes.set(id, spawn(process.execPath, [join(root, 'bin/run.js'), 'node', 'start', '--id', String(id), '--peers', peers,
    '--data-dir', join(work, `n${id}`), '--snapshot-every', String(snapshotEvery), '--log-level', 'warn'],
  { stdio: ['ignore', log, log], env: { ...process.env, NODE_ENV: 'production' } }));
}

function measure(writesDone) {
  return {
    writes: writesDone,
    nodes: [...nodes.entries()].map(([id, child]) => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
      return { id, rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024, dataMb: dirBytes(join(work, `n${id}`)) / 1024 / 1024 };
    }),
  };
}

function dirBytes(path) {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    total += entry.isDirectory() ? dirBytes(full) : statSync(full).size;
  }
  return total;
}

async function waitServing() {
  const client = new PaxosClient({ addresses, timeoutMs: 2_000 });
  for (let i = 0; i < 150; i += 1) {
    if ((await client.submit(['set', 'ready', 'x'])).status === 'applied') return client.close();
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`cluster did not serve (logs in ${work})`);
}

async function timeUntilServing(id, target, begun) {
  for (;;) {
    const probe = new PaxosClient({ addresses: [addresses[id - 1]], timeoutMs: 1_000 });
    const report = await probe.status(`127.0.0.1:${ports[id - 1]}`, 200).catch(() => null);
    probe.close();
    if (report?.reachable && report.status.lastApplied >= target) return performance.now() - begun;
    if (performance.now() - begun > 60_000) throw new Error('restarted node did not catch up in 60 s');
    await new Promise((done) => setTimeout(done, 20));
  }
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
