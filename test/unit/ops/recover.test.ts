// paxos recover's plan and its writes (src/ops/recover.ts), on data dirs made
// here record by record: which survivor it picks, how each slot after the
// pick's prefix is decided (chosen anywhere, else the highest accepted ballot,
// else a no-op), what it reports may be lost, what it refuses, and that the
// pick restarts as a one-member cluster whose history keeps every chosen value.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { foundingState } from '../../../src/node/core/membership.js';
import type { Value, WalRecord } from '../../../src/node/core/messages.js';
import { PaxosNode, recoverState } from '../../../src/node/core/node.js';
import { writeIdentity } from '../../../src/node/storage/identity.js';
import { WriteAheadLog } from '../../../src/node/storage/wal.js';
import { applyRecovery, planRecovery, RecoverRefusal } from '../../../src/ops/recover.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'paxos-recover-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const set = (key: string, value: string): Value => ({ commands: [{ client: 'c', seq: 1, op: ['set', key, value] }] });
const members = [1, 2, 3, 4, 5].map((id) => ({ id, incarnation: `a${id}` }));
const ballot = (round: number, node: number) => ({ round, node });

async function survivor(id: number, records: WalRecord[], clusterId = 'c1'): Promise<string> {
  const dir = join(root, `n${id}`);
  mkdirSync(dir);
  await writeIdentity(dir, { nodeId: id, clusterId, createdAt: new Date(0).toISOString(), stateMachine: 'builtin:kv@1', incarnation: `a${id}`, hasLog: true });
  const { wal } = await WriteAheadLog.open(dir, { fsync: 'always' });
  await wal.append([{ type: 'membership', state: foundingState(members, 4) }, ...records]);
  await wal.close();
  return dir;
}

const chosen = (slot: number, value: Value): WalRecord => ({ type: 'chosen', slot, value });
const accept = (slot: number, round: number, node: number, value: Value): WalRecord => ({ type: 'accept', slot, ballot: ballot(round, node), value });

describe('paxos recover: the plan', () => {
  it('picks the longest chosen prefix and decides each later slot by what any survivor knows: chosen, else the highest ballot accepted, else a no-op', async () => {
    // Of five, 1 and 2 survive. 1 knows 1..3 chosen; 2 knows 1..2 chosen and 5 chosen, and accepted 4 at a higher ballot than 1 did.
    const one = await survivor(1, [chosen(1, set('a', '1')), chosen(2, set('b', '2')), chosen(3, set('c', '3')), accept(4, 1, 1, set('d', '4')), accept(6, 1, 1, set('f', '6'))]);
    const two = await survivor(2, [chosen(1, set('a', '1')), chosen(2, set('b', '2')), accept(4, 2, 3, set('d', '40')), chosen(5, set('e', '5'))]);
    const plan = await planRecovery([two, one]);
    expect(plan.pick.nodeId).toBe(1);
    expect(plan.pick.chosenThrough).toBe(3);
    expect(plan.decisions.map((d) => [d.slot, d.source.kind, d.preview])).toEqual([
      [4, 'accepted', '1 cmd: c#1 set d 40'],
      [5, 'chosen', '1 cmd: c#1 set e 5'],
      [6, 'accepted', '1 cmd: c#1 set f 6'],
    ]);
    expect(plan.decisions[0].source).toEqual({ kind: 'accepted', ballot: '2.3', dataDirs: [two] });
    expect(plan.mayBeLost.map((d) => d.slot)).toEqual([4, 6]);
    expect(plan.fromSlot).toBe(7);
    expect(plan.retired.map((m) => m.id)).toEqual([2, 3, 4, 5]);
  });

  it('fills a slot no survivor accepted with a no-op, and says it may be lost', async () => {
    const one = await survivor(1, [chosen(1, set('a', '1')), accept(3, 1, 1, set('c', '3'))]);
    const plan = await planRecovery([one]);
    expect(plan.decisions.map((d) => [d.slot, d.source.kind, d.preview])).toEqual([
      [2, 'nothing', 'no-op'],
      [3, 'accepted', '1 cmd: c#1 set c 3'],
    ]);
  });

  it('refuses two chosen values for one slot, survivors of two clusters, one node twice, and a dir that is no data dir', async () => {
    const one = await survivor(1, [chosen(1, set('a', '1')), chosen(2, set('b', '2'))]);
    const two = await survivor(2, [chosen(1, set('a', '1')), chosen(2, set('b', 'other'))]);
    await expect(planRecovery([one, two])).rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(/slot 2 holds two different chosen values.*safety bug/) });
    const stranger = await survivor(3, [], 'c2');
    await expect(planRecovery([one, stranger])).rejects.toMatchObject({ code: 'mixed' });
    await expect(planRecovery([one, one])).rejects.toMatchObject({ code: 'mixed', message: expect.stringContaining('two data dirs are node 1') });
    const empty = join(root, 'empty');
    mkdirSync(empty);
    await expect(planRecovery([empty])).rejects.toBeInstanceOf(RecoverRefusal);
    await expect(planRecovery([])).rejects.toMatchObject({ code: 'usage' });
  });
});

describe('paxos recover: a pick whose membership is known past its chosen prefix', () => {
  it('decides every slot through it (no-ops where nothing is known), so the one-member record wins on restart', async () => {
    // A node that joined adopted a peer's membership known through slot 6, and learned only slots 1-2 chosen.
    const one = await survivor(1, [chosen(1, set('a', '1')), chosen(2, set('b', '2')), { type: 'membership', state: foundingState(members, 4, 6) }]);
    const plan = await applyRecovery([one]);
    expect(plan.decisions.map((d) => [d.slot, d.source.kind])).toEqual([3, 4, 5, 6].map((slot) => [slot, 'nothing']));
    expect(plan.fromSlot).toBe(7);
    const { wal, records } = await WriteAheadLog.open(one, { fsync: 'always' });
    await wal.close();
    expect(recoverState(records).membership?.epochs).toEqual([{ fromSlot: 7, config: { voters: [{ id: 1, incarnation: 'a1' }], learners: [] } }]);
  });
});

describe('paxos recover: the writes', () => {
  it('appends the decided slots as chosen and a one-member membership: the pick restarts as the only voter and keeps every chosen value', async () => {
    const one = await survivor(1, [chosen(1, set('a', '1')), chosen(2, set('b', '2')), accept(3, 1, 1, set('c', '3'))]);
    const two = await survivor(2, [chosen(1, set('a', '1')), accept(3, 2, 2, set('c', '30')), chosen(4, set('d', '4'))]);
    const plan = await applyRecovery([one, two]);
    expect(plan.pick.nodeId).toBe(1);
    expect(plan.fromSlot).toBe(5);
    const { wal, records } = await WriteAheadLog.open(one, { fsync: 'always' });
    await wal.close();
    const state = recoverState(records);
    expect([...state.chosen.keys()].sort()).toEqual([1, 2, 3, 4]);
    expect(state.chosen.get(3)).toEqual(set('c', '30'));
    expect(state.chosen.get(4)).toEqual(set('d', '4'));
    expect(state.membership?.epochs).toEqual([{ fromSlot: 5, config: { voters: [{ id: 1, incarnation: 'a1' }], learners: [] } }]);
    // The restarted core is the only voter from slot 5 and leads alone.
    const core = new PaxosNode({ id: 1, incarnation: 'a1', seed: 1, recovered: state, limits: { electionTimeoutTicksMin: 10, electionTimeoutTicksMax: 20, heartbeatTicks: 2, resendTicks: 4 } });
    for (let tick = 0; tick < 100 && core.status().role !== 'leader'; tick += 1) {
      core.tick();
      const ready = core.takeReady();
      core.advance({ persisted: ready.number });
      for (const message of [...ready.messages, ...ready.messagesAfterAppend]) if (message.to === 1) core.step(message);
    }
    expect(core.status().role).toBe('leader');
    expect(core.status().commitIndex).toBe(4);
    // The other survivor's dir is not written to.
    const other = await WriteAheadLog.open(two, { fsync: 'always' });
    await other.wal.close();
    expect(other.records).toHaveLength(4);
  });
});
