// The --cluster flag every command that talks to a running cluster takes
// (submit, status, top, fault ...), in one place so that its help reads the
// same everywhere, and the settings most of them derive from it with --timeout.
import { Flags } from '@oclif/core';
import { InvalidOptionError } from './errors.js';
import { clusterEnvironmentVariable, defaultCluster, parseDuration, resolveCluster, type ClusterAddress } from './options.js';

/** Spread into a command's flags: `...clusterFlag`. */
export const clusterFlag = {
  cluster: Flags.string({
    char: 'c',
    summary: `Cluster addresses; default $${clusterEnvironmentVariable}, else ${defaultCluster}.`,
    helpValue: 'host:port,...',
  }),
};

/** Where to connect and for how long. */
export interface ClusterSettings {
  addresses: ClusterAddress[];
  timeoutMs: number;
}

/**
 * Reads --timeout (more than 0) and --cluster (else $PAXOS_CLUSTER, else the
 * local cluster). Throws InvalidOptionError, a usage error, with a message fit
 * to show as is.
 */
export function clusterSettings(flags: { cluster?: string; timeout: string }): ClusterSettings {
  const timeoutMs = parseDuration(flags.timeout);
  if (timeoutMs === 0) throw new InvalidOptionError('--timeout must be more than 0');
  return { addresses: resolveCluster(flags.cluster), timeoutMs };
}
