// The driver and a disk that gathers appends (--fsync batch): every Ready is
// handed to the disk at once instead of one write at a time, yet a message that
// vouches for records leaves only once they, and every record before them, are
// durable. A disk that does not gather gets one write at a time, as before.
import { describe, expect, it } from 'vitest';
import { NodeDriver } from '../../../src/node/driver/driver.js';
import type { Done, DriverDisk } from '../../../src/node/driver/ports.js';
import { silentLogger } from '../../../src/node/driver/log.js';
import { PaxosNode } from '../../../src/node/core/node.js';
import { foundingState } from '../../../src/node/core/membership.js';
import type { PeerMessage, WalRecord } from '../../../src/node/core/messages.js';
import { createKeyValueStore } from '../../../src/node/statemachine/kv.js';
import { resolveNodeConfig } from '../../../src/node/config.js';

class HeldDisk implements DriverDisk {
  readonly appends: { records: WalRecord[]; sync: boolean; done: Done }[] = [];
  bytesWritten = 0;
  constructor(readonly gathersAppends: boolean) {}
  append(records: WalRecord[], sync: boolean, done: Done): void {
    this.appends.push({ records, sync, done });
  }
  writeSnapshot(): void {}
  checkpoint(_records: WalRecord[], done: Done): void {
    done(null);
  }
}

/** Node 1, a follower of node 2, whose Readies run only when the test says. */
function follower(gathersAppends: boolean) {
  const disk = new HeldDisk(gathersAppends);
  const sent: PeerMessage[] = [];
  const deferred: (() => void)[] = [];
  const resolved = resolveNodeConfig();
  const driver = new NodeDriver({
    id: 1,
    core: new PaxosNode({ id: 1, incarnation: 'n1', seed: 1, limits: resolved.coreLimits, founding: foundingState([1, 2, 3].map((id) => ({ id, incarnation: `n${id}` })), 256) }),
    disk,
    network: { send: (messages) => sent.push(...(messages as PeerMessage[])) },
    clock: { nowMs: () => 0, defer: (work) => deferred.push(work) },
    log: silentLogger,
    stateMachine: createKeyValueStore,
    stateMachineIdentity: 'builtin:kv@1',
    snapshot: null,
    limits: {
      ...resolved,
      valueBytesMax: resolved.valueBytesMax,
      snapshotTransferIdleMsMax: 5_000,
      snapshotBytesMax: 1 << 30,
      snapshotRefetchMsMin: 5_000,
    },
    addressOf: () => null,
  });
  driver.start();
  const runDeferred = () => {
    while (deferred.length > 0) deferred.shift()?.();
  };
  // The founding membership is the node's first record: durable before anything else.
  runDeferred();
  for (const append of disk.appends.splice(0)) append.done(null);
  runDeferred();
  const accept = (slot: number) => {
    driver.onPeerMessage({ type: 'accept', from: 2, to: 1, ballot: { round: 1, node: 2 }, slot, value: { commands: [{ client: 'c', seq: slot, op: ['set', 'x', String(slot)] }] }, commitIndex: 0 });
    runDeferred();
  };
  const accepted = () => sent.filter((message) => message.type === 'accepted').map((message) => (message as { slot: number }).slot);
  return { disk, accept, accepted, runDeferred };
}

describe('driver: writes to a disk that gathers appends', () => {
  it('hands each Ready over at once, and sends each accepted only after its append is durable, in order', () => {
    const node = follower(true);
    node.accept(1);
    node.accept(2);
    node.accept(3);
    expect(node.disk.appends.map((append) => append.records.map((record) => record.type === 'accept' && record.slot))).toEqual([[1], [2], [3]]);
    expect(node.disk.appends.every((append) => append.sync)).toBe(true);
    expect(node.accepted()).toEqual([]);
    node.disk.appends[0].done(null);
    node.runDeferred();
    expect(node.accepted()).toEqual([1]);
    node.disk.appends[1].done(null);
    node.disk.appends[2].done(null);
    node.runDeferred();
    expect(node.accepted()).toEqual([1, 2, 3]);
  });

  it('gives a disk that does not gather one write at a time, the Readies queued meanwhile in the next', () => {
    const node = follower(false);
    node.accept(1);
    node.accept(2);
    node.accept(3);
    expect(node.disk.appends).toHaveLength(1);
    node.disk.appends[0].done(null);
    node.runDeferred();
    expect(node.accepted()).toEqual([1]);
    expect(node.disk.appends).toHaveLength(2);
    expect(node.disk.appends[1].records.map((record) => record.type === 'accept' && record.slot)).toEqual([2, 3]);
    expect(node.accepted()).toEqual([1]);
  });
});
