// `paxos cluster start --nodes 5` on a --dir founded by 3: the two new nodes
// join through the membership commands' path (docs/membership.md, "Grow"): each
// is added as a learner, started with --join, and promoted once it has caught
// up, one at a time, so the voters never outnumber the live ones by more than
// one node that is still catching up.
import { changeMember, listMembers, memberExitCodes, type MemberChangeResult } from './members.js';
import type { ClusterAddress } from './options.js';

/** What growing needs of a local cluster (src/node/runtime/local-cluster.ts is one). */
export interface GrowingNode {
  id: number;
  address: string;
  /** Not a founder: added through the log. */
  grows: boolean;
}
export interface GrowingCluster<Node extends GrowingNode> {
  readonly plan: { nodes: readonly Node[] };
  /** Spawns the node; true once it answers a status request. */
  startGrowing(node: Node): Promise<boolean>;
}

export interface GrowOptions {
  /** The founders' addresses: the leader is found among them. */
  addresses: readonly ClusterAddress[];
  /** Limit per request to a node. */
  timeoutMs: number;
  /** How long each change may take to be chosen and in effect, and a learner to catch up. */
  waitMs: number;
  write: (line: string) => void;
}

/** A promote refused because the learner has not caught up yet (or a leader not yet elected) is asked again this often until waitMs. */
const promoteRetryMs = 300;

/**
 * Adds and starts every node of the plan that grows the cluster. Resolves null
 * once each is a voter, or the reason it stopped (the cluster keeps running).
 */
export async function growLocalCluster<Node extends GrowingNode>(cluster: GrowingCluster<Node>, options: GrowOptions): Promise<string | null> {
  for (const node of cluster.plan.nodes.filter((candidate) => candidate.grows)) {
    const problem = await growOne(cluster, node, options);
    if (problem !== null) return `node ${node.id}: ${problem}`;
  }
  return null;
}

async function growOne<Node extends GrowingNode>(cluster: GrowingCluster<Node>, node: Node, options: GrowOptions): Promise<string | null> {
  // The founders serve before they have elected a leader.
  const electedBy = Date.now() + options.waitMs;
  let members = await listMembers(options.addresses, options.timeoutMs);
  while (members === null && Date.now() < electedBy) {
    await new Promise((resolve) => setTimeout(resolve, promoteRetryMs));
    members = await listMembers(options.addresses, options.timeoutMs);
  }
  if (members === null) return `no leader answered among the founders within ${options.waitMs} ms (is a majority of them up?), so it was not added`;
  const member = members.find((row) => row.id === node.id);
  if (member === undefined) {
    options.write(`cluster: growing to node ${node.id}: adding it as a learner at ${node.address}`);
    const added = await change(options, { action: 'add', node: node.id, address: node.address, learner: true, force: false });
    if (added.exitCode !== memberExitCodes.inEffect) return `member add: ${added.message}`;
  }
  if (!(await cluster.startGrowing(node))) return 'it did not start serving (see its [n] lines)';
  if (member?.role === 'voter') return null;
  options.write(`cluster: node ${node.id} serves as a learner; promoting it to voter once it has caught up`);
  const deadline = Date.now() + options.waitMs;
  for (;;) {
    const promoted = await change(options, { action: 'promote', node: node.id, address: null, learner: false, force: false });
    if (promoted.exitCode === memberExitCodes.inEffect) return null;
    // Not caught up yet (or a change of the founders' own in flight): certainly not made, so it is safe to ask again.
    if (promoted.exitCode !== memberExitCodes.notMade || Date.now() >= deadline) return `member promote: ${promoted.message}`;
    await new Promise((resolve) => setTimeout(resolve, promoteRetryMs));
  }
}

function change(options: GrowOptions, request: Parameters<typeof changeMember>[1]): Promise<MemberChangeResult> {
  return changeMember(options.addresses, request, { timeoutMs: options.timeoutMs, waitMs: options.waitMs });
}
