// Bounds in bytes, beside the bounds in slots and commands: a slot holds any
// number of commands of any size, and a message over the frame limit could
// never be sent. Also: size.ts never counts less than msgpack takes.
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { commandBytes, valueBytes } from '../../../src/node/core/size.js';
import type { Command, PeerMessage } from '../../../src/node/core/messages.js';
import { Prng } from '../../../src/node/core/prng.js';
import { Cluster, command, testLimits, valueOf, where } from './cluster.js';

/** A command whose op carries `bytes` of string. */
function big(client: string, seq: number, bytes: number): Command {
  return command(client, seq, ['set', client, 'x'.repeat(bytes)]);
}

function accepts(cluster: Cluster, to: number): Extract<PeerMessage, { type: 'accept' }>[] {
  return cluster.inFlight.filter(where({ type: 'accept', to })) as Extract<PeerMessage, { type: 'accept' }>[];
}

describe('size.ts: the bytes a value takes', () => {
  const packr = new Packr({ useRecords: false });
  it('is never less than msgpack takes, over random ops of every shape', () => {
    const prng = new Prng(7);
    const leaf = (): unknown => {
      switch (prng.int(0, 6)) {
        case 0:
          return 'é€😀abc'.repeat(prng.int(0, 20)).slice(0, prng.int(0, 60));
        case 1:
          return prng.int(-1_000_000, 1_000_000) * (prng.int(0, 2) === 0 ? 1 : 1e9 + 0.5);
        case 2:
          return new Uint8Array(prng.int(0, 300));
        case 3:
          return prng.int(0, 2) === 0;
        case 4:
          return null;
        default:
          return 'k'.repeat(prng.int(0, 70_000) * (prng.int(0, 20) === 0 ? 1 : 0));
      }
    };
    const op = (depth: number): unknown => {
      if (depth > 3 || prng.int(0, 3) === 0) return leaf();
      if (prng.int(0, 2) === 0) return Array.from({ length: prng.int(0, 6) }, () => op(depth + 1));
      return Object.fromEntries(Array.from({ length: prng.int(0, 6) }, (_, i) => [`key${i}é`, op(depth + 1)]));
    };
    for (let i = 0; i < 300; i += 1) {
      const value = valueOf(...Array.from({ length: prng.int(0, 4) }, (_, c) => command(`client-${c}`, prng.int(1, 2 ** 40), op(0))));
      const packed = packr.pack(value.commands.map((c) => [c.client, c.seq, c.op])).length;
      expect(valueBytes(value)).toBeGreaterThanOrEqual(packed);
    }
  });

  it('counts string contents exactly, so a budget is not wasted on ASCII', () => {
    const plain = commandBytes(command('c', 1, 'a'.repeat(1000)));
    expect(plain).toBeLessThan(1000 + 40);
    expect(commandBytes(command('c', 1, '€'.repeat(1000)))).toBeGreaterThanOrEqual(3000);
  });
});

describe('batches, the window and catch-up are bounded in bytes', () => {
  const limits = { ...testLimits, batchBytesMax: 10_000, windowBytesMax: 25_000, catchupBytesMax: 10_000 };

  it('a batch holds at most batchBytesMax of commands, but a larger command still gets a slot of its own', () => {
    const cluster = new Cluster({ size: 3, limits: { ...limits, windowBytesMax: 1_000_000 } });
    cluster.elect(1);
    cluster.propose(1, big('a', 1, 4_000), big('b', 1, 4_000), big('c', 1, 4_000), big('d', 1, 30_000), big('e', 1, 100));
    const slots = accepts(cluster, 1).map((m) => m.value.commands.map((c) => c.client).join(''));
    expect(slots).toEqual(['ab', 'c', 'd', 'e']);
    for (const message of accepts(cluster, 1)) {
      if (message.value.commands.length > 1) expect(valueBytes(message.value)).toBeLessThanOrEqual(10_000);
    }
  });

  it('a leader opens no slot while windowBytesMax of its proposals wait to be chosen, and goes on as they are', () => {
    const cluster = new Cluster({ size: 3, limits });
    cluster.elect(1);
    cluster.propose(1, ...Array.from({ length: 10 }, (_, i) => big('w', i + 1, 8_000)));
    // 8 KB slots: the fourth takes the window past 25 KB, so it is the last one proposed for now.
    expect(accepts(cluster, 1).map((m) => m.slot)).toEqual([1, 2, 3, 4]);
    expect(cluster.node(1).status()).toMatchObject({ proposalsInFlight: 4, pendingCommands: 6 });
    cluster.deliverAll();
    cluster.collect([1]);
    cluster.deliverAll();
    cluster.collect([1]);
    cluster.deliverAll();
    expect(cluster.node(1).status()).toMatchObject({ commitIndex: 10, proposalsInFlight: 0, pendingCommands: 0 });
  });

  it('a chosen_reply carries at most catchupBytesMax of values (at least one), and the follower asks again for the rest', () => {
    const cluster = new Cluster({ size: 3, limits: { ...limits, windowBytesMax: 1_000_000, batchCommandsMax: 1 } });
    cluster.elect(1);
    cluster.propose(1, ...Array.from({ length: 6 }, (_, i) => big('w', i + 1, 4_000)));
    cluster.deliverAll(where({ to: [1, 2] }));
    cluster.take(where({ to: 3 }));
    expect(cluster.node(1).status().commitIndex).toBe(6);
    const reply = cluster.step({ type: 'chosen_request', from: 3, to: 1, fromSlot: 1, toSlot: 6 });
    const entries = (reply?.messages.find((m) => m.type === 'chosen_reply') as Extract<PeerMessage, { type: 'chosen_reply' }>).entries;
    expect(entries.map((e) => e.slot)).toEqual([1, 2]);
    cluster.take(where({ type: 'chosen_reply' }));
    const single = cluster.step({ type: 'chosen_request', from: 3, to: 1, fromSlot: 1, toSlot: 1 }, );
    expect(single?.messages.find((m) => m.type === 'chosen_reply')).toMatchObject({ entries: [{ slot: 1 }] });
    cluster.take(where({ type: 'chosen_reply' }));
    cluster.spreadCommitIndex(1);
    expect(cluster.node(3).status().commitIndex).toBe(6);
  });

  it('a promise that would carry more than catchupBytesMax of chosen values tells the candidate to catch up first', () => {
    const cluster = new Cluster({ size: 3, limits: { ...limits, windowBytesMax: 1_000_000, batchCommandsMax: 1 } });
    cluster.elect(1);
    cluster.propose(1, ...Array.from({ length: 6 }, (_, i) => big('w', i + 1, 4_000)));
    cluster.deliverAll(where({ to: [1, 2] }));
    cluster.spreadCommitIndex(1);
    cluster.take(where({ to: 3 }));
    // Node 2 stops hearing the leader, so it answers another candidate; node 3's log starts at slot 1.
    cluster.crash(1);
    cluster.tick(2, (limits.electionTimeoutTicksMin ?? 10) + 1);
    cluster.take(() => true);
    const ready = cluster.step({ type: 'prepare', from: 3, to: 2, ballot: { round: 9, node: 3 }, fromSlot: 1 });
    expect(ready?.messages.find((m) => m.type === 'promise')).toMatchObject({ accepted: [], chosen: [], catchUpTo: 6 });
  });
});
