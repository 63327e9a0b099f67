// Member discovery: from any one address, every member. Ask the addresses
// given, take the configuration of the node that leads (else of the one with
// the newest configuration), and ask every member at the address that
// configuration (or the peer list) gives for it. Pure apart from `ask`, so it
// tests without sockets.
import type { NodeId } from '../node/core/messages.js';
import type { NodeStatus } from '../wire/protocol.js';
import type { NodeStatusReport } from './client.js';

/** Status requests in flight at once: a large cluster is asked in waves, not all at once. */
export const discoveryConcurrencyMax = 8;
/** Nodes asked in all (the addresses given included): a configuration names at most this many members worth showing. */
export const discoveryNodesMax = 64;

/** The status of the node whose configuration the others are compared with: the leader's, else the newest configuration's. */
export function referenceStatus(reports: readonly NodeStatusReport[]): NodeStatus | null {
  const answered = reports.flatMap((report) => (report.reachable ? [report.status] : []));
  const leader = answered.find((status) => status.role === 'leader' && status.configuration !== undefined);
  if (leader !== undefined) return leader;
  const configured = answered.filter((status) => status.configuration !== undefined);
  if (configured.length === 0) return null;
  return configured.reduce((best, status) => ((status.configuration?.fromSlot ?? 0) > (best.configuration?.fromSlot ?? 0) ? status : best));
}

/** Where every member not yet answered for can be asked: the configuration's addresses, else the reference node's peer list. */
export function memberAddresses(reference: NodeStatus): Map<NodeId, string> {
  const addresses = new Map<NodeId, string>();
  const config = reference.configuration;
  if (config === undefined) return addresses;
  const dialled = new Map(reference.peers.map((peer) => [peer.id, peer.address]));
  for (const member of [...config.voters, ...config.learners]) {
    const address = member.id === reference.id ? reference.address : (dialled.get(member.id) ?? member.address);
    if (address !== null && address !== undefined) addresses.set(member.id, address);
  }
  return addresses;
}

/**
 * One report per address given, in order, then one per member found at
 * another address, in id order. A member that already answered at a given
 * address (under its id) is not asked again, nor is an address already asked.
 */
export async function discoverStatuses(
  addresses: readonly string[],
  ask: (address: string) => Promise<NodeStatusReport>,
  options: { concurrency?: number; nodesMax?: number } = {},
): Promise<NodeStatusReport[]> {
  const concurrency = options.concurrency ?? discoveryConcurrencyMax;
  const nodesMax = options.nodesMax ?? discoveryNodesMax;
  const given = await askAll(addresses.slice(0, nodesMax), ask, concurrency);
  const reference = referenceStatus(given);
  if (reference === null) return given;
  const answeredIds = new Set(given.flatMap((report) => (report.reachable ? [report.status.id] : [])));
  const asked = new Set(given.map((report) => report.address));
  const more = [...memberAddresses(reference)]
    .sort(([a], [b]) => a - b)
    .filter(([id, address]) => !answeredIds.has(id) && !asked.has(address))
    .map(([, address]) => address)
    .slice(0, Math.max(0, nodesMax - given.length));
  return [...given, ...(await askAll(more, ask, concurrency))];
}

/** `ask` for every address, at most `concurrency` at a time; results in the order of the addresses. */
async function askAll(addresses: readonly string[], ask: (address: string) => Promise<NodeStatusReport>, concurrency: number): Promise<NodeStatusReport[]> {
  const results: NodeStatusReport[] = new Array(addresses.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < addresses.length) {
      const index = next++;
      results[index] = await ask(addresses[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, addresses.length) }, worker));
  return results;
}
