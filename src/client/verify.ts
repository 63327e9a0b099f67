// Client voting: "voting among instances is used by clients to determine the
// outcome of the commands". After a command is applied at slot S, the client
// asks every replica for the digest of the outcomes it computed at S and counts
// how many agree with the outcome the client was given. Replicas of a
// deterministic state machine always agree; a disagreement means the machine
// (or a replica) is broken, and is reported loudly.
import type { NodeId, Slot } from '../node/core/messages.js';
import type { ClientResponse } from '../wire/protocol.js';
import type { PaxosClient } from './client.js';
import { errorMessage, type NodeConnection } from './connection.js';

/**
 * How long a vote waits for replicas that have not applied the slot yet. A
 * healthy follower applies a slot within a heartbeat or two of the leader;
 * one that takes longer is lagging, and is reported as such rather than waited for.
 */
export const verifyWaitMsDefault = 2_000;

/** A replica's answer may take this long even when the wait is nearly over (a slow node is not an unreachable one). */
const voteRequestMsMin = 500;
/** Polling a replica that has not applied the slot yet: start fast, then back off. */
const pollMsMin = 10;
const pollMsMax = 100;

/**
 * One replica's vote on a slot:
 * - `digest`: it applied the slot; `digest` identifies the outcomes it computed.
 * - `pending`: it had not applied the slot (only up to `lastApplied`) when the wait ended.
 * - `not_kept`: it applied past the slot but no longer keeps its digest (or skipped it by installing a snapshot).
 * - `unreachable`: no answer (`error` says why).
 */
export type ReplicaVote =
  | { address: string; nodeId: NodeId; vote: 'digest'; digest: string }
  | { address: string; nodeId: NodeId; vote: 'pending'; lastApplied: Slot }
  | { address: string; nodeId: NodeId; vote: 'not_kept'; lastApplied: Slot }
  | { address: string; nodeId: NodeId | null; vote: 'unreachable'; error: string };

/**
 * The result of a vote on one slot.
 * - `agree`: a majority of the replicas asked computed the outcome the client was given, and none computed another.
 * - `disagree`: some replica computed a different outcome: the state machine is not deterministic.
 * - `inconclusive`: none differ, but fewer than a majority could confirm (down, lagging).
 */
export interface Verification {
  /** The slot voted on: where the command was applied. */
  slot: Slot;
  /** See above. */
  verdict: 'agree' | 'disagree' | 'inconclusive';
  /** Distinct replicas asked (the cluster addresses, and the node that answered the command). */
  replicas: number;
  /** Replicas whose digest equals `digest`. */
  agreeing: number;
  /** The digest of the node that answered the command (else the most common one); null when no replica voted. */
  digest: string | null;
  /** One vote per replica, in the order of the addresses asked. */
  votes: ReplicaVote[];
}

/** What {@link verifySlot} needs. */
export interface VerifySlotOptions {
  /** Its connections are used (and its cluster id check applies). */
  client: PaxosClient;
  /** Every replica to ask, host:port as formatAddress writes it. */
  addresses: readonly string[];
  slot: Slot;
  /** The address of the node that answered the command; its digest is the reference. */
  answeredBy?: string;
  /** See {@link verifyWaitMsDefault}. */
  waitMs?: number;
  connectTimeoutMs?: number;
}

/** Asks every replica, in parallel, for its digest of `slot`, and counts the votes. Never rejects. */
export async function verifySlot(options: VerifySlotOptions): Promise<Verification> {
  const deadline = Date.now() + (options.waitMs ?? verifyWaitMsDefault);
  const addresses = [...new Set([...options.addresses, ...(options.answeredBy === undefined ? [] : [options.answeredBy])])];
  const ask = (address: string) => collectVote({ client: options.client, address, slot: options.slot, deadline, connectTimeoutMs: options.connectTimeoutMs ?? 1_000 });
  const votes = await Promise.all(addresses.map(ask));
  return tallyVotes(options.slot, votes, options.answeredBy);
}

interface VoteRequest {
  client: PaxosClient;
  address: string;
  slot: Slot;
  deadline: number;
  connectTimeoutMs: number;
}

async function collectVote(request: VoteRequest): Promise<ReplicaVote> {
  const { address } = request;
  let connection: NodeConnection;
  try {
    connection = await request.client.connect(address, Math.max(1, Math.min(request.connectTimeoutMs, request.deadline - Date.now())));
  } catch (error) {
    return { address, nodeId: null, vote: 'unreachable', error: errorMessage(error) };
  }
  return pollVote(connection, request);
}

/** Asks until the replica has applied the slot or the wait is over. */
async function pollVote(connection: NodeConnection, { address, slot, deadline }: VoteRequest): Promise<ReplicaVote> {
  const nodeId = connection.nodeId;
  for (let pollMs = pollMsMin; ; pollMs = Math.min(pollMs * 2, pollMsMax)) {
    let reply: ClientResponse;
    try {
      reply = await connection.request({ type: 'slot_outcome', slot }, Math.max(voteRequestMsMin, deadline - Date.now()));
    } catch (error) {
      return { address, nodeId, vote: 'unreachable', error: errorMessage(error) };
    }
    if (reply.type !== 'slot_outcome_reply' || reply.slot !== slot) {
      return { address, nodeId, vote: 'unreachable', error: `${address}: answered a vote request with ${reply.type}` };
    }
    if (reply.known && reply.digest !== null) return { address, nodeId, vote: 'digest', digest: reply.digest };
    if (reply.lastApplied >= slot) return { address, nodeId, vote: 'not_kept', lastApplied: reply.lastApplied };
    if (Date.now() + pollMs >= deadline) return { address, nodeId, vote: 'pending', lastApplied: reply.lastApplied };
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/**
 * Counts the votes. The reference is the digest of the node that answered the
 * command (what the client was told), else the most common one. A node
 * reached at two addresses counts once, with its most telling vote.
 */
export function tallyVotes(slot: Slot, votes: readonly ReplicaVote[], answeredBy?: string): Verification {
  const distinct = onePerNode(votes);
  const digests = distinct.flatMap((vote) => (vote.vote === 'digest' ? [vote] : []));
  const digest = digests.find((vote) => vote.address === answeredBy)?.digest ?? mostCommon(digests.map((vote) => vote.digest));
  const agreeing = digests.filter((vote) => vote.digest === digest).length;
  const majority = Math.floor(distinct.length / 2) + 1;
  const verdict = digests.some((vote) => vote.digest !== digest) ? 'disagree' : agreeing >= majority ? 'agree' : 'inconclusive';
  return { slot, verdict, replicas: distinct.length, agreeing, digest, votes: distinct };
}

const voteRank: Record<ReplicaVote['vote'], number> = { digest: 3, not_kept: 2, pending: 1, unreachable: 0 };

function onePerNode(votes: readonly ReplicaVote[]): ReplicaVote[] {
  const byNode = new Map<string, ReplicaVote>();
  for (const vote of votes) {
    const key = vote.nodeId === null ? `address ${vote.address}` : `node ${vote.nodeId}`;
    const kept = byNode.get(key);
    if (kept === undefined || voteRank[vote.vote] > voteRank[kept.vote]) byNode.set(key, vote);
  }
  return [...byNode.values()];
}

function mostCommon(values: readonly string[]): string | null {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  let best: string | null = null;
  for (const [value, count] of counts) if (best === null || count > (counts.get(best) ?? 0)) best = value;
  return best;
}

/**
 * The vote as lines for a person: one line when it agrees; when it does not,
 * a headline and one line per replica. A disagreement starts with
 * `DISAGREEMENT:` so that it stands out in any log.
 */
export function verificationLines(verification: Verification, answeredBy?: string): string[] {
  const { slot, replicas, agreeing } = verification;
  const tally = `${agreeing} of ${replicas} replicas`;
  if (verification.verdict === 'agree' && agreeing === replicas) return [`verified: ${tally} computed the same outcome for slot ${slot}`];
  const describe = (vote: ReplicaVote) => `  ${describeVote(vote, verification.digest, answeredBy)}`;
  const details = verification.votes.map(describe);
  if (verification.verdict === 'agree') {
    const silent = verification.votes.filter((vote) => vote.vote !== 'digest').map(describe);
    return [`verified: ${tally} computed the same outcome for slot ${slot}; these did not vote:`, ...silent];
  }
  if (verification.verdict === 'inconclusive') {
    return [`not verified: only ${tally} could confirm the outcome of slot ${slot} (a majority is needed):`, ...details];
  }
  return [
    `DISAGREEMENT: the replicas computed different outcomes for slot ${slot}; only ${tally} agree with the outcome this client was given.`,
    'The state machine is not deterministic (clock, randomness, I/O or iteration order in apply?), or a replica is damaged.',
    ...details,
  ];
}

function describeVote(vote: ReplicaVote, reference: string | null, answeredBy?: string): string {
  const who = `${vote.nodeId === null ? 'node ?' : `node ${vote.nodeId}`} ${vote.address}`;
  const answered = vote.address === answeredBy ? ' (answered the command)' : '';
  switch (vote.vote) {
    case 'digest':
      return `${who}: ${vote.digest === reference ? 'agrees' : 'DIFFERS'}, digest ${vote.digest}${answered}`;
    case 'pending':
      return `${who}: had applied only up to slot ${vote.lastApplied} when the wait ended${answered}`;
    case 'not_kept':
      return `${who}: applied up to slot ${vote.lastApplied} but no longer keeps this slot's outcome${answered}`;
    case 'unreachable':
      return `${who}: no vote: ${vote.error}`;
  }
}
