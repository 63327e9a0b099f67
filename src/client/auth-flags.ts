// The client commands' --secret-file and --tls-* flags, in one place, so that
// every command that talks to nodes (submit, status, bench, top, fault) takes
// them alike. Each flag overrides its PAXOS_* variable, which the init hook has
// already applied process-wide.
import { Flags } from '@oclif/core';
import { setProcessSecret } from './connection.js';
import { applyClientTlsFlags, clientTlsFlags } from './tls-flags.js';
import { loadSecret, secretFileEnvironmentVariable } from '../net/secret.js';

export const clientAuthFlags = {
  'secret-file': Flags.string({ summary: `File holding the cluster's shared secret; default $${secretFileEnvironmentVariable}.`, helpValue: 'file' }),
  ...clientTlsFlags,
};

/**
 * Applies --secret-file and --tls-* when given. Rejects with the reason (a
 * usage error: exit 2) when a file cannot be used.
 */
export async function applyClientAuthFlags(
  flags: { 'secret-file'?: string; 'tls-ca'?: string; 'tls-cert'?: string; 'tls-key'?: string },
  warn: (message: string) => void = (message) => process.stderr.write(`warning: ${message}\n`),
): Promise<void> {
  if (flags['secret-file'] !== undefined) setProcessSecret(await loadSecret(flags['secret-file'], { warn }));
  applyClientTlsFlags(flags);
}
