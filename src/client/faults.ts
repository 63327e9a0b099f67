// The client side of fault injection (`paxos fault ...`): find the node a
// fault is for, send it a `fault` request, and report what it said. Nodes
// accept these only when started with --enable-faults; see
// src/node/runtime/faults.ts for what each fault does.
import type { NodeId } from '../node/core/messages.js';
import type { FaultAction } from '../wire/protocol.js';
import { nodeIdMax, nodeIdMin } from '../wire/validate.js';
import { NodeConnection, errorMessage } from './connection.js';
import { InvalidOptionError } from './errors.js';
import { formatAddress, type ClusterAddress } from './options.js';

/** A fault request without its id. */
export interface FaultCommand {
  action: FaultAction;
  /** Peers concerned; empty means every peer (not allowed for partition). */
  nodes: NodeId[];
  delayMs: number;
  rate: number;
}

/** What one node said to a fault request, or why it could not be asked. */
export interface FaultResult {
  /** The node asked (null when `heal` went to an address that did not answer). */
  node: NodeId | null;
  address: string | null;
  /** The node answered (false: unreachable or not found). */
  reachable: boolean;
  /** The node applied the fault. */
  ok: boolean;
  message: string;
}

/** Exit codes of `paxos fault`, in line with `paxos submit`'s. */
export const faultExitCodes = Object.freeze({ applied: 0, refused: 1, usage: 2, unreachable: 4 });

/** 1 when any node refused, else 4 when any could not be reached, else 0. */
export function faultExitCode(results: readonly FaultResult[]): number {
  if (results.some((result) => result.reachable && !result.ok)) return faultExitCodes.refused;
  if (results.some((result) => !result.reachable)) return faultExitCodes.unreachable;
  return faultExitCodes.applied;
}

/** Parses `2,3` into node ids. */
export function parseNodeIds(text: string): NodeId[] {
  const ids = text.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (ids.length === 0) throw new InvalidOptionError('give at least one node id, e.g. 2,3');
  return ids.map((part) => {
    const id = Number(part);
    if (!/^\d+$/.test(part) || id < nodeIdMin || id > nodeIdMax) throw new InvalidOptionError(`invalid node id "${part}": use ${nodeIdMin}..${nodeIdMax}`);
    return id;
  });
}

/** Parses a drop rate: a fraction (`0.2`) or a percentage (`20%`). */
export function parseDropRate(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text);
  const rate = match === null ? Number.NaN : Number(match[1]) / (match[2] === '%' ? 100 : 1);
  if (!(rate >= 0 && rate <= 1)) throw new InvalidOptionError(`invalid drop rate "${text}": use a fraction from 0 to 1 (0.2) or a percentage (20%)`);
  return rate;
}

/**
 * Connects to node `id`: the id-th address first (the usual layout, as
 * `paxos cluster start` makes), then every other address, by the node id
 * each one names in its welcome. Throws InvalidOptionError when no reachable
 * address is that node.
 */
export async function connectToNode(addresses: readonly ClusterAddress[], id: NodeId, timeoutMs: number): Promise<NodeConnection> {
  const guess = addresses[id - 1];
  const order = guess === undefined ? [...addresses] : [guess, ...addresses.filter((address) => address !== guess)];
  const seen: string[] = [];
  for (const address of order) {
    const connection = await NodeConnection.open({ address, connectTimeoutMs: timeoutMs }).catch((error: unknown) => {
      seen.push(`${formatAddress(address)} unreachable (${errorMessage(error)})`);
      return null;
    });
    if (connection === null) continue;
    if (connection.nodeId === id) return connection;
    seen.push(`${formatAddress(address)} is node ${connection.nodeId}`);
    connection.close();
  }
  throw new NodeNotFoundError(`node ${id} is not at any of the cluster addresses: ${seen.join('; ')}`);
}

/** No address of the cluster answered as the node asked for. */
export class NodeNotFoundError extends Error {
  readonly code = 'node_not_found' as const;

  constructor(message: string) {
    super(message);
    this.name = 'NodeNotFoundError';
  }
}

/** Sends `command` to node `id` and reports its answer. Never rejects for operating errors. */
export async function sendFault(addresses: readonly ClusterAddress[], id: NodeId, command: FaultCommand, timeoutMs: number): Promise<FaultResult> {
  let connection: NodeConnection;
  try {
    connection = await connectToNode(addresses, id, timeoutMs);
  } catch (error) {
    return { node: id, address: null, reachable: false, ok: false, message: errorMessage(error) };
  }
  return ask(connection, command, timeoutMs);
}

/** Heals every node at `addresses` (each address asked once, in parallel). */
export async function healAll(addresses: readonly ClusterAddress[], timeoutMs: number): Promise<FaultResult[]> {
  const heal: FaultCommand = { action: 'heal', nodes: [], delayMs: 0, rate: 0 };
  return Promise.all(
    addresses.map(async (address): Promise<FaultResult> => {
      try {
        return await ask(await NodeConnection.open({ address, connectTimeoutMs: timeoutMs }), heal, timeoutMs);
      } catch (error) {
        return { node: null, address: formatAddress(address), reachable: false, ok: false, message: errorMessage(error) };
      }
    }),
  );
}

async function ask(connection: NodeConnection, command: FaultCommand, timeoutMs: number): Promise<FaultResult> {
  const base = { node: connection.nodeId, address: connection.address };
  try {
    const response = await connection.request({ type: 'fault', ...command }, timeoutMs);
    if (response.type === 'fault_reply') return { ...base, reachable: true, ok: response.ok, message: response.message };
    const detail = response.type === 'error' ? `${response.message} (${response.code})` : `an unexpected ${response.type}`;
    return { ...base, reachable: true, ok: false, message: `the node answered ${detail}; is it older than fault injection?` };
  } catch (error) {
    return { ...base, reachable: false, ok: false, message: errorMessage(error) };
  } finally {
    connection.close();
  }
}

/** One line per result, for people. */
export function renderFaultResults(results: readonly FaultResult[]): string[] {
  return results.map((result) => {
    const who = result.node === null ? (result.address ?? '?') : `node ${result.node}${result.address === null ? '' : ` (${result.address})`}`;
    if (result.ok) return result.message;
    return `${who}: ${result.reachable ? 'refused' : 'not reached'}: ${result.message}`;
  });
}
