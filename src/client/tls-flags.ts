// The client commands' --tls-ca/--tls-cert/--tls-key flags. Each overrides its
// PAXOS_TLS_* variable, which the init hook has already applied process-wide;
// the result replaces the process's TLS so every connection of the command uses it.
import { Flags } from '@oclif/core';
import { setProcessTls } from './connection.js';
import { loadClientTls, tlsEnvironmentVariables } from '../net/tls.js';

export const clientTlsFlags = {
  'tls-ca': Flags.string({ summary: `CA certificate that signed the nodes' certificates: connect with TLS and verify them; default $${tlsEnvironmentVariables.ca}.`, helpValue: 'file' }),
  'tls-cert': Flags.string({ summary: `Client certificate to present (nodes started with --tls-client-certs required need one); default $${tlsEnvironmentVariables.cert}.`, helpValue: 'file' }),
  'tls-key': Flags.string({ summary: `Private key of --tls-cert; default $${tlsEnvironmentVariables.key}.`, helpValue: 'file' }),
};

/** Applies the flags when any is given; throws TlsConfigError (a usage error) on a bad set. */
export function applyClientTlsFlags(flags: { 'tls-ca'?: string; 'tls-cert'?: string; 'tls-key'?: string }): void {
  if (flags['tls-ca'] === undefined && flags['tls-cert'] === undefined && flags['tls-key'] === undefined) return;
  setProcessTls(loadClientTls({ ca: flags['tls-ca'], cert: flags['tls-cert'], key: flags['tls-key'] }));
}
