// TLS on the node's side, with node:tls. A node with --tls-cert/--tls-key/
// --tls-ca speaks TLS on its one port to everyone: peers (mutual TLS, both
// certificates checked against the cluster's CA) and clients (the node's
// certificate checked by the client; the client's own certificate optional
// unless --tls-client-certs required). The shared-secret handshake, when
// configured, runs inside TLS unchanged. This file loads the node's files,
// builds its listener and peer-dial options and checks peer names;
// transport.ts calls it. What clients share with nodes (loading a client's
// files, dialling, explaining failures) is src/net/tls.ts, re-exported here
// for the node's own callers.
import net from 'node:net';
import tls from 'node:tls';
import { checkMaterial, describeTlsError, nonEmpty, readPem, TlsConfigError, tlsMinVersion, type TlsFiles } from '../../net/tls.js';

export {
  closedBeforeWelcome,
  clientDialOptions,
  describeTlsError,
  dial,
  loadClientTls,
  readyEvent,
  TlsConfigError,
  tlsEnvironmentVariables,
  type ClientTls,
  type TlsFiles,
} from '../../net/tls.js';

export const clientCertPolicies = ['optional', 'required'] as const;
/** Whether a node requires clients to present a certificate signed by its CA (`--tls-client-certs`). */
export type ClientCertPolicy = (typeof clientCertPolicies)[number];

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

function clientCertPolicy(value: string | undefined): ClientCertPolicy {
  if (value === undefined) return 'optional';
  if ((clientCertPolicies as readonly string[]).includes(value)) return value as ClientCertPolicy;
  throw new TlsConfigError(`--tls-client-certs must be one of ${clientCertPolicies.join(', ')}, not ${value}`);
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
    minVersion: tlsMinVersion,
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
    minVersion: tlsMinVersion,
    rejectUnauthorized: true,
    checkServerIdentity: () => undefined,
  };
}

/** A plain TCP server, or a TLS one whose connection callback runs once the TLS handshake is done. */
export function createListener(options: tls.TlsOptions | null, onConnection: (socket: net.Socket) => void): net.Server {
  return options === null ? net.createServer(onConnection) : tls.createServer(options, onConnection);
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
