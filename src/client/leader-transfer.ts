// The client side of `paxos leader transfer`: find the leader, ask it to hand
// leadership to a voter (or to the most caught-up one), follow redirects, and
// wait for its answer, which comes when the target leads or the transfer
// failed (the leader bounds it by an election timeout). Exit codes as SPEC
// says: 0 done, 4 certainly not done (with the reason), 5 unknown.
import type { NodeId } from '../node/core/messages.js';
import type { LeaderTransferCode } from '../wire/protocol.js';
import { NodeConnection, errorMessage } from './connection.js';
import { leaderStatus } from './members.js';
import { parseAddress, type ClusterAddress } from './options.js';

export const transferExitCodes = Object.freeze({ done: 0, usage: 2, notDone: 4, unknown: 5 });

/** Redirects followed before giving up: leadership that keeps moving under us is reported, not chased. */
const redirectsMax = 3;

export interface LeaderTransferResult {
  exitCode: number;
  /** done: the target leads; not_done: it certainly did not move; unknown: it may yet. */
  outcome: 'done' | 'not_done' | 'unknown';
  message: string;
  code: LeaderTransferCode | 'no_leader' | 'unreachable' | null;
  /** The leader before, the target, and the ballot the target leads at (when done). */
  from: NodeId | null;
  to: NodeId | null;
  ballot: string | null;
}

/**
 * Asks the leader to transfer leadership to `to` (null: the most caught-up
 * voter). `timeoutMs` bounds each connect and status request; `waitMs` how
 * long the leader's answer may take (more than its election timeout).
 */
export async function transferLeader(addresses: readonly ClusterAddress[], to: NodeId | null, options: { timeoutMs: number; waitMs: number }): Promise<LeaderTransferResult> {
  const found = await leaderStatus(addresses, options.timeoutMs);
  const notDone = (message: string, code: LeaderTransferResult['code'], from: NodeId | null = null): LeaderTransferResult => ({ exitCode: transferExitCodes.notDone, outcome: 'not_done', message, code, from, to, ballot: null });
  if (found === null) return notDone('no leader answered at the cluster addresses (is a majority of the voters up?)', 'no_leader');
  let address = found.address;
  let from: NodeId | null = found.status.id;
  for (let hop = 0; hop <= redirectsMax; hop += 1) {
    let reply;
    try {
      const connection = await NodeConnection.open({ address: parseAddress(address), connectTimeoutMs: options.timeoutMs });
      try {
        reply = await connection.request({ type: 'leader_transfer', to }, options.waitMs);
      } finally {
        connection.close();
      }
    } catch (error) {
      // The request may have reached the leader and started the transfer.
      return { exitCode: transferExitCodes.unknown, outcome: 'unknown', message: `the leader at ${address} did not answer: ${errorMessage(error)}; check \`paxos status\``, code: 'unreachable', from, to, ballot: null };
    }
    if (reply.type !== 'leader_transfer_reply') return notDone(`the node answered ${reply.type}; is it older than leader transfer?`, null, from);
    if (reply.status === 'done') {
      return { exitCode: transferExitCodes.done, outcome: 'done', message: reply.message, code: null, from: reply.from, to: reply.to, ballot: reply.ballot };
    }
    if (reply.status === 'failed') {
      const message = `${reply.certain ? 'not transferred' : 'unknown whether leadership moved'}: ${reply.message}`;
      return { exitCode: reply.certain ? transferExitCodes.notDone : transferExitCodes.unknown, outcome: reply.certain ? 'not_done' : 'unknown', message, code: reply.code, from, to, ballot: null };
    }
    if (reply.address === null || reply.leader === null) return notDone(`not transferred: ${reply.message}`, 'no_leader', from);
    address = reply.address;
    from = reply.leader;
  }
  return notDone('not transferred: leadership kept moving', 'preempted', from);
}
