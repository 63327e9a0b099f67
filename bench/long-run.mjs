#!/usr/bin/env node
// Long run (issue 3): a million small writes on a three-node cluster with a
// snapshot every 10,000 slots. Reports each node's resident memory (current and
// peak) and data dir size at every checkpoint, then restarts one node and
// times how long it takes to serve again. Not part of `npm test`.
//
//   node bench/long-run.mjs [--writes 1000000] [--clients 64] [--snapshot-every 10000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dirBytes, flag, freePorts, memoryOf, paxosCluster, root, waitFor } from './lib.mjs';

const { PaxosClient } = await import(join(root, 'dist/client/client.js'));
const args = process.argv.slice(2);
const writes = Number(flag(args, 'writes', 1_000_000));
const clients = Number(flag(args, 'clients', 64));
const snapshotEvery = Number(flag(args, 'snapshot-every', 10_000));
// Memory and disk at every tenth of the run: flat means bounded.
const checkpoints = Array.from({ length: 10 }, (_, i) => Math.round((writes * (i + 1)) / 10));

const work = mkdtempSync(join(tmpdir(), 'paxos-long-run-'));
const cluster = paxosCluster({ work, ports: await freePorts(3), flags: ['--snapshot-every', String(snapshotEvery)] });
process.on('exit', () => {
  cluster.stop();
  rmSync(work, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

const ready = new PaxosClient({ addresses: cluster.addresses, timeoutMs: 2_000 });
await waitFor(async () => (await ready.submit(['set', 'ready', 'x'])).status === 'applied', `the cluster (logs in ${work})`);
ready.close();

const rows = [];
let done = 0;
let next = 0;
const started = performance.now();
const pool = Array.from({ length: clients }, () => new PaxosClient({ addresses: cluster.addresses, timeoutMs: 10_000 }));
await Promise.all(pool.map(async (client) => {
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
const runSeconds = (performance.now() - started) / 1000;

// Restart node 2 and time how long it takes to serve again (recover + catch up).
const probe = new PaxosClient({ addresses: cluster.addresses, timeoutMs: 2_000 });
const target = (await probe.statusAll()).map((r) => (r.reachable ? r.status.commitIndex : 0)).reduce((a, b) => Math.max(a, b), 0);
probe.close();
// A graceful stop releases the data-dir lock; after kill -9 a restart first waits
// for the dead holder's lock to go stale (about 4 s), which is not what this measures.
await new Promise((resolved) => {
  cluster.children.get(2).once('exit', resolved);
  cluster.children.get(2).kill('SIGTERM');
});
const restartStarted = performance.now();
cluster.start(2);
const restartMs = await timeUntilServing(2, target, restartStarted);

console.log(`long run: ${writes.toLocaleString('en-US')} writes, ${clients} clients, --snapshot-every ${snapshotEvery}, ${Math.round(runSeconds)} s (${Math.round(writes / runSeconds)} writes/s)`);
console.log('   writes  node  rss MB  peak rss MB  data dir MB');
for (const row of rows) for (const node of row.nodes) {
  console.log(`${String(row.writes).padStart(9)}  ${String(node.id).padStart(4)}  ${node.rssMb.toFixed(0).padStart(6)}  ${node.peakMb.toFixed(0).padStart(11)}  ${node.dataMb.toFixed(1).padStart(11)}`);
}
console.log(`node 2 stopped and restarted: serving again (status answers, applied caught up) in ${(restartMs / 1000).toFixed(2)} s`);
process.exit(0);

function measure(writesDone) {
  return {
    writes: writesDone,
    nodes: [...cluster.children.entries()].map(([id, child]) => ({ id, ...memoryOf(child.pid), dataMb: dirBytes(join(work, `n${id}`)) / 1024 / 1024 })),
  };
}

async function timeUntilServing(id, atLeast, begun) {
  const address = cluster.addresses[id - 1];
  for (;;) {
    const client = new PaxosClient({ addresses: [address], timeoutMs: 1_000 });
    const report = await client.status(address, 200).catch(() => null);
    client.close();
    if (report?.reachable && report.status.lastApplied >= atLeast) return performance.now() - begun;
    if (performance.now() - begun > 60_000) throw new Error('restarted node did not catch up in 60 s');
    await new Promise((resolved) => setTimeout(resolved, 20));
  }
}
