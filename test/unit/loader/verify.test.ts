// Client voting: counting replicas' votes, polling a replica that lags, and
// how `paxos submit --verify` reports the vote.
import { afterEach, describe, expect, it } from 'vitest';
import { PaxosClient } from '../../../src/client/client.js';
import { submitJson, submitExitCodes, verifiedExitCode } from '../../../src/client/submit-report.js';
import { tallyVotes, verificationLines, verifySlot, type ReplicaVote, type Verification } from '../../../src/client/verify.js';
import { closeAll, refusedAddress, startFakeNode, type FakeAction } from '../client/fake-node.js';

afterEach(closeAll);

const agrees = (nodeId: number, digest = 'aaa'): ReplicaVote => ({ address: `127.0.0.1:${7400 + nodeId}`, nodeId, vote: 'digest', digest });

describe('tallyVotes', () => {
  it('agrees when every replica computed the same outcome', () => {
    const verification = tallyVotes(9, [agrees(1), agrees(2), agrees(3)], '127.0.0.1:7401');
    expect(verification).toMatchObject({ slot: 9, verdict: 'agree', replicas: 3, agreeing: 3, digest: 'aaa' });
    expect(verificationLines(verification)).toEqual(['verified: 3 of 3 replicas computed the same outcome for slot 9']);
  });

  it('agrees with a majority when the others could not vote, and says who did not', () => {
    const down: ReplicaVote = { address: '127.0.0.1:7403', nodeId: null, vote: 'unreachable', error: 'connection refused' };
    const verification = tallyVotes(9, [agrees(1), agrees(2), down]);
    expect(verification).toMatchObject({ verdict: 'agree', agreeing: 2, replicas: 3 });
    expect(verificationLines(verification).join('\n')).toEqual(
      'verified: 2 of 3 replicas computed the same outcome for slot 9; these did not vote:\n  node ? 127.0.0.1:7403: no vote: connection refused',
    );
  });

  it('is inconclusive below a majority', () => {
    const lagging: ReplicaVote = { address: '127.0.0.1:7402', nodeId: 2, vote: 'pending', lastApplied: 7 };
    const forgot: ReplicaVote = { address: '127.0.0.1:7403', nodeId: 3, vote: 'not_kept', lastApplied: 90 };
    const verification = tallyVotes(9, [agrees(1), lagging, forgot]);
    expect(verification.verdict).toBe('inconclusive');
    expect(verificationLines(verification).join('\n')).toMatch(/only 1 of 3[^]*only up to slot 7[^]*no longer keeps/);
  });

  it('disagrees, loudly, when any replica computed another outcome; the answering node is the reference', () => {
    const verification = tallyVotes(9, [agrees(1, 'mine'), agrees(2, 'theirs'), agrees(3, 'theirs')], '127.0.0.1:7401');
    expect(verification).toMatchObject({ verdict: 'disagree', agreeing: 1, digest: 'mine' });
    const lines = verificationLines(verification, '127.0.0.1:7401');
    expect(lines[0]).toMatch(/^DISAGREEMENT: .*slot 9; only 1 of 3 replicas agree/);
    expect(lines.join('\n')).toMatch(/node 2 127\.0\.0\.1:7402: DIFFERS, digest theirs/);
    expect(lines.join('\n')).toMatch(/node 1 127\.0\.0\.1:7401: agrees, digest mine \(answered the command\)/);
  });

  it('counts a node reached at two addresses once', () => {
    const twice: ReplicaVote = { address: 'localhost:7401', nodeId: 1, vote: 'digest', digest: 'aaa' };
    expect(tallyVotes(9, [agrees(1), twice, agrees(2)])).toMatchObject({ replicas: 2, agreeing: 2, verdict: 'agree' });
  });
});

describe('the exit code and JSON of a voted submit', () => {
  const applied = { status: 'applied' as const, slot: 9, result: 'OK', address: '127.0.0.1:7401' };
  const vote = (verdict: Verification['verdict']): Verification => ({ slot: 9, verdict, replicas: 3, agreeing: 1, digest: 'x', votes: [] });

  it('exits 6 on disagreement whatever the outcome, 7 when an applied command could not be confirmed', () => {
    expect(verifiedExitCode({ ...applied, verification: vote('agree') })).toBe(0);
    expect(verifiedExitCode({ ...applied, verification: vote('disagree') })).toBe(submitExitCodes.disagreement);
    expect(submitExitCodes.disagreement).toBe(6);
    expect(verifiedExitCode({ ...applied, verification: vote('inconclusive') })).toBe(7);
    const refused = { status: 'refused' as const, slot: 9, error: 'no', address: 'a' };
    expect(verifiedExitCode({ ...refused, verification: vote('inconclusive') })).toBe(3);
    expect(verifiedExitCode({ ...refused, verification: vote('disagree') })).toBe(6);
  });

  it('adds the vote to the JSON object as "verify"', () => {
    expect(submitJson({ ...applied, verification: vote('agree') })).toEqual({ ok: true, result: 'OK', slot: 9, verify: vote('agree') });
    expect(submitJson(applied)).toEqual({ ok: true, result: 'OK', slot: 9 });
  });
});

describe('verifySlot against nodes', () => {
  /** A node that has applied up to `appliedAfter[i]` on its i-th vote request, with `digest` for slot 5. */
  async function votingNode(nodeId: number, appliedAfter: number[], digest: string) {
    const script = (_: unknown, index: number): FakeAction => {
      const lastApplied = appliedAfter[Math.min(index, appliedAfter.length - 1)];
      const known = lastApplied >= 5;
      return { reply: { type: 'slot_outcome_reply', slot: 5, known, digest: known ? digest : null, lastApplied } };
    };
    return startFakeNode({ nodeId, script });
  }

  it('asks a replica again until it has applied the slot', async () => {
    const nodes = [await votingNode(1, [5], 'd'), await votingNode(2, [3, 4, 5], 'd'), await votingNode(3, [5], 'd')];
    const addresses = nodes.map((node) => node.address);
    const client = new PaxosClient({ addresses: addresses.map((address) => ({ host: '127.0.0.1', port: Number(address.split(':')[1]) })), timeoutMs: 5_000 });
    try {
      const verification = await verifySlot({ client, addresses, slot: 5, answeredBy: addresses[0], waitMs: 2_000 });
      expect(verification).toMatchObject({ verdict: 'agree', agreeing: 3, replicas: 3 });
      expect(nodes[1].requests).toHaveLength(3);
      expect(nodes[1].requests[0]).toMatchObject({ type: 'slot_outcome', slot: 5 });
    } finally {
      client.close();
    }
  });

  it('reports a replica that never catches up as pending, and one that is down as unreachable, within the wait', async () => {
    const nodes = [await votingNode(1, [5], 'd'), await votingNode(2, [4], 'd')];
    const addresses = [...nodes.map((node) => node.address), await refusedAddress()];
    const client = new PaxosClient({ addresses: addresses.map((address) => ({ host: '127.0.0.1', port: Number(address.split(':')[1]) })), timeoutMs: 5_000 });
    try {
      const started = Date.now();
      const verification = await verifySlot({ client, addresses, slot: 5, answeredBy: addresses[0], waitMs: 300 });
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(verification.verdict).toBe('inconclusive');
      expect(verification.votes.map((vote) => vote.vote)).toEqual(['digest', 'pending', 'unreachable']);
    } finally {
      client.close();
    }
  });
});
