// Garbage against a live 3-node cluster: random bytes, random and mutated msgpack
// frames (wrong field types, huge arrays, deep nesting, negative slots, ballots
// from the future), as an unauthenticated stranger, as a fake peer claiming a
// member's id, and as an authenticated client. The nodes must not crash, their
// memory must stay bounded, their logs must not change, and they must still
// answer correctly. Then a slow-loris and a flood, while a normal client keeps
// getting answers in time.
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorAuth, isChallenge, parseChallenge } from '../../src/wire/auth.js';
import { encodeFrame, FrameDecoder } from '../../src/wire/frame.js';
import { parseClientRequest } from '../../src/wire/validate.js';
import { runCli, TestCluster } from './support.js';

const secret = 'fuzz-secret-0123456789abcdef0123';
const fuzzMs = Number(process.env.FUZZ_MS ?? 30_000);
/** Concurrent fuzzing connections: enough to exercise many sockets, few enough for two shared cores. */
const fuzzWorkers = 16;
/** RSS may grow this much over a fuzz run (V8 grows its heap lazily and keeps it). */
const rssGrowthBytesMax = 200 * 1024 * 1024;

// A raw msgpack encoder, so frames can carry whatever a hostile peer would send.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, encodeUndefinedAsNil: true });

/** A seeded PRNG (mulberry32), so a failing run can be replayed with FUZZ_SEED. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const random = prng(seed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
const int = (max: number): number => Math.floor(random() * max);

const weirdNumbers = [-1, -(2 ** 53), 2 ** 53, 2 ** 64, 1.5, Number.NaN, Infinity, 0, 1, 2 ** 31, 1e308];
function weirdValue(depth = 0): unknown {
  switch (int(depth > 3 ? 6 : 9)) {
    case 0: return pick(weirdNumbers);
    case 1: return 'x'.repeat(int(3) === 0 ? 5000 : 3);
    case 2: return null;
    case 3: return int(2) === 0;
    case 4: return new Uint8Array(int(64));
    case 5: return pick(['hello', 'submit', 'prepare', 'accept', 'auth', 'challenge', 'welcome', '']);
    case 6: return Array.from({ length: int(8) }, () => weirdValue(depth + 1));
    case 7: return { type: weirdValue(depth + 1), round: weirdValue(depth + 1), slot: weirdValue(depth + 1) };
    default: return deepNest(int(200));
  }
}

function deepNest(depth: number): unknown {
  let value: unknown = 1;
  for (let level = 0; level < depth; level += 1) value = int(2) === 0 ? [value] : { a: value };
  return value;
}

/** Shapes an honest node would send, to mutate. */
function template(): Record<string, unknown> {
  const ballot = { round: int(5), node: 1 + int(3) };
  const value = { commands: [{ client: 'c', seq: 1, op: ['set', 'x', '9'] }] };
  return pick([
    { type: 'hello', protocol: 1, clusterId: null, role: 'client', nodeId: null },
    { type: 'hello', protocol: 1, clusterId: 'x', role: 'node', nodeId: 2 },
    { type: 'submit', id: 1, client: 'fuzz', seq: 1, op: ['set', 'x', '9'] },
    { type: 'status', id: 1 },
    { type: 'slot_outcome', id: 1, slot: 1 },
    { type: 'prepare', from: 2, to: 1, ballot: { round: 2 ** 52, node: 2 }, fromSlot: 1 },
    { type: 'accept', from: 2, to: 1, ballot, slot: -5, value, commitIndex: 2 ** 60 },
    { type: 'promise', from: 2, to: 1, ballot, fromSlot: 1, accepted: [], chosen: [], catchUpTo: 0 },
    { type: 'chosen_reply', from: 2, to: 1, entries: Array.from({ length: 2000 }, () => ({ slot: 1, value })), commitIndex: 1, compactedTo: 0 },
    { type: 'auth', proof: new Uint8Array(32) },
  ]);
}

function mutant(): Record<string, unknown> {
  const message = template();
  const keys = Object.keys(message);
  for (let change = 1 + int(3); change > 0; change -= 1) {
    const key = int(4) === 0 ? pick(['type', 'x', '__proto__', 'constructor']) : pick(keys);
    if (int(5) === 0) delete message[key];
    else message[key] = weirdValue();
  }
  return message;
}

/** A frame: usually msgpack of a mutant or a random value; sometimes a lying length or raw garbage. */
function garbageFrame(): Buffer {
  const kind = int(10);
  if (kind === 0) return Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256)));
  if (kind === 1) {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(pick([0, 0xffffffff, 17 * 1024 * 1024, 3]));
    return Buffer.concat([header, Buffer.from([0xc1, 0xc1, 0xc1])]);
  }
  let body: Buffer;
  try {
    body = packr.pack(kind < 7 ? mutant() : weirdValue());
  } catch {
    body = Buffer.from([0xc1]);
  }
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

/** A client request that passes validation but is not a submit: safe to send, it changes no log. */
function harmlessClientFrame(): Buffer {
  return encodeFrame({ type: 'slot_outcome', id: 1 + int(1_000_000), slot: int(2) === 0 ? int(10) : 2 ** 50 });
}

/** A frame an authenticated client may send: any garbage except a valid submit (which would change the log). */
function clientGarbageFrame(): Buffer {
  for (;;) {
    const frame = garbageFrame();
    try {
      const decoded = packr.unpack(frame.subarray(4));
      if (parseClientRequest(decoded).type === 'submit') continue;
    } catch {
      // invalid: exactly what we want to send
    }
    return frame;
  }
}

interface FuzzCounts {
  connections: number;
  frames: number;
}

/** One connection: write, give the node a moment, and go, whatever happens. */
function session(port: number, plan: (socket: net.Socket, frame: (frame: unknown) => void) => void, lingerMs: number): Promise<void> {
  return new Promise((done) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const decoder = new FrameDecoder({ frameBytesMax: 32 * 1024 * 1024 });
    const listeners: ((frame: unknown) => void)[] = [];
    const finish = () => {
      socket.destroy();
      done();
    };
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('data', (chunk) => {
      try {
        for (const frame of decoder.push(chunk)) for (const listener of listeners) listener(frame);
      } catch {
        finish();
      }
    });
    socket.on('connect', () => plan(socket, () => undefined));
    (socket as net.Socket & { onFrame?: (listener: (frame: unknown) => void) => void }).onFrame = (listener) => listeners.push(listener);
    setTimeout(finish, lingerMs).unref();
  });
}

async function fuzzOnce(ports: number[], clusterId: string, counts: FuzzCounts): Promise<void> {
  const port = pick(ports);
  counts.connections += 1;
  const scenario = int(4);
  await session(
    port,
    (socket) => {
      if (scenario === 0) {
        // A stranger: garbage from the first byte.
        const frames = Array.from({ length: 1 + int(20) }, garbageFrame);
        counts.frames += frames.length;
        socket.write(Buffer.concat(frames));
      } else if (scenario === 1) {
        // A fake peer claiming node 2, with no secret, then Paxos messages with ballots from the future.
        const hello = encodeFrame({ type: 'hello', protocol: 1, clusterId, role: 'node', nodeId: 2 });
        const frames = [hello, ...Array.from({ length: 1 + int(20) }, garbageFrame)];
        counts.frames += frames.length;
        socket.write(Buffer.concat(frames));
      } else {
        // An authenticated client: many harmless valid requests, then garbage.
        const auth = new ConnectorAuth(Buffer.from(secret), { role: 'client', nodeId: null });
        socket.write(encodeFrame({ type: 'hello', protocol: 1, clusterId: null, role: 'client', nodeId: null, nonce: auth.nonce }));
        counts.frames += 1;
        (socket as net.Socket & { onFrame: (listener: (frame: unknown) => void) => void }).onFrame((frame) => {
          if (isChallenge(frame)) {
            socket.write(encodeFrame(auth.answer(parseChallenge(frame))));
            counts.frames += 1;
            return;
          }
          if ((frame as { type?: string }).type !== 'welcome') return;
          const frames = [...Array.from({ length: 200 + int(300) }, harmlessClientFrame), ...Array.from({ length: 1 + int(5) }, clientGarbageFrame)];
          counts.frames += frames.length;
          socket.write(Buffer.concat(frames));
        });
      }
    },
    scenario < 2 ? 300 : 1000,
  );
}

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

async function logCounts(cluster: TestCluster, id: number): Promise<unknown> {
  const result = await runCli(['log', 'inspect', cluster.dataDir(id), '--json']);
  const summary = (JSON.parse(result.stdout) as { summary: { counts: unknown; lastSlot: unknown; lastChosen: unknown; promised: unknown } }).summary;
  return { counts: summary.counts, lastSlot: summary.lastSlot, lastChosen: summary.lastChosen, promised: summary.promised };
}

describe('fuzz: a live cluster under garbage', () => {
  let cluster: TestCluster;
  let env: Record<string, string>;

  beforeAll(async () => {
    cluster = await TestCluster.create(3);
    const secretFile = join(cluster.root, 'secret');
    writeFileSync(secretFile, secret, { mode: 0o600 });
    env = { PAXOS_SECRET_FILE: secretFile };
    // Longer ticks: two shared cores under a flood must not look like a dead leader (an election writes promises).
    (cluster as unknown as { extraFlags: string[] }).extraFlags.push('--secret-file', secretFile, '--tick', '50ms');
    await cluster.startAll();
  });

  afterAll(async () => {
    await cluster.stopAll();
  });

  const submit = (words: string[]) => runCli(['submit', '--cluster', cluster.addresses, '--timeout', '10s', ...words], { env });

  it(`survives ${fuzzMs / 1000}s of random and mutated frames (seed ${seed}) with its log and memory intact`, async () => {
    expect((await submit(['set', 'fuzz', 'before'])).stdout.trim()).toBe('OK');
    await new Promise((done) => setTimeout(done, 500)); // let every replica apply and persist
    const status = JSON.parse((await runCli(['status', '--cluster', cluster.addresses, '--json'], { env })).stdout) as { clusterId: string }[];
    const clusterId = status[0].clusterId;
    const pids = [1, 2, 3].map((id) => cluster.nodes.get(id)?.child.pid as number);
    const rssBefore = pids.map(rssBytes);
    const logsBefore = await Promise.all([1, 2, 3].map((id) => logCounts(cluster, id)));

    const counts: FuzzCounts = { connections: 0, frames: 0 };
    const deadline = Date.now() + fuzzMs;
    await Promise.all(
      Array.from({ length: fuzzWorkers }, async () => {
        while (Date.now() < deadline) await fuzzOnce(cluster.ports, clusterId, counts);
      }),
    );
    console.log(`fuzz seed ${seed}: ${counts.frames} frames over ${counts.connections} connections`);
    expect(counts.frames).toBeGreaterThan(100_000);

    for (const id of [1, 2, 3]) expect(cluster.nodes.get(id)?.child.exitCode, `node ${id} crashed`).toBeNull();
    const rssAfter = pids.map(rssBytes);
    for (const [index, before] of rssBefore.entries()) expect(rssAfter[index] - before).toBeLessThan(rssGrowthBytesMax);
    expect(await Promise.all([1, 2, 3].map((id) => logCounts(cluster, id)))).toEqual(logsBefore);
    expect((await submit(['get', 'fuzz'])).stdout.trim()).toBe('before');
    expect((await submit(['set', 'fuzz', 'after'])).stdout.trim()).toBe('OK');
    expect((await submit(['get', 'fuzz'])).stdout.trim()).toBe('after');
  }, fuzzMs + 60_000);

  it('keeps answering a normal client during a slow-loris and a flood', async () => {
    const leader = cluster.ports[0];
    // Slow-loris: many connections that each dribble a byte at a time and never finish a frame.
    const loris = Array.from({ length: 150 }, () => net.connect({ host: '127.0.0.1', port: leader }).on('error', () => undefined));
    const dribble = setInterval(() => {
      for (const socket of loris) if (!socket.destroyed) socket.write(Buffer.from([0]));
    }, 100);
    // Flood: one authenticated client pipelining requests as fast as it can, never reading the answers.
    const flood = net.connect({ host: '127.0.0.1', port: leader }).on('error', () => undefined);
    const auth = new ConnectorAuth(Buffer.from(secret), { role: 'client', nodeId: null });
    const decoder = new FrameDecoder({ frameBytesMax: 1 << 20 });
    let flooding = true;
    const burst = Buffer.concat(Array.from({ length: 2000 }, harmlessClientFrame));
    const pump = () => {
      while (flooding && flood.write(burst));
      if (flooding) flood.once('drain', pump);
    };
    flood.on('connect', () => flood.write(encodeFrame({ type: 'hello', protocol: 1, clusterId: null, role: 'client', nodeId: null, nonce: auth.nonce })));
    flood.on('data', (chunk) => {
      for (const frame of decoder.push(chunk)) {
        if (isChallenge(frame)) flood.write(encodeFrame(auth.answer(parseChallenge(frame))));
        if ((frame as { type?: string }).type === 'welcome') {
          flood.pause(); // never read an answer again
          pump();
        }
      }
    });
    try {
      await new Promise((done) => setTimeout(done, 1000));
      for (let round = 0; round < 5; round += 1) {
        const started = Date.now();
        const result = await submit(['incr', 'loris']);
        expect(result.stdout.trim()).toBe(String(round + 1));
        expect(Date.now() - started).toBeLessThan(5_000);
      }
    } finally {
      flooding = false;
      clearInterval(dribble);
      flood.destroy();
      for (const socket of loris) socket.destroy();
    }
    for (const id of [1, 2, 3]) expect(cluster.nodes.get(id)?.child.exitCode).toBeNull();
  }, 60_000);
});
