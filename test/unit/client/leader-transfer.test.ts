// `paxos leader transfer` in-process against fake nodes: the exit code for
// each way the leader can answer (0 done, 4 certainly not, 5 unknown), and
// redirects followed.
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import LeaderTransfer from '../../../src/commands/leader/transfer.js';
import type { ClientRequest, LeaderTransferResponse } from '../../../src/wire/protocol.js';
import { closeAll, refusedAddress, startFakeNode, statusOf, type FakeAction } from './fake-node.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));

afterEach(async () => {
  vi.restoreAllMocks();
  await closeAll();
});

async function run(argv: string[]): Promise<{ stdout: string[]; stderr: string[]; exitCode: number }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => void stdout.push(String(line)));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => (stderr.push(String(chunk).trimEnd()), true));
  const before = process.exitCode;
  let exitCode = 0;
  try {
    await LeaderTransfer.run(argv, root);
    exitCode = typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    exitCode = (error as { oclif?: { exit?: number } }).oclif?.exit ?? 1;
    stderr.push((error as Error).message);
  } finally {
    process.exitCode = before;
    vi.restoreAllMocks();
  }
  return { stdout, stderr, exitCode };
}

const none = { code: null, message: '', certain: true, from: null, to: null, ballot: null, leader: null, address: null };

/** A leader whose answer to leader_transfer is `reply`. */
function leaderScript(id: number, reply: Partial<Omit<LeaderTransferResponse, 'id' | 'type'>>): (request: ClientRequest) => FakeAction {
  return (request) =>
    request.type === 'status'
      ? { reply: { type: 'status_reply', status: statusOf(id, { role: 'leader', leader: id }) } }
      : { reply: { type: 'leader_transfer_reply', ...none, status: 'done', ...reply } };
}

describe('paxos leader transfer', () => {
  it('exits 0 once the leader reports the target leading, sending the target it was given', async () => {
    const node = await startFakeNode({ nodeId: 1, script: leaderScript(1, { status: 'done', from: 1, to: 2, ballot: '7.2', leader: 2, message: 'node 2 leads at ballot 7.2 (was node 1)' }) });
    const { stdout, exitCode } = await run(['--to', '2', '-c', node.address]);
    expect(exitCode).toBe(0);
    expect(stdout).toEqual(['leadership transferred: node 2 leads at ballot 7.2 (was node 1)']);
    expect(node.requests.filter((r) => r.type === 'leader_transfer')).toEqual([expect.objectContaining({ type: 'leader_transfer', to: 2 })]);
  });

  it('exits 4 on a certain failure (a learner), 5 on an uncertain one (blessed, not seen leading), with the reason', async () => {
    const refused = await startFakeNode({ nodeId: 1, script: leaderScript(1, { status: 'failed', code: 'target_not_voter', message: 'node 4 is a learner of the configuration from slot 9; only a voter can lead', certain: true }) });
    const certain = await run(['--to', '4', '-c', refused.address]);
    expect(certain.exitCode).toBe(4);
    expect(certain.stderr.join('\n')).toContain('not transferred: node 4 is a learner');
    const timedOut = await startFakeNode({ nodeId: 1, script: leaderScript(1, { status: 'failed', code: 'timed_out', message: 'node 2 was not heard leading within 60 ticks', certain: false }) });
    const unknown = await run(['--to', '2', '-c', timedOut.address, '--json']);
    expect(unknown.exitCode).toBe(5);
    expect(JSON.parse(unknown.stdout.join('\n'))).toMatchObject({ exitCode: 5, outcome: 'unknown', code: 'timed_out' });
  });

  it('follows a redirect to the leader, and sends no target when none is given', async () => {
    const leader = await startFakeNode({ nodeId: 2, script: leaderScript(2, { status: 'done', from: 2, to: 3, ballot: '8.3', message: 'node 3 leads at ballot 8.3 (was node 2)' }) });
    const follower = await startFakeNode({
      nodeId: 1,
      script: (request) =>
        request.type === 'status'
          ? { reply: { type: 'status_reply', status: statusOf(1, { role: 'leader', leader: 1 }) } }
          : { reply: { type: 'leader_transfer_reply', ...none, status: 'redirect', message: 'node 2 leads', leader: 2, address: leader.address } },
    });
    const { exitCode } = await run(['-c', follower.address]);
    expect(exitCode).toBe(0);
    expect(leader.requests.filter((r) => r.type === 'leader_transfer')).toEqual([expect.objectContaining({ to: null })]);
  });

  it('exits 5 when the leader drops the connection after the request left (the transfer may have started)', async () => {
    const node = await startFakeNode({
      nodeId: 1,
      script: (request) => (request.type === 'status' ? { reply: { type: 'status_reply', status: statusOf(1, { role: 'leader', leader: 1 }) } } : { close: true }),
    });
    const { exitCode, stderr } = await run(['--to', '2', '-c', node.address]);
    expect(exitCode).toBe(5);
    expect(stderr.join('\n')).toContain('did not answer');
  });

  it('exits 4 when no leader answers, and 2 on a bad flag', async () => {
    const down = await refusedAddress();
    const { exitCode, stderr } = await run(['-c', down, '--timeout', '300ms']);
    expect(exitCode).toBe(4);
    expect(stderr.join('\n')).toContain('no leader answered');
    expect((await run(['--wait', 'soon'])).exitCode).toBe(2);
  });
});
