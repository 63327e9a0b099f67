// TLS for nodes and clients, with node:tls. A node with --tls-cert/--tls-key/
// --tls-ca speaks TLS on its one port to everyone: peers (mutual TLS, both
// certificates checked against the cluster's CA) and clients (the node's
// certificate checked by the client; the client's own certificate optional
// unless --tls-client-certs required). The shared-secret handshake, when
// configured, runs inside TLS unchanged. This file only loads files, builds
// node:tls options and explains failures; transport.ts and connection.ts call it.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

/** Environment variables a client command reads when the flags are absent (set in hooks/init.ts). */
export const tlsEnvironmentVariables = Object.freeze({ ca: 'PAXOS_TLS_CA', cert: 'PAXOS_TLS_CERT', key: 'PAXOS_TLS_KEY' });

export const clientCertPolicies = ['optional', 'required'] as const;
/** Whether a node requires clients to present a certificate signed by its CA (`--tls-client-certs`). */
export type ClientCertPolicy = (typeof clientCertPolicies)[number];

/** Oldest protocol accepted: TLS 1.0 and 1.1 are broken and nothing here needs them. */
const minVersion = 'TLSv1.2';

/**
 * The name a node's certificate must carry, as its subject CN or a DNS
 * subjectAltName, with `{id}` standing for the node id (etcd's
 * --peer-cert-allowed-cn, per node). It tells a node's certificate from a
 * client's signed by the same CA, and node 2's from node 3's, so a
 * certificate can only claim the node id it was issued for.
 */
export const peerNamePatternDefault = 'paxos-node-{id}';

/** Where `{id}` goes in a peer name pattern. */
const peerNameIdPlaceholder = '{id}';

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

/** A node's TLS material, read once at start (PEM); make it with {@link loadNodeTls}. */
export interface NodeTls {
  /** The node's certificate, presented to peers and clients; it must name the node (see peerNamePattern). */
  cert: Buffer;
  /** Its private key. */
  key: Buffer;
  /** The cluster's CA: peers must present a certificate it signed. */
  ca: Buffer;
  /** Whether a client must present a certificate signed by the CA (peers always must). */
  clientCerts: ClientCertPolicy;
  /**
   * The name (CN or DNS subjectAltName) a peer's certificate must carry for
   * the node id it claims, `{id}` standing for the id; default
   * {@link peerNamePatternDefault}. Checked on both sides of a peer connection.
   */
  peerNamePattern: string;
}

/** Options of {@link loadNodeTls} besides the files. */
export interface NodeTlsOptions {
  /** `optional` (default) or `required`: whether clients must present a certificate signed by the CA. */
  clientCerts?: string;
  /** See {@link NodeTls.peerNamePattern}; must contain `{id}`. */
  peerNamePattern?: string;
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
 * A node's TLS from its flags: all of --tls-cert, --tls-key and --tls-ca, or
 * none (null). A partial set is refused rather than guessed at: a node with a
 * certificate but no CA could not check its peers, which is the point.
 * Throws {@link TlsConfigError} with a message fit for the user.
 *
 * @example
 * const tls = loadNodeTls({ cert: 'n1.crt', key: 'n1.key', ca: 'ca.crt' });
 * await startNode({ id: 1, peers, dataDir: './data/n1', tls });
 */
export function loadNodeTls(files: TlsFiles, options: NodeTlsOptions = {}): NodeTls | null {
  const { clientCerts } = options;
  const given = (['cert', 'key', 'ca'] as const).filter((name) => nonEmpty(files[name]));
  if (given.length === 0) {
    if (clientCerts !== undefined) throw new TlsConfigError('--tls-client-certs needs --tls-cert, --tls-key and --tls-ca');
    if (options.peerNamePattern !== undefined) throw new TlsConfigError('--tls-peer-name-pattern needs --tls-cert, --tls-key and --tls-ca');
    return null;
  }
  if (given.length < 3) {
    const missing = (['cert', 'key', 'ca'] as const).filter((name) => !given.includes(name)).map((name) => `--tls-${name}`);
    throw new TlsConfigError(`TLS needs --tls-cert, --tls-key and --tls-ca together; missing ${missing.join(' and ')}`);
  }
  const policy = clientCertPolicy(clientCerts);
  const peerNamePattern = checkPeerNamePattern(options.peerNamePattern ?? peerNamePatternDefault);
  const material = { cert: readPem(files.cert, '--tls-cert'), key: readPem(files.key, '--tls-key'), ca: readPem(files.ca, '--tls-ca') };
  checkMaterial(material);
  return { ...material, clientCerts: policy, peerNamePattern };
}

/** A pattern without `{id}` would give every node the same name, which is what the check is there to prevent. */
function checkPeerNamePattern(pattern: string): string {
  if (!pattern.includes(peerNameIdPlaceholder)) {
    throw new TlsConfigError(`--tls-peer-name-pattern must contain ${peerNameIdPlaceholder} (e.g. ${peerNamePatternDefault}), got ${JSON.stringify(pattern)}`);
  }
  return pattern;
}

/** The name node `id`'s certificate must carry under `pattern` (e.g. `paxos-node-2`). */
export function peerNameFor(pattern: string, id: number): string {
  return pattern.split(peerNameIdPlaceholder).join(String(id));
}

/** What node:tls tells of a certificate (getPeerCertificate), as far as names go. */
interface CertificateNames {
  subject?: { CN?: string | string[] } | null;
  subjectaltname?: string;
}

/** The subject CNs and DNS subjectAltNames of a certificate: the names a peer name is matched against. */
export function certificateNames(certificate: CertificateNames): string[] {
  const cn = certificate.subject?.CN;
  const commonNames = cn === undefined ? [] : Array.isArray(cn) ? cn : [cn];
  const dnsNames = (certificate.subjectaltname ?? '')
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice('DNS:'.length));
  return [...new Set([...commonNames, ...dnsNames])];
}

/**
 * Why `certificate` may not speak for node `id`, or null when it names it
 * (see {@link NodeTls.peerNamePattern}). `whose` says whose certificate it is, for the message.
 */
export function peerNameRefusal(certificate: CertificateNames, id: number, pattern: string, whose: string): string | null {
  const expected = peerNameFor(pattern, id);
  const names = certificateNames(certificate);
  if (names.includes(expected)) return null;
  const found = names.length === 0 ? 'no CN or DNS name' : names.map((name) => JSON.stringify(name)).join(', ');
  return (
    `${whose} certificate does not name node ${id}: it must carry ${JSON.stringify(expected)} as its CN or a DNS subjectAltName ` +
    `(--tls-peer-name-pattern ${pattern}), and it names ${found}; a client's certificate, or another node's, cannot speak for node ${id}`
  );
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

function clientCertPolicy(value: string | undefined): ClientCertPolicy {
  if (value === undefined) return 'optional';
  if ((clientCertPolicies as readonly string[]).includes(value)) return value as ClientCertPolicy;
  throw new TlsConfigError(`--tls-client-certs must be one of ${clientCertPolicies.join(', ')}, not ${value}`);
}

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

function readPem(path: string | undefined, flag: string): Buffer {
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
function checkMaterial<T extends { ca: Buffer; cert?: Buffer; key?: Buffer }>(material: T): T {
  try {
    tls.createSecureContext({ ca: material.ca, cert: material.cert, key: material.key });
  } catch (error) {
    throw new TlsConfigError(`the TLS files cannot be used: ${(error as Error).message}`);
  }
  return material;
}

/**
 * Server options for a node. Every connection is asked for a certificate so a
 * peer can present one; whether a missing one is fatal is decided per role
 * after the hello (see peerCertificateRefusal), except with required client
 * certificates, where TLS itself refuses any connection without a valid one.
 */
export function nodeServerOptions(material: NodeTls, handshakeMs: number): tls.TlsOptions {
  return {
    cert: material.cert,
    key: material.key,
    ca: material.ca,
    minVersion,
    requestCert: true,
    rejectUnauthorized: material.clientCerts === 'required',
    // Bounds a connection that never finishes the TLS handshake, like the hello deadline after it.
    handshakeTimeout: handshakeMs,
  };
}

/**
 * Options to dial a peer: present our certificate, require one that chains to
 * the cluster's CA. The address dialled is not checked against the certificate
 * (--peers may name a peer by any address, NAT or container IP); instead the
 * certificate must name the node id we dialled (see dialledPeerRefusal, run on
 * secureConnect). Only the cluster's CA is trusted here, never the system
 * roots; keep that CA for this cluster alone.
 */
export function peerDialOptions(material: NodeTls, endpoint: { host: string; port: number }): tls.ConnectionOptions {
  return {
    host: endpoint.host,
    port: endpoint.port,
    cert: material.cert,
    key: material.key,
    ca: material.ca,
    minVersion,
    rejectUnauthorized: true,
    checkServerIdentity: () => undefined,
  };
}

/** Options for a client: the node's certificate must chain to the CA and name the address dialled (IP or DNS SAN). */
export function clientDialOptions(material: ClientTls, address: { host: string; port: number }): tls.ConnectionOptions {
  return { host: address.host, port: address.port, ca: material.ca, cert: material.cert, key: material.key, minVersion, rejectUnauthorized: true };
}

/** A plain TCP server, or a TLS one whose connection callback runs once the TLS handshake is done. */
export function createListener(options: tls.TlsOptions | null, onConnection: (socket: net.Socket) => void): net.Server {
  return options === null ? net.createServer(onConnection) : tls.createServer(options, onConnection);
}

/** Dials over plain TCP, or TLS when options are given. */
export function dial(endpoint: { host: string; port: number }, options: tls.ConnectionOptions | null): net.Socket {
  return options === null ? net.connect({ host: endpoint.host, port: endpoint.port }) : tls.connect(options);
}

/** The event after which the hello may be written: a TLS socket is ready only once both sides are verified. */
export function readyEvent(socket: net.Socket): 'connect' | 'secureConnect' {
  return socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect';
}

/**
 * Why an accepted TLS connection must be refused for what its hello claims,
 * or null. Peers must present a certificate that chains to the CA (mutual
 * TLS) and names the node id they claim (so a client's certificate, or node
 * 2's, cannot pose as node 3); a client may present none, but one it
 * presents must be valid (an expired or foreign certificate is a
 * misconfiguration worth saying so).
 */
export function peerCertificateRefusal(socket: net.Socket, claim: { role: 'node' | 'client'; nodeId: number | null }, peerNamePattern: string): string | null {
  if (!(socket instanceof tls.TLSSocket)) return null;
  const certificate = socket.getPeerCertificate();
  const presented = Object.keys(certificate).length > 0;
  if (socket.authorized) {
    if (claim.role !== 'node' || claim.nodeId === null) return null;
    return peerNameRefusal(certificate, claim.nodeId, peerNamePattern, `the peer's`);
  }
  const why = String(socket.authorizationError ?? 'unknown error');
  if (claim.role === 'node' && !presented) return 'a peer must present a certificate signed by the cluster CA (mutual TLS); it presented none';
  if (!presented) return null;
  const who = claim.role === 'node' ? 'peer' : 'client';
  return `the ${who}'s certificate is not valid for this cluster's CA (${describeVerifyCode(why)})`;
}

/**
 * Why the node we dialled as `id` must be refused, or null: its certificate
 * must name node `id`, as ours must name us (peerCertificateRefusal), or
 * whoever holds any certificate of the CA could answer for node `id`.
 */
export function dialledPeerRefusal(socket: net.Socket, id: number, peerNamePattern: string): string | null {
  if (!(socket instanceof tls.TLSSocket)) return null;
  return peerNameRefusal(socket.getPeerCertificate(), id, peerNamePattern, `the node's`);
}

/** Verification codes an operator can act on, in words. */
function describeVerifyCode(code: string): string {
  if (code === 'CERT_HAS_EXPIRED') return 'CERT_HAS_EXPIRED: the certificate has expired';
  if (code === 'CERT_NOT_YET_VALID') return 'CERT_NOT_YET_VALID: the certificate is not valid yet (clock skew?)';
  if (/UNABLE_TO_(VERIFY_LEAF_SIGNATURE|GET_ISSUER_CERT)|SELF_SIGNED/.test(code)) return `${code}: signed by another CA`;
  return code;
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

/**
 * Logs connections that failed in the TLS handshake (wrong CA, expired,
 * plain-text client), which never reach the hello and its refusal log line.
 */
export function logHandshakeFailures(server: net.Server, log: (fields: { remote: string; reason: string }) => void): void {
  if (!(server instanceof tls.Server)) return;
  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    log({ remote, reason: describeTlsError(error) ?? `TLS handshake failed: ${error.message}` });
  });
}
