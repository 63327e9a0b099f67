// Shared fixtures for the wire tests: one sample of every message, a seeded
// random generator of valid messages, and a parser that picks the right entry
// point by type (the runtime knows which one to call from the connection state).
import type { PeerMessage, Value } from '../../../src/node/core/messages.js';
import type { NodeStatus, WireMessage } from '../../../src/wire/protocol.js';
import {
  parseClientRequest,
  parseClientResponse,
  parseHandshakeReply,
  parseHello,
  parseNodeMessage,
} from '../../../src/wire/validate.js';

const value: Value = {
  commands: [
    { client: 'c-1', seq: 7, op: ['set', 'x', '1'] },
    { client: 'c-2', seq: 0, op: { kind: 'deposit', account: 'alice', amount: 10.5, tags: [null, true, Buffer.from([1, 2])] } },
  ],
};

/** One instance of every message type, each with every field set and every list non-empty. */
export const samples = {
  prevote: { type: 'prevote', from: 3, to: 1 },
  prevote_reply: { type: 'prevote_reply', from: 1, to: 3, granted: false },
  prepare: { type: 'prepare', from: 1, to: 2, ballot: { round: 4, node: 1 }, fromSlot: 11, blessed: true },
  promise: {
    type: 'promise',
    from: 2,
    to: 1,
    incarnation: '9f3c2a1b0d4e5f60',
    ballot: { round: 4, node: 1 },
    fromSlot: 11,
    accepted: [{ slot: 12, ballot: { round: 3, node: 3 }, value }],
    chosen: [{ slot: 11, value }],
    catchUpTo: 0,
  },
  accept: { type: 'accept', from: 1, to: 3, ballot: { round: 4, node: 1 }, slot: 12, value, commitIndex: 11 },
  accepted: { type: 'accepted', from: 3, to: 1, incarnation: '0a1b2c3d4e5f6071', ballot: { round: 4, node: 1 }, slot: 12, commitIndex: 11 },
  nack: { type: 'nack', from: 3, to: 1, ballot: { round: 4, node: 1 }, promised: { round: 5, node: 2 } },
  heartbeat: { type: 'heartbeat', from: 1, to: 2, ballot: { round: 4, node: 1 }, commitIndex: 12, round: 3 },
  heartbeat_reply: { type: 'heartbeat_reply', from: 2, to: 1, ballot: { round: 4, node: 1 }, round: 3, incarnation: '0a1b2c3d4e5f6071', commitIndex: 12 },
  chosen_request: { type: 'chosen_request', from: 2, to: 1, fromSlot: 5, toSlot: 12 },
  timeout_now: { type: 'timeout_now', from: 1, to: 2, ballot: { round: 4, node: 1 }, incarnation: '0a1b2c3d4e5f6071', commitIndex: 12 },
  chosen_reply: { type: 'chosen_reply', from: 1, to: 2, entries: [{ slot: 5, value }], commitIndex: 12, compactedTo: 0 },
  join_query: { type: 'join_query', from: 3, to: 1, incarnation: '0a1b2c3d4e5f6071', window: 256 },
  join_reply: {
    type: 'join_reply',
    from: 1,
    to: 3,
    incarnation: '9f3c2a1b0d4e5f60',
    window: 256,
    pristine: false,
    view: [{ id: 1, incarnation: '9f3c2a1b0d4e5f60' }],
    membership: {
      window: 256,
      epochs: [
        { fromSlot: 1, config: { voters: [{ id: 1, incarnation: '9f3c2a1b0d4e5f60' }, { id: 2, incarnation: null }], learners: [] } },
        { fromSlot: 300, config: { voters: [{ id: 1, incarnation: '9f3c2a1b0d4e5f60' }, { id: 2, incarnation: 'aa' }], learners: [{ id: 3, incarnation: '0a1b2c3d4e5f6071' }] } },
      ],
      throughSlot: 44,
      validFrom: 1,
      retired: [{ id: 2, incarnation: 'bb' }],
    },
  },
  snapshot_request: { type: 'snapshot_request', from: 3, to: 1, slot: 40, offset: 1024 },
  snapshot_chunk: { type: 'snapshot_chunk', from: 1, to: 3, slot: 40, offset: 1024, totalBytes: 4096, data: Buffer.from([1, 2, 3]) },
  snapshot_unavailable: { type: 'snapshot_unavailable', from: 1, to: 3, slot: 40, reason: 'gone' },
  hello: { type: 'hello', protocol: 1, clusterId: 'paxos-3f9a', role: 'node', nodeId: 2 },
  welcome: { type: 'welcome', protocol: 1, clusterId: 'paxos-3f9a', nodeId: 1 },
  goodbye: { type: 'goodbye', code: 'wrong_cluster', reason: 'this node belongs to cluster paxos-3f9a' },
  submit: { type: 'submit', id: 1, client: 'c-1', seq: 8, op: ['get', 'x'] },
  member: { type: 'member', id: 12, action: 'add', node: 4, address: '127.0.0.1:7404', learner: true, force: false },
  member_reply: { type: 'member_reply', id: 12, status: 'redirect', message: 'node 2 leads', leader: 2, address: '127.0.0.1:7402' },
  leader_transfer: { type: 'leader_transfer', id: 14, to: 3 },
  leader_transfer_reply: {
    type: 'leader_transfer_reply',
    id: 14,
    status: 'done',
    code: 'timed_out',
    message: 'node 3 leads at ballot 5.3 (was node 1)',
    certain: false,
    from: 1,
    to: 3,
    ballot: '5.3',
    leader: 3,
    address: '127.0.0.1:7403',
  },
  query: { type: 'query', id: 7, op: ['get', 'x'], consistency: 'linearizable' },
  query_reply: { type: 'query_reply', id: 7, ok: true, result: '1', error: null, appliedSlot: 12, consistency: 'local', knownChosenSlot: 15 },
  status: { type: 'status', id: 2 },
  snapshot_fetch: { type: 'snapshot_fetch', id: 14, slot: 40, offset: 1024 },
  snapshot_fetch_reply: { type: 'snapshot_fetch_reply', id: 14, slot: 40, offset: 1024, totalBytes: 4096, data: Buffer.from([4, 5, 6]), voters: [1, 2, 3], learners: [4] },
  fault: { type: 'fault', id: 9, action: 'drop', nodes: [2, 3], delayMs: 0, rate: 0.25 },
  fault_reply: { type: 'fault_reply', id: 9, ok: true, message: 'dropping 25% of messages to and from nodes 2, 3' },
  result: { type: 'result', id: 1, slot: 13, result: '1' },
  refused: { type: 'refused', id: 3, slot: 14, error: 'cas failed: x is 3' },
  redirect: { type: 'redirect', id: 4, leader: 1, address: '127.0.0.1:7401' },
  error: { type: 'error', id: 5, code: 'timeout', message: 'not chosen within 10s', indeterminate: true },
  status_reply: {
    type: 'status_reply',
    id: 6,
    status: {
      id: 1,
      address: '127.0.0.1:7401',
      role: 'leader',
      leader: 1,
      ballot: '4.1',
      promised: '4.1',
      commitIndex: 12,
      lastChosen: 12,
      lastApplied: 12,
      appliedDigest: 'a1b2c3',
      walBytes: 40960,
      lastSnapshot: 0,
      uptimeMs: 1234.5,
      clusterId: 'paxos-3f9a',
      peers: [{ id: 2, address: '127.0.0.1:7402', connected: true }],
      metrics: {
        proposalsInFlight: 2,
        commandsPending: 1,
        commandsProposed: 40,
        commandsApplied: 38,
        commandsAppliedPerSecond: 12.5,
        commitLatency: { windowSeconds: 10, samples: 38, p50Micros: 1800, p99Micros: 5200, maxMicros: 6100 },
        commitLatencyHistogram: { boundsMicros: [1000, 10000], counts: [3, 38], count: 38, sumMicros: 90000 },
        fsyncs: 80,
        fsyncsPerSecond: 25.25,
        fsyncMicrosTotal: 40000,
        fsyncLastMicros: 450,
        fsyncMeanMicros: 500,
        fsyncLatency: { windowSeconds: 10, samples: 80, p50Micros: 420, p99Micros: 2100, maxMicros: 2400 },
        fsyncLatencyHistogram: { boundsMicros: [250, 1000], counts: [10, 78], count: 80, sumMicros: 40000 },
        walRecordsWritten: 82,
        walBytesWritten: 40000,
        leaderChanges: 1,
        peers: [{ id: 2, framesIn: 50, framesOut: 60, bytesIn: 5000, bytesOut: 7000, framesDropped: 0 }],
      },
    },
  },
} satisfies Record<string, WireMessage>;

export type SampleName = keyof typeof samples;

export const sampleNames = Object.keys(samples) as SampleName[];

/** Samples that are valid with a different variant of a field (null where null is allowed). */
export const variantSamples: WireMessage[] = [
  { type: 'hello', protocol: 1, clusterId: null, role: 'client', nodeId: null },
  { type: 'redirect', id: 4, leader: null, address: null },
  { type: 'fault', id: 10, action: 'heal', nodes: [], delayMs: 0, rate: 0 },
  { type: 'fault', id: 11, action: 'drop', nodes: [], delayMs: 0, rate: 1 },
  { type: 'status_reply', id: 7, status: { ...samples.status_reply.status, role: 'follower', leader: null, peers: [] } },
  // A node whose votes do not count (a learner, a wiped disk not yet replaced).
  { type: 'status_reply', id: 9, status: { ...samples.status_reply.status, role: 'follower', leader: null, rebuilding: true, member: 'learner', incarnation: '0a1b' } },
  // A leader with its configuration, what it heard from each peer, and a change pending.
  {
    type: 'status_reply',
    id: 10,
    status: {
      ...samples.status_reply.status,
      member: 'voter',
      incarnation: '0a1b',
      changePending: true,
      configuration: { fromSlot: 257, voters: [{ id: 1, incarnation: '0a1b', address: '127.0.0.1:7401' }, { id: 4, incarnation: null, address: null }], learners: [{ id: 5, incarnation: 'ff', address: '10.0.0.5:7401' }] },
      progress: [{ id: 5, incarnation: 'ff', commitIndex: 250, agoMs: 40 }],
    },
  },
  { type: 'member', id: 13, action: 'remove', node: 2, address: null, learner: false, force: true },
  // Without a target (the most caught-up voter), and a failure with nothing known of the new leader.
  { type: 'leader_transfer', id: 15, to: null },
  { type: 'leader_transfer_reply', id: 15, status: 'failed', code: null, message: 'refused', certain: true, from: null, to: null, ballot: null, leader: null, address: null },
  // The request that starts a backup, and a one-member cluster's reply.
  { type: 'snapshot_fetch', id: 16, slot: 0, offset: 0 },
  { type: 'snapshot_fetch_reply', id: 16, slot: 7, offset: 0, totalBytes: 0, data: Buffer.alloc(0), voters: [1], learners: [] },
  // A node older than the metrics object: it is optional.
  { type: 'status_reply', id: 8, status: withoutMetrics(samples.status_reply.status) },
  // A node older than the fsync percentiles and histogram: they are optional.
  { type: 'status_reply', id: 9, status: withoutFsyncLatency(samples.status_reply.status) },
  { type: 'promise', from: 2, to: 1, incarnation: 'a', ballot: { round: 0, node: 0 }, fromSlot: 0, accepted: [], chosen: [], catchUpTo: 0 },
  // A fresh node's answer: no membership yet.
  { type: 'join_reply', from: 2, to: 1, incarnation: 'a', window: 4, pristine: true, view: [], membership: null },
  { type: 'accept', from: 1, to: 1_000_000, ballot: { round: 1, node: 1 }, slot: 1, value: { commands: [] }, commitIndex: 0 },
  { type: 'result', id: 0, slot: 1, result: null },
];

function withoutMetrics(status: NodeStatus): NodeStatus {
  const { metrics: _, ...rest } = status;
  return rest;
}

function withoutFsyncLatency(status: NodeStatus): NodeStatus {
  const { fsyncLatency: _, fsyncLatencyHistogram: __, ...metrics } = status.metrics!;
  return { ...status, metrics };
}

/** Parses with the entry point that accepts this type, as the runtime would. */
export function parseAny(x: unknown): WireMessage {
  const type = typeof x === 'object' && x !== null ? (x as { type?: unknown }).type : undefined;
  if (type === 'hello') return parseHello(x);
  if (type === 'welcome' || type === 'goodbye') return parseHandshakeReply(x);
  if (type === 'submit' || type === 'query' || type === 'status' || type === 'fault' || type === 'member' || type === 'leader_transfer' || type === 'snapshot_fetch') return parseClientRequest(x);
  if (typeof type === 'string' && ['result', 'query_reply', 'refused', 'redirect', 'error', 'status_reply', 'fault_reply', 'member_reply', 'leader_transfer_reply', 'snapshot_fetch_reply'].includes(type)) return parseClientResponse(x);
  return parseNodeMessage(x);
}

// ---------------------------------------------------------------------------
// Seeded randomness.

export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
}

/** mulberry32: tiny, fast, and good enough to explore inputs reproducibly. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => items[Math.floor(next() * items.length)],
  };
}

// ---------------------------------------------------------------------------
// Random valid messages. Generated values survive a msgpack round trip exactly
// (no -0, no lone surrogates, no bigints), so the round trip can be compared.

const alphabet = 'abcxyz019 _-é€✓';

function randomString(random: Random, charsMax: number): string {
  let s = '';
  const length = random.int(0, charsMax);
  for (let i = 0; i < length; i++) s += random.pick(alphabet);
  return s;
}

function randomNumber(random: Random): number {
  switch (random.int(0, 4)) {
    case 0:
      return random.int(0, 127);
    case 1:
      return random.int(-100_000, 100_000) || 1;
    case 2:
      return random.int(0, Number.MAX_SAFE_INTEGER);
    case 3:
      return -random.int(1, Number.MAX_SAFE_INTEGER);
    default:
      return (random.next() - 0.5) * 1e6 || 0.5;
  }
}

export function randomData(random: Random, depthLeft: number): unknown {
  const kind = random.int(0, depthLeft > 0 ? 7 : 4);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return random.next() < 0.5;
    case 2:
      return randomNumber(random);
    case 3:
      return randomString(random, 20);
    case 4:
      return Buffer.from(Array.from({ length: random.int(0, 8) }, () => random.int(0, 255)));
    case 5:
    case 6:
      return Array.from({ length: random.int(0, 4) }, () => randomData(random, depthLeft - 1));
    default: {
      const map: Record<string, unknown> = {};
      for (let i = random.int(0, 4); i > 0; i--) map[`k${randomString(random, 6)}`] = randomData(random, depthLeft - 1);
      return map;
    }
  }
}

const natural = (random: Random): number => (random.next() < 0.8 ? random.int(0, 1000) : random.int(0, Number.MAX_SAFE_INTEGER));
const nodeId = (random: Random): number => (random.next() < 0.8 ? random.int(1, 9) : random.int(1, 1_000_000));
const ballot = (random: Random) => ({ round: natural(random), node: random.int(0, 9) });

function randomIncarnation(random: Random): string {
  return `i${randomString(random, 16)}`.slice(0, 64);
}

function randomValue(random: Random): Value {
  const commands = Array.from({ length: random.int(0, 5) }, () => ({
    client: `c${randomString(random, 10)}`,
    seq: natural(random),
    op: randomData(random, 3),
  }));
  return { commands };
}

function randomPeerMessage(random: Random): PeerMessage {
  const envelope = { from: nodeId(random), to: nodeId(random) };
  switch (random.int(0, 9)) {
    case 0:
      return random.next() < 0.5
        ? { type: 'prepare', ...envelope, ballot: ballot(random), fromSlot: natural(random) }
        : { type: 'prepare', ...envelope, ballot: ballot(random), fromSlot: natural(random), blessed: true };
    case 1:
      return {
        type: 'promise',
        ...envelope,
        incarnation: randomIncarnation(random),
        ballot: ballot(random),
        fromSlot: natural(random),
        accepted: Array.from({ length: random.int(0, 3) }, () => ({ slot: natural(random), ballot: ballot(random), value: randomValue(random) })),
        chosen: Array.from({ length: random.int(0, 3) }, () => ({ slot: natural(random), value: randomValue(random) })),
        catchUpTo: natural(random),
      };
    case 2:
      return { type: 'accept', ...envelope, ballot: ballot(random), slot: natural(random), value: randomValue(random), commitIndex: natural(random) };
    case 3:
      return { type: 'accepted', ...envelope, incarnation: randomIncarnation(random), ballot: ballot(random), slot: natural(random), commitIndex: natural(random) };
    case 4:
      return random.next() < 0.5
        ? { type: 'nack', ...envelope, ballot: ballot(random), promised: ballot(random) }
        : { type: 'timeout_now', ...envelope, ballot: ballot(random), incarnation: randomIncarnation(random), commitIndex: natural(random) };
    case 5:
      return random.next() < 0.5
        ? { type: 'heartbeat', ...envelope, ballot: ballot(random), commitIndex: natural(random), round: natural(random) }
        : { type: 'heartbeat_reply', ...envelope, ballot: ballot(random), round: natural(random), incarnation: randomIncarnation(random), commitIndex: natural(random) };
    case 6: {
      const fromSlot = random.int(0, 1000);
      return { type: 'chosen_request', ...envelope, fromSlot, toSlot: fromSlot + random.int(0, 256) };
    }
    case 7:
      return random.next() < 0.5
        ? { type: 'join_query', ...envelope, incarnation: randomIncarnation(random), window: random.int(1, 1000) }
        : { type: 'heartbeat_reply', ...envelope, ballot: ballot(random), round: 0, incarnation: randomIncarnation(random), commitIndex: natural(random) };
    case 8:
      return {
        type: 'join_reply',
        ...envelope,
        incarnation: randomIncarnation(random),
        window: random.int(1, 1000),
        pristine: random.next() < 0.5,
        view: Array.from({ length: random.int(0, 3) }, () => ({ id: nodeId(random), incarnation: randomIncarnation(random) })),
        membership: null,
      };
    default:
      return {
        type: 'chosen_reply',
        ...envelope,
        entries: Array.from({ length: random.int(0, 3) }, () => ({ slot: natural(random), value: randomValue(random) })),
        commitIndex: natural(random),
        compactedTo: natural(random),
      };
  }
}

function randomOtherMessage(random: Random): WireMessage {
  switch (random.int(0, 5)) {
    case 0:
      return random.next() < 0.5
        ? { type: 'hello', protocol: 1, clusterId: randomString(random, 30), role: 'node', nodeId: nodeId(random) }
        : { type: 'hello', protocol: 1, clusterId: null, role: 'client', nodeId: null };
    case 1:
      return { type: 'goodbye', code: random.pick(['wrong_cluster', 'shutting_down', 'frame_too_large'] as const), reason: randomString(random, 40) };
    case 2:
      return { type: 'submit', id: natural(random), client: `c${randomString(random, 20)}`, seq: natural(random), op: randomData(random, 4) };
    case 3:
      return { type: 'result', id: natural(random), slot: natural(random), result: randomData(random, 4) };
    case 4:
      return { type: 'redirect', id: natural(random), leader: random.next() < 0.5 ? null : nodeId(random), address: null };
    default:
      return { type: 'error', id: natural(random), code: 'busy', message: randomString(random, 50), indeterminate: random.next() < 0.5 };
  }
}

export function randomMessage(random: Random): WireMessage {
  return random.next() < 0.7 ? randomPeerMessage(random) : randomOtherMessage(random);
}
