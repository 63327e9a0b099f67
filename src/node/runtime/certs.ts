// Throwaway certificates for a local cluster (`paxos cluster start --tls`), and
// for tests: a CA, a certificate per node (naming it: paxos-node-ID) and one
// for clients (naming no node), made with the
// `openssl` command (node:crypto cannot sign X.509 certificates). Not for
// production: the CA key sits next to the certificates it signed.
import { execFileSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { certificateNames, peerNameFor, peerNamePatternDefault } from './tls.js';

/** Long enough for a cluster left running for weeks, short enough that a leaked key soon stops mattering. */
export const localCertificateDays = 30;

/** A certificate expiring sooner than this is made again rather than reused. */
const renewBeforeSeconds = 24 * 60 * 60;

export class CertificateError extends Error {
  readonly code = 'CERTIFICATE';
  constructor(message: string) {
    super(message);
    this.name = 'CertificateError';
  }
}

export interface KeyPair {
  cert: string;
  key: string;
}

/** When a certificate is valid: `days` from now, or explicit dates (tests make expired ones). */
export type Validity = { days: number } | { notBefore: Date; notAfter: Date };

export interface LeafOptions {
  /** Files are `<dir>/<name>.crt` and `<dir>/<name>.key`. */
  dir: string;
  name: string;
  commonName: string;
  /** IPs and DNS names put in subjectAltName (clients check the address they dial against it). */
  hosts: string[];
  validity?: Validity;
}

export interface ClusterCertificates {
  ca: string;
  nodes: Map<number, KeyPair>;
  client: KeyPair;
  /** True when anything was (re)made, false when every file was reused. */
  created: boolean;
}

/** Runs openssl, turning "not installed" and its stderr into one readable error. */
function openssl(args: string[]): string {
  try {
    return execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === 'ENOENT') throw new CertificateError('making certificates needs the openssl command, which is not on PATH');
    throw new CertificateError(`openssl ${args[0]} failed: ${(failure.stderr ?? failure.message).trim()}`);
  }
}

/** A private key readable by its owner only: anyone who can read it can pose as the node. */
function protectKey(path: string): void {
  chmodSync(path, 0o600);
}

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Our own minimal config, so the result does not depend on the system's openssl.cnf. */
function requestConfig(extensions: string): string {
  return `[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n${extensions}`;
}

function withTempDir<T>(work: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-certs-'));
  try {
    return work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Makes a self-signed CA at `<dir>/<name>.crt` and `.key`. */
export function makeCa(dir: string, options: { name?: string; commonName?: string; days?: number } = {}): KeyPair {
  mkdirSync(dir, { recursive: true });
  const pair = pairIn(dir, options.name ?? 'ca');
  const extensions = '[v3_ca]\nbasicConstraints = critical,CA:TRUE,pathlen:0\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n';
  withTempDir((temp) => {
    const config = join(temp, 'ca.cnf');
    writeFileSync(config, requestConfig(extensions));
    const subject = `/CN=${options.commonName ?? 'paxos local CA'}`;
    openssl(['req', '-x509', ...ecKey, '-config', config, '-extensions', 'v3_ca', '-subj', subject, '-days', String(options.days ?? localCertificateDays), '-keyout', pair.key, '-out', pair.cert]);
  });
  protectKey(pair.key);
  return pair;
}

/** Makes a certificate signed by `ca`, good as a TLS server and client (a node is both). */
export function issueCertificate(ca: KeyPair, options: LeafOptions): KeyPair {
  mkdirSync(options.dir, { recursive: true });
  const pair = pairIn(options.dir, options.name);
  const validity = options.validity ?? { days: localCertificateDays };
  withTempDir((temp) => {
    const config = join(temp, 'leaf.cnf');
    writeFileSync(config, requestConfig(leafExtensions(options.hosts)) + caSection(temp));
    const csr = join(temp, 'leaf.csr');
    openssl(['req', '-new', ...ecKey, '-config', config, '-subj', `/CN=${options.commonName}`, '-keyout', pair.key, '-out', csr]);
    sign(ca, config, csr, pair.cert, validity);
  });
  protectKey(pair.key);
  return pair;
}

function leafExtensions(hosts: string[]): string {
  const names = hosts.map((host) => (isIP(host) === 0 ? `DNS:${host}` : `IP:${host}`)).join(',');
  return (
    '[leaf]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature,keyEncipherment\n' +
    `extendedKeyUsage = serverAuth,clientAuth\nsubjectAltName = ${names}\n`
  );
}

/** `openssl ca` needs a database; it is only used to sign with explicit dates. */
function caSection(temp: string): string {
  writeFileSync(join(temp, 'index.txt'), '');
  writeFileSync(join(temp, 'serial'), `${randomBytes(8).toString('hex')}\n`);
  return (
    `[ca]\ndefault_ca = own\n[own]\ndatabase = ${join(temp, 'index.txt')}\nnew_certs_dir = ${temp}\nserial = ${join(temp, 'serial')}\n` +
    'default_md = sha256\npolicy = any\nunique_subject = no\ncopy_extensions = none\n[any]\ncommonName = supplied\n'
  );
}

/** `x509 -req -days` for the usual case; `ca -startdate/-enddate` for dates in the past (this openssl has no -not_before). */
function sign(ca: KeyPair, config: string, csr: string, out: string, validity: Validity): void {
  if ('days' in validity) {
    const serial = `0x${randomBytes(8).toString('hex')}`;
    openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', serial, '-days', String(validity.days), '-extfile', config, '-extensions', 'leaf', '-out', out]);
    return;
  }
  const dates = ['-startdate', asn1Time(validity.notBefore), '-enddate', asn1Time(validity.notAfter)];
  openssl(['ca', '-batch', '-config', config, '-cert', ca.cert, '-keyfile', ca.key, '-in', csr, '-out', out, '-extensions', 'leaf', '-notext', ...dates]);
}

/** YYYYMMDDHHMMSSZ (GeneralizedTime), which `openssl ca` accepts for any year. */
function asn1Time(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

function pairIn(dir: string, name: string): KeyPair {
  return { cert: resolve(join(dir, `${name}.crt`)), key: resolve(join(dir, `${name}.key`)) };
}

/** True when both files exist, the certificate is valid for at least another day, and it carries `name` (if given). */
function usable(pair: KeyPair, name?: string): boolean {
  if (!existsSync(pair.cert) || !existsSync(pair.key)) return false;
  try {
    openssl(['x509', '-noout', '-checkend', String(renewBeforeSeconds), '-in', pair.cert]);
    return name === undefined || namesOf(pair.cert).includes(name);
  } catch {
    return false;
  }
}

/** The CN and DNS names of the certificate in `path`, as the TLS peer check reads them. */
export function namesOf(path: string): string[] {
  const certificate = new X509Certificate(readFileSync(path));
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(certificate.subject)?.[1];
  return certificateNames({ subject: cn === undefined ? null : { CN: cn }, subjectaltname: certificate.subjectAltName });
}

/**
 * The name node `id`'s certificate carries (as CN and DNS subjectAltName), so
 * peers can tell it from the client certificate and from the other nodes'.
 */
export function nodeCertificateName(id: number): string {
  return peerNameFor(peerNamePatternDefault, id);
}

/** Loopback under both names, and the host the cluster listens on if it is another. */
export function localHosts(host: string): string[] {
  return [...new Set(['127.0.0.1', 'localhost', ...(host === '0.0.0.0' || host === '::' ? [] : [host])])];
}

/**
 * The CA, node and client certificates of a local cluster in `<dir>`
 * (`--dir/tls`), kept across restarts like the data dirs: a file is made
 * again only when missing, expiring within a day, signed by a CA that was
 * remade, or naming other hosts than asked for.
 */
export function ensureClusterCertificates(options: { dir: string; nodes: number; hosts: string[] }): ClusterCertificates {
  mkdirSync(options.dir, { recursive: true });
  const hostsFile = join(options.dir, 'hosts');
  const hosts = options.hosts.join(',');
  const sameHosts = existsSync(hostsFile) && readFileSync(hostsFile, 'utf8').trim() === hosts;
  let ca = pairIn(options.dir, 'ca');
  const caRemade = !usable(ca);
  if (caRemade) ca = makeCa(options.dir);
  let created = caRemade;
  // Node certificates made before they carried their node's name are made again.
  const leaf = (name: string, commonName: string, nodeName?: string): KeyPair => {
    const pair = pairIn(options.dir, name);
    if (!caRemade && sameHosts && usable(pair, nodeName)) return pair;
    created = true;
    const hosts = nodeName === undefined ? options.hosts : [...options.hosts, nodeName];
    return issueCertificate(ca, { dir: options.dir, name, commonName, hosts });
  };
  // The client certificate names no node, so it can never pose as one.
  const client = leaf('client', 'paxos client');
  const nodes = new Map<number, KeyPair>();
  for (let id = 1; id <= options.nodes; id += 1) {
    const nodeName = nodeCertificateName(id);
    nodes.set(id, leaf(`node-${id}`, nodeName, nodeName));
  }
  writeFileSync(hostsFile, `${hosts}\n`);
  return { ca: ca.cert, nodes, client, created };
}

/** The `node start` flags that give node `id` its certificate and the cluster's CA. */
export function nodeTlsFlags(certificates: ClusterCertificates, id: number): string[] {
  const pair = certificates.nodes.get(id);
  if (pair === undefined) throw new CertificateError(`no certificate was made for node ${id}`);
  return ['--tls-cert', pair.cert, '--tls-key', pair.key, '--tls-ca', certificates.ca];
}

/** Shell lines that point client commands at the CA and the client certificate (see hooks/init.ts). */
export function clientTlsExports(certificates: ClusterCertificates): string[] {
  return [
    `export PAXOS_TLS_CA=${certificates.ca}`,
    `export PAXOS_TLS_CERT=${certificates.client.cert}`,
    `export PAXOS_TLS_KEY=${certificates.client.key}`,
  ];
}
