#!/usr/bin/env node
// --fsync always against --fsync batch (group commit with a linger), side by
// side in one run: a fresh three-node cluster per row, closed-loop clients
// writing 64-byte values, and each node's own fsync counter read before and
// after. Rows alternate between the policies, so a shared host's drift touches
// both alike. Not part of `npm test`; needs `npm run build` (dist/).
//
//   node bench/fsync-batch.mjs [--duration 10s] [--clients 1,64] [--lingers 1ms] [--rounds 1] [--json]
//
// --lingers adds one batch row per linger (e.g. 1ms,5ms); each is --fsync-batch-linger.
// --rounds N measures every row N times, alternating, and reports each row's median round
// (by ops/s): on a shared host one round is a sample, not a result.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flag, freePorts, median, parseDurationMs, paxosCluster, root, waitFor } from './lib.mjs';

const { closedLoop } = await import(join(root, 'dist/client/bench.js'));
const { ConnectionPool, PaxosClient } = await import(join(root, 'dist/client/client.js'));

const args = process.argv.slice(2);
const durationMs = parseDurationMs(flag(args, 'duration', '10s'));
const clientCounts = flag(args, 'clients', '1,64').split(',').map(Number);
const lingers = flag(args, 'lingers', '1ms').split(',');
const json = args.includes('--json');
const rounds = Number(flag(args, 'rounds', '1'));
/** Writes before measuring: connections up, leader settled, JIT warm. */
const warmupMs = 1_500;

const policies = [{ name: 'always', flags: ['--fsync', 'always'] }, ...lingers.map((linger) => ({ name: `batch ${linger}`, flags: ['--fsync', 'batch', '--fsync-batch-linger', linger] }))];

const samples = new Map();
for (let round = 1; round <= rounds; round += 1) {
  for (const clients of clientCounts) {
    for (const policy of policies) {
      const row = await measure(clients, policy);
      const key = `${clients} ${policy.name}`;
      samples.set(key, [...(samples.get(key) ?? []), row]);
      if (!json) process.stderr.write(`round ${round}: ${clients} clients, ${policy.name}: ${row.opsPerSecond} ops/s, ${row.fsyncsPerSecond} fsyncs/s in all, ${row.writesPerFsync} writes per leader fsync\n`);
    }
  }
}
// Each row's median round by throughput, with the spread of throughput over the rounds.
const rows = [...samples.values()].map((runs) => {
  const middle = median(runs.map((run) => run.opsPerSecond));
  const chosen = runs.find((run) => run.opsPerSecond === middle);
  return { ...chosen, rounds: runs.length, opsPerSecondRange: [Math.min(...runs.map((run) => run.opsPerSecond)), Math.max(...runs.map((run) => run.opsPerSecond))] };
});

if (json) console.log(JSON.stringify({ durationMs, rows }, null, 2));
else {
  console.log('| clients | --fsync | ops/s | ops/s range | p50 ms | p99 ms | fsyncs/s (3 nodes) | fsyncs per 1,000 writes (3 nodes) | writes per leader fsync |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) {
    console.log(`| ${row.clients} | ${row.policy} | ${row.opsPerSecond.toLocaleString('en')} | ${row.opsPerSecondRange.map((n) => n.toLocaleString('en')).join('-')} | ${row.p50.toFixed(2)} | ${row.p99.toFixed(2)} | ${row.fsyncsPerSecond.toLocaleString('en')} | ${row.fsyncsPerThousandWrites} | ${row.writesPerFsync} |`);
  }
}
process.exit(0);

async function measure(clients, policy) {
  const work = mkdtempSync(join(tmpdir(), 'paxos-fsync-batch-'));
  const ports = await freePorts(3);
  const cluster = paxosCluster({ work, ports, flags: [...policy.flags, '--initial-cluster-state', 'new'] });
  const probe = new PaxosClient({ addresses: cluster.addresses, timeoutMs: 2_000 });
  const pools = Array.from({ length: clients }, () => new ConnectionPool());
  const sessions = Array.from({ length: clients }, (_, i) => new PaxosClient({ addresses: cluster.addresses, timeoutMs: 10_000, pool: pools[i] }));
  try {
    await waitFor(async () => (await probe.submit(['set', 'ready', 'x'])).status === 'applied', `the cluster (logs in ${work})`);
    const write = async (index, key, value) => ((await sessions[index].submit(['set', key, value])).status === 'applied' ? 'applied' : 'unknown');
    await closedLoop({ clients, durationMs: warmupMs, valueBytes: 64, keys: 1000 }, write);
    const before = await fsyncCounts(probe);
    const result = await closedLoop({ clients, durationMs, valueBytes: 64, keys: 1000 }, write);
    const after = await fsyncCounts(probe);
    const seconds = result.durationMs / 1000;
    const total = [...after.byNode].reduce((sum, [id, count]) => sum + count - (before.byNode.get(id) ?? 0), 0);
    const leaderFsyncs = (after.byNode.get(after.leader) ?? 0) - (before.byNode.get(after.leader) ?? 0);
    return {
      clients,
      policy: policy.name,
      opsPerSecond: result.opsPerSecond,
      p50: result.latencyMs.p50,
      p99: result.latencyMs.p99,
      fsyncsPerSecond: Math.round(total / seconds),
      leaderFsyncsPerSecond: Math.round(leaderFsyncs / seconds),
      writesPerFsync: leaderFsyncs > 0 ? Number((result.applied / leaderFsyncs).toFixed(2)) : null,
      fsyncsPerThousandWrites: result.applied > 0 ? Math.round((1000 * total) / result.applied) : null,
      leaderChanged: before.leader !== after.leader,
    };
  } finally {
    for (const session of sessions) session.close();
    for (const pool of pools) pool.close();
    probe.close();
    cluster.stop();
    await new Promise((done) => setTimeout(done, 300));
    rmSync(work, { recursive: true, force: true });
  }
}

/** Every node's fsync counter (the log's own), and which node leads. */
async function fsyncCounts(probe) {
  const reports = await probe.statusAll();
  const byNode = new Map();
  let leader = null;
  for (const report of reports) {
    if (!report.reachable) continue;
    byNode.set(report.status.id, report.status.metrics.fsyncs);
    if (report.status.role === 'leader') leader = report.status.id;
  }
  return { byNode, leader };
}
