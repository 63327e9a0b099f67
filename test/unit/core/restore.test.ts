// Founding a cluster on data dirs restored from a backup (`paxos snapshot
// restore`): each dir holds the backup's snapshot at slot S and no membership;
// the bootstrap exchange founds the new cluster from slot S + 1, and only among
// dirs restored from the same backup (the `base`).
import { describe, expect, it } from 'vitest';
import { PaxosNode, recoverState, type BootstrapMode } from '../../../src/node/core/node.js';
import { configurationKey, foundingState } from '../../../src/node/core/membership.js';
import type { CoreEvent, NodeId, PeerMessage } from '../../../src/node/core/messages.js';
import { testLimits } from './cluster.js';

const baseA = `40:${'a'.repeat(64)}`;
const baseB = `40:${'b'.repeat(64)}`;

interface Seed {
  id: NodeId;
  /** '' for an empty data dir. */
  base: string;
  mode?: BootstrapMode;
}

/** Cores only, every message delivered at once, every Ready durable at once. */
function boot(seeds: Seed[], ticks = 200) {
  const ids = seeds.map((seed) => seed.id);
  const nodes = new Map<NodeId, PaxosNode>();
  const events = new Map<NodeId, CoreEvent[]>();
  for (const seed of seeds) {
    const recovered = recoverState([], seed.base === '' ? 0 : Number(seed.base.split(':')[0]), null);
    nodes.set(seed.id, new PaxosNode({ id: seed.id, incarnation: `n${seed.id}`, seed: seed.id, limits: testLimits, recovered, bootstrap: { mode: seed.mode ?? 'unanimous', peers: ids, window: 8, base: seed.base } }));
    events.set(seed.id, []);
  }
  const pump = () => {
    const queue: PeerMessage[] = [];
    for (const [id, node] of nodes) {
      const ready = node.takeReady();
      node.advance({ persisted: ready.number });
      events.get(id)!.push(...ready.events);
      queue.push(...ready.messages, ...ready.messagesAfterAppend);
    }
    for (const message of queue) nodes.get(message.to)?.step(message);
    return queue.length;
  };
  const run = (n: number, until: () => boolean = () => false) => {
    for (let i = 0; i < n && !until(); i += 1) {
      for (const node of nodes.values()) node.tick();
      while (pump() > 0);
    }
  };
  run(ticks, () => [...nodes.values()].every((node) => node.status().configuration !== null));
  return { nodes, events, run, pump };
}

describe('founding on restored data dirs', () => {
  it('three dirs restored from one backup at slot 40 found a cluster whose first slot is 41, and it chooses there', () => {
    const { nodes, run } = boot([1, 2, 3].map((id) => ({ id, base: baseA })));
    for (const node of nodes.values()) {
      const status = node.status();
      expect(status.configuration?.fromSlot).toBe(41);
      expect(status.member).toBe('voter');
      expect(status.commitIndex).toBe(40);
    }
    run(300, () => [...nodes.values()].some((node) => node.status().role === 'leader'));
    const leader = [...nodes.values()].find((node) => node.status().role === 'leader')!;
    expect(leader.propose({ client: 'c', seq: 1, op: { type: 'set', key: 'k', value: 'v' } }).status).toBe('queued');
    run(50, () => [...nodes.values()].every((node) => node.status().commitIndex >= 41));
    for (const node of nodes.values()) {
      expect(node.status().commitIndex).toBeGreaterThanOrEqual(41);
      expect(node.chosenValue(41)).toEqual(leader.chosenValue(41));
    }
    // The same configuration everywhere.
    const keys = new Set([...nodes.values()].map((node) => configurationKey(node.configurationAt(41)!)));
    expect(keys.size).toBe(1);
  });

  it('never founds with a dir restored from another backup, nor with an empty one, and says why', () => {
    for (const other of [baseB, '']) {
      const { nodes, events } = boot([
        { id: 1, base: baseA },
        { id: 2, base: baseA },
        { id: 3, base: other, mode: 'majority' },
      ]);
      for (const [id, node] of nodes) {
        // A majority of 1 and 2 could found under `majority`; under the default (unanimous) none does,
        // and node 3's majority mode counts nobody: it shares its base with no one.
        expect(node.status().configuration, `node ${id} with ${other || 'an empty dir'} beside`).toBeNull();
      }
      const why = (events.get(1) ?? []).flatMap((event) => (event.kind === 'waiting' ? [event.why] : []));
      expect(why.at(-1)).toMatch(/node\(s\) 3 .*paxos snapshot restore/);
      const whyEmpty = (events.get(3) ?? []).flatMap((event) => (event.kind === 'waiting' ? [event.why] : []));
      expect(whyEmpty.at(-1)).toMatch(/node\(s\) 1, 2 /);
    }
  });

  it('a restored founder that missed the founding adopts the cluster of its own backup, never a cluster of another', () => {
    // 1 and 2 (majority mode) found without 3; 3, restored from the same backup, learns the cluster from them.
    const same = boot([
      { id: 1, base: baseA, mode: 'majority' },
      { id: 2, base: baseA, mode: 'majority' },
      { id: 3, base: baseA },
    ]);
    expect(same.nodes.get(3)!.status().configuration?.fromSlot).toBe(41);
    // An empty dir beside two restored founders joins their cluster (as a new member would); a dir from another backup never does.
    const other = boot([
      { id: 1, base: baseA, mode: 'majority' },
      { id: 2, base: baseA, mode: 'majority' },
      { id: 3, base: baseB },
    ]);
    expect(other.nodes.get(1)!.status().configuration?.fromSlot).toBe(41);
    expect(other.nodes.get(3)!.status().configuration).toBeNull();
  });

  it("ignores a peer's membership known through fewer slots than its own snapshot covers (a peer's bug), instead of asserting", () => {
    const node = new PaxosNode({ id: 1, incarnation: 'n1', seed: 1, limits: testLimits, recovered: recoverState([], 40, null), bootstrap: { mode: 'unanimous', peers: [1, 2], window: 8, base: baseA } });
    const stale = foundingState([{ id: 1, incarnation: 'n1' }, { id: 2, incarnation: 'n2' }], 8, 10);
    node.step({ type: 'join_reply', from: 2, to: 1, incarnation: 'n2', window: 8, pristine: false, view: [], membership: stale, base: baseA });
    expect(node.status().configuration).toBeNull();
  });
});
