// Parsing of the options every client command shares: durations and cluster
// addresses. Pure functions; errors are InvalidOptionError with a message fit
// to show a user as is.
import { AddressError, formatAddress as formatNetAddress, parseAddress as parseNetAddress } from '../net/address.js';
import { InvalidOptionError } from './errors.js';

/** The cluster `paxos cluster start` runs by default (SPEC: cluster addresses). */
export const defaultCluster = '127.0.0.1:7401,127.0.0.1:7402,127.0.0.1:7403';

/** The environment variable that names the cluster when --cluster is absent. */
export const clusterEnvironmentVariable = 'PAXOS_CLUSTER';

/**
 * Longest duration accepted. Node's timers overflow above 2^31-1 ms and then
 * fire at once, which would turn a long timeout into no timeout at all.
 */
export const durationMsMax = 2 ** 31 - 1;

/** Addresses in one cluster list: far above any sensible cluster, low enough to catch a pasted file. */
export const clusterAddressesMax = 64;

/** One node's address as the client dials it. */
export interface ClusterAddress {
  /** A DNS name or an IP address (IPv6 without brackets), as dialled. */
  host: string;
  /** The node's TCP port, 1 to 65535. */
  port: number;
}

const durationUnitsMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses `500ms`, `5s`, `1.5s`, `2m` or `1h` into milliseconds (rounded to a
 * whole millisecond). A bare number is refused: `5` could mean seconds or
 * milliseconds, and guessing wrong is a silent thousandfold error.
 */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(text);
  if (match === null) {
    throw new InvalidOptionError(`invalid duration "${text}": use a number and a unit, e.g. 500ms, 5s, 2m or 1h`);
  }
  const milliseconds = Math.round(Number(match[1]) * durationUnitsMs[match[2]]);
  if (milliseconds > durationMsMax) {
    throw new InvalidOptionError(`invalid duration "${text}": at most ${durationMsMax}ms (about 24 days)`);
  }
  return milliseconds;
}

/**
 * Parses `host:port,host:port,...`. IPv6 hosts are written in brackets
 * (`[::1]:7401`). Duplicates are refused: a repeated address is almost always a
 * typo that silently leaves a node out.
 */
export function parseClusterAddresses(text: string): ClusterAddress[] {
  const entries = text.split(',').map((entry) => entry.trim());
  if (entries.length === 1 && entries[0] === '') {
    throw new InvalidOptionError('the cluster address list is empty: use host:port,host:port,...');
  }
  if (entries.length > clusterAddressesMax) {
    throw new InvalidOptionError(`too many cluster addresses (${entries.length}); at most ${clusterAddressesMax}`);
  }
  const addresses = entries.map(parseAddress);
  const seen = new Set<string>();
  for (const address of addresses) {
    const key = formatAddress(address);
    if (seen.has(key)) throw new InvalidOptionError(`cluster address ${key} appears twice`);
    seen.add(key);
  }
  return addresses;
}

/** Parses one `host:port` (or `[v6-host]:port`). Throws InvalidOptionError. */
export function parseAddress(text: string): ClusterAddress {
  try {
    return parseNetAddress(text);
  } catch (error) {
    if (error instanceof AddressError) throw new InvalidOptionError(error.message);
    throw error;
  }
}

/** The inverse of parseAddress: `host:port`, brackets around an IPv6 host. */
export function formatAddress(address: ClusterAddress): string {
  return formatNetAddress(address);
}

/**
 * The cluster a client command talks to: the --cluster flag, else the
 * PAXOS_CLUSTER environment variable (ignored when empty), else the default
 * local cluster.
 */
export function resolveCluster(flag?: string, env: NodeJS.ProcessEnv = process.env): ClusterAddress[] {
  if (flag !== undefined) return parseClusterAddresses(flag);
  const fromEnvironment = env[clusterEnvironmentVariable];
  if (fromEnvironment !== undefined && fromEnvironment.trim() !== '') {
    try {
      return parseClusterAddresses(fromEnvironment);
    } catch (error) {
      // Say where the bad value came from: the user did not type it on this command line.
      const message = error instanceof Error ? error.message : String(error);
      throw new InvalidOptionError(`${clusterEnvironmentVariable}: ${message}`);
    }
  }
  return parseClusterAddresses(defaultCluster);
}
