// TLS for both ends of a connection, with node:tls: what the node's runtime
// and the client library share. Loading and checking PEM files (a client's
// CA and optional certificate), the options a client dials with, dialling
// over TCP or TLS, and failures explained in words. The node's own side (its
// certificate, peer names, the listener) is src/node/runtime/tls.ts.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

/** Environment variables a client command reads when the flags are absent (set in hooks/init.ts). */
export const tlsEnvironmentVariables = Object.freeze({ ca: 'PAXOS_TLS_CA', cert: 'PAXOS_TLS_CERT', key: 'PAXOS_TLS_KEY' });

/** Oldest protocol accepted: TLS 1.0 and 1.1 are broken and nothing here needs them. */
export const tlsMinVersion = 'TLSv1.2';

/** TLS files or options that cannot be used (missing, unreadable, not PEM, a key that does not match); the message says which. */
export class TlsConfigError extends Error {
  /** Stable code for logs and `--json` output. */
  readonly code = 'TLS_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'TlsConfigError';
  }
}

/** Paths of PEM files, as given on the command line; absent means not given. */
export interface TlsFiles {
  /** The certificate to present (a node's own, or a client's). */
  cert?: string;
  /** The private key of `cert`. */
  key?: string;
  /** The CA certificate that signed the nodes' certificates (and the clients', if any). */
  ca?: string;
}

/** A client's TLS material: the CA that signed the nodes' certificates, and optionally its own; make it with {@link loadClientTls}. */
export interface ClientTls {
  /** The CA the nodes' certificates must chain to (and name the address dialled). */
  ca: Buffer;
  /** A client certificate to present (needed when nodes run with --tls-client-certs required). */
  cert?: Buffer;
  /** Its private key. */
  key?: Buffer;
}

/**
 * A client's TLS: each of --tls-ca/--tls-cert/--tls-key from its flag, else
 * its PAXOS_TLS_* variable (empty ones ignored). Null when none is set: plain
 * TCP. Pass `{}` as `env` to read the files given and nothing else. Throws
 * {@link TlsConfigError} with a message fit for the user.
 *
 * @example
 * const client = connect('10.0.0.1:7401,10.0.0.2:7401,10.0.0.3:7401', { tls: loadClientTls({ ca: 'ca.crt' }, {}) });
 */
export function loadClientTls(files: TlsFiles = {}, env: NodeJS.ProcessEnv = process.env): ClientTls | null {
  const ca = pickSource(files, env, 'ca');
  const cert = pickSource(files, env, 'cert');
  const key = pickSource(files, env, 'key');
  if (ca === null && cert === null && key === null) return null;
  if (ca === null) {
    throw new TlsConfigError(`a client certificate needs --tls-ca (or ${tlsEnvironmentVariables.ca}): the CA that signed the nodes' certificates`);
  }
  if ((cert === null) !== (key === null)) {
    throw new TlsConfigError(`a client certificate needs both --tls-cert and --tls-key (or ${tlsEnvironmentVariables.cert} and ${tlsEnvironmentVariables.key})`);
  }
  const caPem = readPem(ca.path, ca.source);
  if (cert === null || key === null) return checkMaterial({ ca: caPem });
  return checkMaterial({ ca: caPem, cert: readPem(cert.path, cert.source), key: readPem(key.path, key.source) });
}

/** The flag's path, else the variable's; `source` names which, for error messages. */
function pickSource(files: TlsFiles, env: NodeJS.ProcessEnv, name: keyof TlsFiles): { path: string; source: string } | null {
  const flag = files[name];
  if (nonEmpty(flag)) return { path: flag, source: `--tls-${name}` };
  const variable = tlsEnvironmentVariables[name];
  const fromEnvironment = env[variable];
  return nonEmpty(fromEnvironment) ? { path: fromEnvironment, source: variable } : null;
}

/** A path given and not blank. */
export function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

/** Reads a PEM file named by `flag`; throws TlsConfigError saying which file and why. */
export function readPem(path: string | undefined, flag: string): Buffer {
  if (path === undefined) throw new TlsConfigError(`${flag} is missing`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new TlsConfigError(`cannot read ${flag} ${path}: ${(error as Error).message}`);
  }
  if (!bytes.includes('-----BEGIN ')) throw new TlsConfigError(`${flag} ${path} is not a PEM file (no -----BEGIN line)`);
  return bytes;
}

/** Fails at start, with the cause, on a key that does not match its certificate or unreadable PEM, not at the first connection. */
export function checkMaterial<T extends { ca: Buffer; cert?: Buffer; key?: Buffer }>(material: T): T {
  try {
    tls.createSecureContext({ ca: material.ca, cert: material.cert, key: material.key });
  } catch (error) {
    throw new TlsConfigError(`the TLS files cannot be used: ${(error as Error).message}`);
  }
  return material;
}

/** Options for a client: the node's certificate must chain to the CA and name the address dialled (IP or DNS SAN). */
export function clientDialOptions(material: ClientTls, address: { host: string; port: number }): tls.ConnectionOptions {
  return { host: address.host, port: address.port, ca: material.ca, cert: material.cert, key: material.key, minVersion: tlsMinVersion, rejectUnauthorized: true };
}

/** Dials over plain TCP, or TLS when options are given. */
export function dial(endpoint: { host: string; port: number }, options: tls.ConnectionOptions | null): net.Socket {
  return options === null ? net.connect({ host: endpoint.host, port: endpoint.port }) : tls.connect(options);
}

/** The event after which the hello may be written: a TLS socket is ready only once both sides are verified. */
export function readyEvent(socket: net.Socket): 'connect' | 'secureConnect' {
  return socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect';
}

/** Error codes node:tls and OpenSSL give, mapped to what to do about them. */
const tlsErrorHints: [RegExp, string][] = [
  [/^CERT_HAS_EXPIRED$/, 'the certificate has expired'],
  [/^CERT_NOT_YET_VALID$/, 'the certificate is not valid yet (clock skew?)'],
  [/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED_CERT/, `the certificate is not signed by the trusted CA (--tls-ca / ${tlsEnvironmentVariables.ca})`],
  [/ERR_TLS_CERT_ALTNAME_INVALID/, 'the certificate does not name the address dialled (its subjectAltName)'],
  [/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST|UNKNOWN_PROTOCOL|RECORD_LAYER_FAILURE/, 'the other side does not speak TLS (is only one side started with --tls-*?)'],
  [/CERTIFICATE_REQUIRED|ALERT_HANDSHAKE_FAILURE/, `the node requires a client certificate signed by its CA (--tls-cert/--tls-key or ${tlsEnvironmentVariables.cert}/${tlsEnvironmentVariables.key})`],
  [/ALERT_UNKNOWN_CA|ALERT_BAD_CERTIFICATE|ALERT_CERTIFICATE_EXPIRED|ALERT_CERTIFICATE_UNKNOWN|ALERT_DECRYPT_ERROR/, 'the other side refused our certificate (another CA, or expired)'],
];

/** A TLS failure explained in words with its code, or null when the error is not about TLS (e.g. ECONNREFUSED). */
export function describeTlsError(error: NodeJS.ErrnoException & { reason?: unknown }): string | null {
  const code = error.code ?? '';
  // OpenSSL's message carries its source file and line; its `reason` alone is what a person needs.
  const detail = typeof error.reason === 'string' ? error.reason : error.message;
  const hint = tlsErrorHints.find(([pattern]) => pattern.test(code))?.[1];
  if (hint !== undefined) return `TLS: ${hint} (${code}: ${detail})`;
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /CERT|X509/.test(code)) return `TLS: ${detail} (${code})`;
  return null;
}

/**
 * Why a connection closed before the node's welcome. A node with TLS drops a
 * plain-text hello without a word (it cannot send a goodbye its client could
 * read), so a plain client says what is likely.
 */
export function closedBeforeWelcome(socket: net.Socket): string {
  if (socket instanceof tls.TLSSocket) return 'the connection was closed before the node\'s welcome';
  return `the connection was closed before the node's welcome (if the node uses TLS, set --tls-ca or ${tlsEnvironmentVariables.ca})`;
}
