import { describe, it, expect } from 'vitest';
import { decodeMessage, encodeMessage } from '../../../src/wire/codec.js';
import { WireError } from '../../../src/wire/errors.js';
import type { CloseReason, WireMessage } from '../../../src/wire/protocol.js';
import {
  acceptedEntriesMax,
  chosenEntriesMax,
  clientIdCharsMax,
  commandsPerValueMax,
  dataDepthMax,
  histogramBucketsMax,
  isGoodbye,
  parseClientRequest,
  parseClientResponse,
  parseGoodbye,
  parseHandshakeReply,
  parseHello,
  parsePeerMessage,
  statusPeersMax,
  textCharsMax,
} from '../../../src/wire/validate.js';
import { parseAny, sampleNames, samples, variantSamples, type SampleName } from './samples.js';

function rejection(action: () => unknown): WireError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(WireError);
    return error as WireError;
  }
  throw new Error('expected a WireError, but the message was accepted');
}

function expectRejected(x: unknown, code: CloseReason = 'invalid_message'): WireError {
  const error = rejection(() => parseAny(x));
  expect(error.code, error.message).toBe(code);
  return error;
}

function clone<T>(x: T): T {
  return structuredClone(x);
}

type Path = (string | number)[];

/** Every path to a field of a message, except inside an op or result, where any plain data is valid. */
function fieldPaths(x: unknown, prefix: Path = []): Path[] {
  if (typeof x !== 'object' || x === null || Buffer.isBuffer(x)) return [prefix];
  const paths: Path[] = prefix.length > 0 ? [prefix] : [];
  for (const [key, child] of Object.entries(x)) {
    if (key === 'type' && prefix.length === 0) continue;
    if (key === 'op' || key === 'result') {
      paths.push([...prefix, key]);
      continue;
    }
    paths.push(...fieldPaths(child, [...prefix, Array.isArray(x) ? Number(key) : key]));
  }
  return paths;
}

function getAt(x: unknown, path: Path): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], x);
}

function withAt(x: unknown, path: Path, replacement: unknown): unknown {
  const copy = clone(x);
  const parent = getAt(copy, path.slice(0, -1)) as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (replacement === deleted) delete parent[last];
  else parent[last] = replacement;
  return copy;
}

const deleted = Symbol('deleted');

/** A value of the wrong msgpack type for a field holding `original`. */
function wrongType(original: unknown): unknown {
  if (typeof original === 'number') return String(original);
  if (typeof original === 'string') return 7;
  if (typeof original === 'boolean') return 'true';
  if (Array.isArray(original)) return { 0: original[0] };
  if (original === null) return true;
  return [original];
}

const dataFields = new Set(['op', 'result']);

describe('validation round trip', () => {
  it.each(sampleNames)('%s: encode -> decode -> parse gives the same message', (name) => {
    expect(parseAny(decodeMessage(encodeMessage(samples[name])))).toEqual(samples[name]);
  });

  it.each(variantSamples.map((message) => [message.type, message] as const))('%s variant round-trips', (_, message) => {
    expect(parseAny(decodeMessage(encodeMessage(message)))).toEqual(message);
  });

  it.each(sampleNames)('%s: extra keys are ignored and do not reach the parsed message', (name) => {
    const extended = { ...clone(samples[name]), sneaky: { admin: true } };
    const parsed = parseAny(decodeMessage(encodeMessage(extended as WireMessage)));
    expect(parsed).toEqual(samples[name]);
    expect(Object.keys(parsed)).not.toContain('sneaky');
  });

  it('builds new objects rather than passing the decoded ones through', () => {
    const decoded = decodeMessage(encodeMessage(samples.accept)) as { ballot: object; value: object };
    const parsed = parsePeerMessage(decoded) as { ballot: object; value: object };
    expect(parsed).not.toBe(decoded);
    expect(parsed.ballot).not.toBe(decoded.ballot);
    expect(parsed.value).not.toBe(decoded.value);
  });

  it('does not let a __proto__ key change any prototype', () => {
    const hostile = { ...clone(samples.submit), op: JSON.parse('{"__proto__": {"polluted": true}}') as unknown };
    const parsed = parseClientRequest(decodeMessage(encodeMessage(hostile as WireMessage)));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf((parsed as { op: object }).op)).toBe(Object.prototype);
  });
});

/** Fields a message may leave out (newer additions an older node does not send). */
const optionalFields = new Set(['blessed', 'status.metrics', 'status.metrics.fsyncLatency', 'status.metrics.fsyncLatencyHistogram']);
/** Measured figures that may be fractional; every other number is an integer. */
const fractionalFields = new Set(['uptimeMs', 'commandsAppliedPerSecond', 'fsyncsPerSecond', 'rate']);

describe.each(sampleNames)('validation of %s', (name: SampleName) => {
  const sample = samples[name];
  const paths = fieldPaths(sample);

  it('refuses the message with any field missing', () => {
    for (const path of paths) {
      if (optionalFields.has(path.join('.'))) continue;
      expectRejected(withAt(sample, path, deleted));
    }
  });

  it('refuses any field with a value of the wrong type', () => {
    for (const path of paths) {
      if (dataFields.has(String(path[path.length - 1]))) continue;
      expectRejected(withAt(sample, path, wrongType(getAt(sample, path))));
    }
  });

  it('refuses negative, fractional and unsafe numbers in every numeric field', () => {
    for (const path of paths) {
      if (typeof getAt(sample, path) !== 'number') continue;
      const fractionalAllowed = fractionalFields.has(String(path[path.length - 1]));
      expectRejected(withAt(sample, path, -1));
      expectRejected(withAt(sample, path, Number.NaN));
      expectRejected(withAt(sample, path, Number.POSITIVE_INFINITY));
      if (!fractionalAllowed) {
        expectRejected(withAt(sample, path, 1.5));
        expectRejected(withAt(sample, path, 2 ** 53));
      }
    }
  });

  it('refuses a message that is not a map, and a missing or non-string type', () => {
    for (const notMap of [null, 7, 'accept', [sample], Buffer.from('x')]) expectRejected(notMap);
    expectRejected(withAt(sample, ['type'], deleted));
    expectRejected(withAt(sample, ['type'], 3));
  });
});

describe('unknown types', () => {
  it.each(['gossip', '', 'toString', '__proto__', 'constructor', 'PREPARE'])('refuses type %j as unknown_type', (type) => {
    expect(rejection(() => parsePeerMessage({ ...samples.prepare, type })).code).toBe('unknown_type');
    expect(rejection(() => parseClientRequest({ ...samples.submit, type })).code).toBe('unknown_type');
    expect(rejection(() => parseClientResponse({ ...samples.result, type })).code).toBe('unknown_type');
  });

  it('refuses a client message on a peer connection and the other way round', () => {
    expect(rejection(() => parsePeerMessage(samples.submit)).code).toBe('unknown_type');
    expect(rejection(() => parseClientRequest(samples.accept)).code).toBe('unknown_type');
    expect(rejection(() => parseClientResponse(samples.submit)).code).toBe('unknown_type');
  });
});

describe('node ids, slots and ballots', () => {
  it('accepts node ids 1 and 1,000,000 and refuses 0 and 1,000,001', () => {
    expect(parsePeerMessage({ ...samples.heartbeat, from: 1, to: 1_000_000 })).toMatchObject({ from: 1, to: 1_000_000 });
    expectRejected({ ...samples.heartbeat, from: 0 });
    expectRejected({ ...samples.heartbeat, to: 1_000_001 });
    expectRejected({ ...samples.welcome, nodeId: 0 });
  });

  it('accepts slot 0 and ballot node 0 (the zero ballot)', () => {
    expect(parsePeerMessage({ ...samples.nack, ballot: { round: 0, node: 0 } })).toMatchObject({ ballot: { round: 0, node: 0 } });
    expect(parsePeerMessage({ ...samples.accepted, slot: 0 })).toMatchObject({ slot: 0 });
  });

  it('refuses negative slots everywhere a slot appears', () => {
    expectRejected({ ...samples.accept, slot: -1 });
    expectRejected({ ...samples.promise, accepted: [{ ...samples.promise.accepted[0], slot: -5 }] });
    expectRejected({ ...samples.chosen_reply, entries: [{ ...samples.chosen_reply.entries[0], slot: -5 }] });
    expectRejected({ ...samples.chosen_request, fromSlot: -1 });
  });

  it('refuses a chosen_request for an empty range', () => {
    expectRejected({ ...samples.chosen_request, fromSlot: 10, toSlot: 9 });
    expect(parsePeerMessage({ ...samples.chosen_request, fromSlot: 10, toSlot: 10 })).toMatchObject({ fromSlot: 10, toSlot: 10 });
  });

  it('accepts the three reasons a snapshot request goes unserved, and nothing else', () => {
    for (const reason of ['none', 'busy', 'gone']) expect(parseAny({ ...samples.snapshot_unavailable, reason })).toMatchObject({ reason });
    expect(expectRejected({ ...samples.snapshot_unavailable, reason: 'later' }).message).toContain('snapshot_unavailable.reason');
  });

  it('refuses a snapshot chunk that runs past its announced total', () => {
    expectRejected({ ...samples.snapshot_chunk, offset: 4095, data: Buffer.from([1, 2]) });
  });

  it('names the failing field, with the index of the failing item', () => {
    const commands = [...samples.accept.value.commands, { client: 'c-3', seq: -1, op: null }];
    const error = expectRejected({ ...samples.accept, value: { commands } });
    expect(error.message).toContain('accept.value.commands[2].seq');
  });
});

describe('limits', () => {
  const nils = (length: number): null[] => new Array<null>(length).fill(null);

  it('refuses lists one item over their limit before looking at the items', () => {
    expectRejected({ ...samples.promise, accepted: nils(acceptedEntriesMax + 1) });
    expectRejected({ ...samples.chosen_reply, entries: nils(chosenEntriesMax + 1) });
    expectRejected({ ...samples.accept, value: { commands: nils(commandsPerValueMax + 1) } });
    expectRejected({ ...samples.status_reply, status: { ...samples.status_reply.status, peers: nils(statusPeersMax + 1) } });
    const { metrics } = samples.status_reply.status;
    const histogram = { ...metrics.commitLatencyHistogram, boundsMicros: nils(histogramBucketsMax + 1), counts: nils(histogramBucketsMax + 1) };
    expectRejected({ ...samples.status_reply, status: { ...samples.status_reply.status, metrics: { ...metrics, commitLatencyHistogram: histogram } } });
    expectRejected({ ...samples.status_reply, status: { ...samples.status_reply.status, metrics: { ...metrics, peers: nils(statusPeersMax + 1) } } });
  });

  it('refuses a status whose rebuilding is not a boolean', () => {
    expectRejected({ ...samples.status_reply, status: { ...samples.status_reply.status, rebuilding: 'yes' } });
  });

  it('refuses a latency histogram whose bounds and counts differ in number', () => {
    const { metrics } = samples.status_reply.status;
    const histogram = { ...metrics.commitLatencyHistogram, counts: [1] };
    expectRejected({ ...samples.status_reply, status: { ...samples.status_reply.status, metrics: { ...metrics, commitLatencyHistogram: histogram } } });
  });

  it('accepts a value with exactly commandsPerValueMax commands', () => {
    const commands = Array.from({ length: commandsPerValueMax }, (_, seq) => ({ client: 'c', seq, op: null }));
    const parsed = parsePeerMessage(decodeMessage(encodeMessage({ ...samples.accept, value: { commands } })));
    expect(parsed).toMatchObject({ value: { commands: { length: commandsPerValueMax } } });
  });

  it('limits client ids to 1..128 characters', () => {
    expect(parseClientRequest({ ...samples.submit, client: 'c'.repeat(clientIdCharsMax) })).toMatchObject({ type: 'submit' });
    expectRejected({ ...samples.submit, client: 'c'.repeat(clientIdCharsMax + 1) });
    expectRejected({ ...samples.submit, client: '' });
    expectRejected({ ...samples.accept, value: { commands: [{ client: 'c'.repeat(clientIdCharsMax + 1), seq: 1, op: null }] } });
  });

  it('limits reasons, refusals and error messages to 4096 characters', () => {
    const long = 'x'.repeat(textCharsMax + 1);
    expectRejected({ ...samples.goodbye, reason: long });
    expectRejected({ ...samples.refused, error: long });
    expectRejected({ ...samples.error, message: long });
    expect(parseGoodbye({ ...samples.goodbye, reason: long.slice(1) })).toMatchObject({ type: 'goodbye' });
  });
});

describe('op and result data', () => {
  function nested(depth: number): unknown {
    let data: unknown = 'leaf';
    for (let i = 0; i < depth; i++) data = i % 2 === 0 ? [data] : { inner: data };
    return data;
  }

  it(`accepts nesting ${dataDepthMax} deep and refuses ${dataDepthMax + 1}`, () => {
    expect(parseClientRequest({ ...samples.submit, op: nested(dataDepthMax) })).toMatchObject({ type: 'submit' });
    expectRejected({ ...samples.submit, op: nested(dataDepthMax + 1) });
    expectRejected({ ...samples.result, result: nested(dataDepthMax + 1) });
    expectRejected({ ...samples.accept, value: { commands: [{ client: 'c', seq: 1, op: nested(dataDepthMax + 1) }] } });
  });

  it('accepts every plain msgpack type', () => {
    const op = [null, true, 0, -1.5, 2 ** 40, 'text', Buffer.from([1]), new Date(0), 2n ** 63n, -(2n ** 63n), { a: [1] }];
    expect(parseClientRequest(decodeMessage(encodeMessage({ ...samples.submit, op })))).toMatchObject({ type: 'submit' });
  });

  it('refuses values that would not survive a re-encoding identically', () => {
    const exotic = [undefined, new Set([1]), new Map(), /x/, new Error('x'), new Uint8Array(1), new Float64Array(1), new Date(Number.NaN), 2n ** 64n, -(2n ** 63n) - 1n, () => 1, Symbol('s')];
    for (const op of exotic) expectRejected({ ...samples.submit, op });
    for (const op of exotic) expectRejected({ ...samples.submit, op: { nested: [op] } });
  });
});

describe('handshake', () => {
  it('accepts a client hello without a cluster id or node id', () => {
    const hello = { type: 'hello', protocol: 1, clusterId: null, role: 'client', nodeId: null };
    expect(parseHello(hello)).toEqual(hello);
  });

  it('requires a node to give its id and a client not to claim one', () => {
    expectRejected({ ...samples.hello, role: 'node', nodeId: null });
    expectRejected({ ...samples.hello, role: 'client', nodeId: 2 });
    expectRejected({ ...samples.hello, role: 'observer' });
  });

  it('calls anything but a hello first a missing handshake', () => {
    expect(rejection(() => parseHello(samples.submit)).code).toBe('handshake_required');
    expect(rejection(() => parseHello(samples.accept)).code).toBe('handshake_required');
    expect(rejection(() => parseHello({ type: 42 })).code).toBe('invalid_message');
  });

  it('reads a welcome or a goodbye as the reply, and nothing else', () => {
    expect(parseHandshakeReply(samples.welcome)).toEqual(samples.welcome);
    expect(parseHandshakeReply(samples.goodbye)).toEqual(samples.goodbye);
    expect(rejection(() => parseHandshakeReply(samples.result)).code).toBe('handshake_required');
  });

  it('reads the frame limit a welcome may carry, and refuses a nonsense one', () => {
    expect(parseHandshakeReply({ ...samples.welcome, frameBytesMax: 2_097_152 })).toEqual({ ...samples.welcome, frameBytesMax: 2_097_152 });
    expect(parseHandshakeReply({ ...samples.welcome, frameBytesMax: null })).toEqual(samples.welcome);
    expect(rejection(() => parseHandshakeReply({ ...samples.welcome, frameBytesMax: 0 })).code).toBe('invalid_message');
    expect(rejection(() => parseHandshakeReply({ ...samples.welcome, frameBytesMax: 2 ** 33 })).code).toBe('invalid_message');
    expect(rejection(() => parseHandshakeReply({ ...samples.welcome, frameBytesMax: '16M' })).code).toBe('invalid_message');
  });

  it('refuses a goodbye with an unknown close reason', () => {
    expectRejected({ ...samples.goodbye, code: 'bored' });
    expectRejected({ ...samples.goodbye, code: 'toString' });
  });

  it('recognises a goodbye before parsing, and parseGoodbye refuses anything else', () => {
    expect(isGoodbye(decodeMessage(encodeMessage(samples.goodbye)))).toBe(true);
    expect(isGoodbye(samples.heartbeat)).toBe(false);
    expect(isGoodbye(null)).toBe(false);
    expect(rejection(() => parseGoodbye(samples.heartbeat)).code).toBe('unknown_type');
  });
});
