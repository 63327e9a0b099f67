// Parsing a node's own configuration (--peers, --listen). Pure functions whose
// errors are fit to show a user as they are. Limits and their relations are in
// ../config.ts (resolveNodeConfig).
import type { NodeId } from '../core/messages.js';
import { parseAddress } from '../../net/address.js';
import type { Endpoint } from './transport.js';

/** Members of one cluster: Paxos needs a majority, and every node dials every other. */
export const clusterNodesMax = 15;

export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses `1=127.0.0.1:7401,2=127.0.0.1:7402,...` into node ids and the addresses to dial them at. */
export function parsePeers(text: string): Map<NodeId, Endpoint> {
  const peers = new Map<NodeId, Endpoint>();
  for (const entry of text.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    const match = /^(\d+)=(.+)$/.exec(entry);
    if (match === null) throw new ConfigError(`invalid peer "${entry}": expected ID=HOST:PORT, e.g. 1=127.0.0.1:7401`);
    const id = Number(match[1]);
    if (!Number.isSafeInteger(id) || id < 1 || id > 1_000_000) throw new ConfigError(`invalid node id ${match[1]}: use 1..1000000`);
    if (peers.has(id)) throw new ConfigError(`node id ${id} appears twice in --peers`);
    peers.set(id, parseEndpoint(match[2]));
  }
  if (peers.size === 0) throw new ConfigError('--peers is empty: list every node as ID=HOST:PORT,...');
  if (peers.size > clusterNodesMax) throw new ConfigError(`--peers lists ${peers.size} nodes; at most ${clusterNodesMax}`);
  return peers;
}

export function parseEndpoint(text: string): Endpoint {
  try {
    return parseAddress(text);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

export function formatEndpoint(endpoint: Endpoint): string {
  return endpoint.host.includes(':') ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
}
