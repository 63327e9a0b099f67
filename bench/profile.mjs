#!/usr/bin/env node
// CPU profile of a paxos leader under load: three nodes run with
// `node --cpu-prof`, closed-loop clients write for a while, the nodes stop
// gracefully (which writes the profiles), and the leader's profile is
// summarised: where its time went, by function and by kind of work. The
// .cpuprofile files are kept for Chrome DevTools or speedscope. Not part of
// `npm test`.
//
//   node bench/profile.mjs [--clients 64] [--connections 64] [--duration 10s] [--role leader|follower] [--out DIR] [--json]
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { flag, freePorts, parseDurationMs, paxosCluster, root, waitFor } from './lib.mjs';

const { closedLoop } = await import(join(root, 'dist/client/bench.js'));
const { ConnectionPool, PaxosClient } = await import(join(root, 'dist/client/client.js'));

const args = process.argv.slice(2);
const clients = Number(flag(args, 'clients', '64'));
const connections = Number(flag(args, 'connections', String(clients)));
const durationMs = parseDurationMs(flag(args, 'duration', '10s'));
const out = resolve(flag(args, 'out', mkdtempSync(join(tmpdir(), 'paxos-profile-'))));
const top = Number(flag(args, 'top', '25'));
const role = flag(args, 'role', 'leader');
mkdirSync(out, { recursive: true });

const work = mkdtempSync(join(tmpdir(), 'paxos-profile-work-'));
const ports = await freePorts(3);
const cluster = paxosCluster({ work, ports, flags: ['--fsync', 'always'], nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${out}`] });
process.on('exit', () => cluster.stop());

const probe = new PaxosClient({ addresses: cluster.addresses, timeoutMs: 2_000 });
await waitFor(async () => (await probe.submit(['set', 'ready', 'x'])).status === 'applied', `the cluster (logs in ${work})`);
const pools = Array.from({ length: connections }, () => new ConnectionPool());
const sessions = Array.from({ length: clients }, (_, i) => new PaxosClient({ addresses: cluster.addresses, timeoutMs: 10_000, pool: pools[i % connections] }));
process.stderr.write(`profiling: ${clients} clients over ${connections} connections for ${durationMs / 1000}s ...\n`);
const result = await closedLoop({ clients, durationMs, valueBytes: 64, keys: 1000 }, async (index, key, value) =>
  (await sessions[index].submit(['set', key, value])).status === 'applied' ? 'applied' : 'unknown');
const reports = await probe.statusAll();
const leader = reports.find((r) => r.reachable && r.status.role === role);
for (const session of sessions) session.close();
for (const pool of pools) pool.close();
probe.close();

// SIGINT: a graceful stop, after which node writes its profile.
const exits = [...cluster.children.values()].map((child) => new Promise((done) => child.once('exit', done)));
for (const child of cluster.children.values()) child.kill('SIGINT');
await Promise.all(exits);

const leaderPid = leader === undefined ? null : cluster.children.get(leader.status.id).pid;
// Node names profiles CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile.
const file = readdirSync(out).find((name) => name.split('.')[3] === String(leaderPid));
if (file === undefined) throw new Error(`no profile of a ${role} in ${out}`);
const summary = summarise(JSON.parse(readFileSync(join(out, file), 'utf8')), result.applied);
if (args.includes('--json')) {
  console.log(JSON.stringify({ clients, connections, opsPerSecond: result.opsPerSecond, profile: join(out, file), ...summary }, null, 2));
} else {
  console.log(`${role} node ${leader.status.id}: ${result.opsPerSecond} ops/s (${result.applied} applied) with ${clients} clients over ${connections} connections; profile ${join(out, file)}`);
  console.log(`busy ${(100 - summary.kinds.idle).toFixed(1)}% of ${summary.seconds.toFixed(1)} s, ${summary.busyMicrosPerWrite.toFixed(1)} µs of ${role} CPU per write`);
  console.log('\nby kind of work (% of wall time):');
  for (const [kind, percent] of Object.entries(summary.kinds).sort((a, b) => b[1] - a[1])) console.log(`  ${percent.toFixed(1).padStart(5)}%  ${kind}`);
  console.log(`\ntop ${top} functions by self time (% of wall time):`);
  for (const entry of summary.functions.slice(0, top)) console.log(`  ${entry.percent.toFixed(1).padStart(5)}%  ${entry.name}`);
}
process.exit(0);

/** Self time per function and per kind of work, as shares of the profile's wall time. */
function summarise(profile, applied) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map();
  let totalMicros = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + delta);
    totalMicros += delta;
  });
  const functions = new Map();
  const kinds = {};
  for (const [id, micros] of selfMicros) {
    const frame = byId.get(id).callFrame;
    const url = frame.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/');
    const name = `${frame.functionName || '(anonymous)'} ${url}${url ? `:${frame.lineNumber + 1}` : ''}`;
    functions.set(name, (functions.get(name) ?? 0) + micros);
    const kind = kindOf(frame.functionName, url);
    kinds[kind] = (kinds[kind] ?? 0) + micros;
  }
  const percent = (micros) => (100 * micros) / totalMicros;
  return {
    seconds: totalMicros / 1e6,
    busyMicrosPerWrite: (totalMicros - (kinds.idle ?? 0)) / Math.max(1, applied),
    kinds: Object.fromEntries(Object.entries(kinds).map(([kind, micros]) => [kind, percent(micros)])),
    functions: [...functions].sort((a, b) => b[1] - a[1]).map(([name, micros]) => ({ name, percent: percent(micros) })),
  };
}

function kindOf(name, url) {
  if (name === '(idle)') return 'idle';
  if (name === '(garbage collector)') return 'garbage collection';
  if (name === 'writeBuffer' || name === 'writev' || name === 'writeUtf8String' || name === 'writevGeneric') return 'socket writes (syscalls)';
  if (name === 'fdatasync' || name === 'fsync' || name === 'writeSync' || url.includes('internal/fs')) return 'file system calls';
  if (url.includes('msgpackr')) return 'msgpack encode/decode';
  if (url.includes('crypto') || name === 'crc32c') return 'hashing and checksums';
  if (url.includes('dist/node/core')) return 'Paxos core';
  if (url.includes('dist/node/statemachine')) return 'state machine and sessions';
  if (url.includes('dist/node/storage')) return 'write-ahead log (JS)';
  if (url.includes('dist/wire')) return 'wire framing and validation';
  if (url.includes('dist/node/runtime')) return 'runtime (driver, transport, metrics)';
  if (url.startsWith('node:internal/stream') || url === 'node:net' || url.includes('internal/net')) return 'node streams and sockets (JS)';
  if (url.includes('internal/modules') || url.includes('oclif') || url.includes('bootstrap')) return 'start-up (module loading)';
  return 'other';
}
