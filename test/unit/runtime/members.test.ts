// The leader's checks before a membership change (src/node/runtime/members.ts):
// what `paxos member ...` is refused for, with the reason, and the change it
// proposes otherwise.
import { describe, expect, it } from 'vitest';
import { decideMemberChange, type MemberContext } from '../../../src/node/runtime/members.js';
import type { CoreStatus } from '../../../src/node/core/node.js';
import type { PeerProgress } from '../../../src/node/core/leader.js';
import type { MemberRequest } from '../../../src/wire/protocol.js';

const voters = [1, 2, 3].map((id) => ({ id, incarnation: `i${id}` }));

function context(options: { heard?: [number, Partial<PeerProgress>][]; learners?: { id: number; incarnation: string | null }[]; voters?: { id: number; incarnation: string }[] } = {}): MemberContext {
  const status = {
    id: 1,
    tick: 1000,
    commitIndex: 900,
    configuration: { fromSlot: 1, voters: options.voters ?? voters, learners: options.learners ?? [] },
  } as unknown as CoreStatus;
  const heard = options.heard ?? [
    [2, {}],
    [3, {}],
  ];
  const progress = new Map(heard.map(([id, p]) => [id, { incarnation: `i${id}`, commitIndex: 900, atTick: 1000, sinceTick: 0, ...p }]));
  return { self: 1, status, progress, aliveTicks: 120, caughtUpSlots: 256 };
}

const request = (action: MemberRequest['action'], node: number, extra: Partial<MemberRequest> = {}): MemberRequest => ({ type: 'member', id: 1, action, node, address: null, learner: false, force: false, ...extra });

describe('member changes: what the leader proposes, and what it refuses', () => {
  it('add names the node at its address with no incarnation yet (bound to the first that joins); an existing member is refused', () => {
    expect(decideMemberChange(request('add', 4, { address: '10.0.0.4:7401', learner: true }), context())).toEqual({
      change: { kind: 'set', member: { id: 4, incarnation: null, address: '10.0.0.4:7401' }, role: 'learner' },
    });
    expect(decideMemberChange(request('add', 2, { address: 'x:1' }), context())).toEqual({ refused: expect.stringContaining('already a voter') });
    expect(decideMemberChange(request('add', 4), context())).toEqual({ refused: expect.stringContaining('--address') });
  });

  it('add as a voter is refused while the bound voters are no live majority of the larger configuration (a one-voter cluster must add a learner)', () => {
    const alone = context({ voters: [{ id: 1, incarnation: 'i1' }], heard: [] });
    expect(decideMemberChange(request('add', 2, { address: 'x:2' }), alone)).toEqual({
      refused: expect.stringMatching(/adding node 2 as a voter would leave 1 live voter\(s\) \(1\) where 2 are needed; .*add it with --learner.*paxos member promote 2/),
    });
    expect(decideMemberChange(request('add', 2, { address: 'x:2', learner: true }), alone)).toEqual({ change: { kind: 'set', member: { id: 2, incarnation: null, address: 'x:2' }, role: 'learner' } });
    expect(decideMemberChange(request('add', 4, { address: 'x:4' }), context())).toEqual({ change: { kind: 'set', member: { id: 4, incarnation: null, address: 'x:4' }, role: 'voter' } });
    expect(decideMemberChange(request('add', 4, { address: 'x:4' }), context({ heard: [[2, {}], [3, { atTick: 0 }]] }))).toEqual({ refused: expect.stringContaining('where 3 are needed') });
  });

  it('promote waits until the learner is heard and caught up, then names the incarnation that caught up', () => {
    const learners = [{ id: 4, incarnation: null }];
    expect(decideMemberChange(request('promote', 4), context({ learners }))).toEqual({ refused: expect.stringContaining('not reachable') });
    const behind = context({ learners, heard: [[2, {}], [3, {}], [4, { incarnation: 'i4', commitIndex: 100 }]] });
    expect(decideMemberChange(request('promote', 4), behind)).toEqual({ refused: expect.stringContaining('has not caught up: it has slot 100 of 900') });
    const caughtUp = context({ learners, heard: [[2, {}], [3, {}], [4, { incarnation: 'i4', commitIndex: 890 }]] });
    expect(decideMemberChange(request('promote', 4), caughtUp)).toEqual({ change: { kind: 'set', member: { id: 4, incarnation: 'i4' }, role: 'voter' } });
    expect(decideMemberChange(request('promote', 2), caughtUp)).toEqual({ refused: expect.stringContaining('already a voter') });
  });

  it('remove and replace refuse to leave the voters without a live majority, unless forced', () => {
    const oneDown = context({ heard: [[2, {}], [3, { atTick: 0 }]] });
    expect(decideMemberChange(request('remove', 3), oneDown)).toEqual({ change: { kind: 'remove', id: 3 } });
    expect(decideMemberChange(request('remove', 2), oneDown)).toEqual({ refused: expect.stringMatching(/would leave 1 live voter\(s\) \(1\) where 2 are needed/) });
    expect(decideMemberChange(request('remove', 2, { force: true }), oneDown)).toEqual({ change: { kind: 'remove', id: 2 } });
    // Replacing 2 leaves its old incarnation dead: with 3 down too, only 1 of 3 is alive.
    expect(decideMemberChange(request('replace', 2, { address: '10.0.0.9:7401' }), oneDown)).toEqual({ refused: expect.stringContaining('replacing node 2') });
    expect(decideMemberChange(request('replace', 3, { address: '10.0.0.9:7401' }), oneDown)).toEqual({
      change: { kind: 'set', member: { id: 3, incarnation: null, address: '10.0.0.9:7401' }, role: 'voter' },
    });
    // A peer heard under another incarnation (a wiped disk) is not a live voter of the old one.
    const wiped = context({ heard: [[2, { incarnation: 'new' }], [3, {}]] });
    expect(decideMemberChange(request('remove', 3), wiped)).toEqual({ refused: expect.stringContaining('would leave') });
  });
});
