#!/usr/bin/env node
// A/B: the same load against two built checkouts of paxos, alternating them
// round by round on fresh three-node clusters, so a change is judged by a
// ratio measured side by side rather than against a number from another day.
// Reports per round and the median: ops/s, latency, and the CPU time the three
// nodes spent per operation (the figure this noisy, shared machine disturbs least).
// Not part of `npm test`.
//
//   node bench/ab.mjs --a /path/to/baseline [--b .] [--clients 64] [--connections N]
//                     [--reads 0] [--consistency linearizable] [--duration 10s] [--rounds 3] [--json]
//
// Each checkout needs `npm ci && npm run build` done in it. The load (client
// code) is always this checkout's, so only the nodes differ.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cpuSecondsOf, flag, freePorts, median, parseDurationMs, paxosCluster, root, waitFor } from './lib.mjs';

const { runBench } = await import(join(root, 'dist/client/bench.js'));
const { PaxosClient } = await import(join(root, 'dist/client/client.js'));

const args = process.argv.slice(2);
const a = flag(args, 'a', null);
if (a === null) throw new Error('say --a DIR: the built checkout to compare this one (or --b) with');
const checkouts = { a: resolve(a), b: resolve(flag(args, 'b', root)) };
const clients = Number(flag(args, 'clients', '64'));
const connections = Number(flag(args, 'connections', String(clients)));
const reads = Number(flag(args, 'reads', '0'));
const consistency = flag(args, 'consistency', 'linearizable');
const durationMs = parseDurationMs(flag(args, 'duration', '10s'));
const rounds = Number(flag(args, 'rounds', '3'));
const say = (line) => process.stderr.write(`${line}\n`);

const results = { a: [], b: [] };
for (let round = 0; round < rounds; round += 1) {
  // Alternate which goes first, so neither always runs on a warmer machine.
  for (const side of round % 2 === 0 ? ['a', 'b'] : ['b', 'a']) {
    say(`round ${round + 1}/${rounds}: ${side} (${checkouts[side]}), ${clients} clients over ${connections} connections for ${durationMs / 1000}s ...`);
    results[side].push(await once(checkouts[side]));
  }
}

const summary = Object.fromEntries(Object.entries(results).map(([side, runs]) => [side, {
  checkout: checkouts[side],
  runs,
  median: {
    opsPerSecond: median(runs.map((r) => r.opsPerSecond)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    cpuMicrosPerOp: median(runs.map((r) => r.cpuMicrosPerOp)),
  },
}]));
const ratio = { opsPerSecond: summary.b.median.opsPerSecond / summary.a.median.opsPerSecond, cpuMicrosPerOp: summary.b.median.cpuMicrosPerOp / summary.a.median.cpuMicrosPerOp };
if (args.includes('--json')) console.log(JSON.stringify({ clients, connections, reads, consistency, durationMs, ...summary, ratio }, null, 2));
else {
  console.log(`${clients} clients over ${connections} connections, ${reads > 0 ? `${reads * 100}% ${consistency} reads` : 'writes'}, ${durationMs / 1000}s x ${rounds} rounds each`);
  for (const side of ['a', 'b']) {
    const s = summary[side];
    console.log(`${side}: ${s.checkout}`);
    for (const r of s.runs) console.log(`   ${String(r.opsPerSecond).padStart(7)} ops/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  ${r.cpuMicrosPerOp} µs CPU/op`);
    console.log(`   median ${s.median.opsPerSecond} ops/s, p50 ${s.median.p50Ms.toFixed(2)} ms, ${s.median.cpuMicrosPerOp} µs CPU/op`);
  }
  console.log(`b/a: ${ratio.opsPerSecond.toFixed(3)}x ops/s, ${ratio.cpuMicrosPerOp.toFixed(3)}x CPU per op`);
}

async function once(checkout) {
  const work = mkdtempSync(join(tmpdir(), 'paxos-ab-'));
  const cluster = paxosCluster({ work, ports: await freePorts(3), flags: ['--fsync', 'always'], checkout });
  try {
    const probe = new PaxosClient({ addresses: cluster.addresses, timeoutMs: 2_000 });
    await waitFor(async () => (await probe.submit(['set', 'ready', 'x'])).status === 'applied', `the cluster of ${checkout} (logs in ${work})`);
    probe.close();
    const pids = [...cluster.children.values()].map((child) => child.pid);
    const cpuBefore = pids.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
    const result = await runBench({ addresses: cluster.addresses, clients, connections, durationMs, valueBytes: 64, keys: 1000, timeoutMs: 10_000, reads, consistency });
    const cpuSeconds = pids.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0) - cpuBefore;
    return { opsPerSecond: result.opsPerSecond, p50Ms: result.latencyMs.p50, p99Ms: result.latencyMs.p99, cpuMicrosPerOp: Math.round((cpuSeconds * 1e6) / Math.max(1, result.applied)) };
  } finally {
    cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
