import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureClusterCertificates, issueCertificate, makeCa, namesOf, type KeyPair } from '../../../src/node/runtime/certs.js';
import {
  clientDialOptions,
  createListener,
  describeTlsError,
  dial,
  loadClientTls,
  loadNodeTls,
  nodeServerOptions,
  peerCertificateRefusal,
  peerDialOptions,
  readyEvent,
  TlsConfigError,
  certificateNames,
  peerNameFor,
  peerNameRefusal,
  type NodeTls,
} from '../../../src/node/runtime/tls.js';

let dir: string;
let ca: KeyPair;
let node: KeyPair;
let otherCa: KeyPair;
let foreign: KeyPair;
let expired: KeyPair;
let nodeBySan: KeyPair;
let client: KeyPair;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'paxos-tls-unit-'));
  ca = makeCa(dir);
  node = issueCertificate(ca, { dir, name: 'node', commonName: 'paxos-node-1', hosts: ['127.0.0.1', 'localhost'] });
  nodeBySan = issueCertificate(ca, { dir, name: 'node-san', commonName: 'some host', hosts: ['127.0.0.1', 'paxos-node-2'] });
  client = issueCertificate(ca, { dir, name: 'client', commonName: 'paxos client', hosts: ['127.0.0.1'] });
  otherCa = makeCa(dir, { name: 'other-ca', commonName: 'another CA' });
  foreign = issueCertificate(otherCa, { dir, name: 'foreign', commonName: 'foreign', hosts: ['127.0.0.1'] });
  const day = 24 * 60 * 60 * 1000;
  expired = issueCertificate(ca, { dir, name: 'expired', commonName: 'expired', hosts: ['127.0.0.1'], validity: { notBefore: new Date(Date.now() - 10 * day), notAfter: new Date(Date.now() - day) } });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadNodeTls', () => {
  it('is null when no TLS flag is given', () => {
    expect(loadNodeTls({})).toBeNull();
    expect(loadNodeTls({ cert: '', key: ' ', ca: undefined })).toBeNull();
  });

  it('refuses a partial set and names what is missing', () => {
    expect(() => loadNodeTls({ cert: node.cert })).toThrow(/missing --tls-key and --tls-ca/);
    expect(() => loadNodeTls({ cert: node.cert, key: node.key })).toThrow(/missing --tls-ca/);
    expect(() => loadNodeTls({ ca: ca.cert })).toThrow(TlsConfigError);
  });

  it('refuses --tls-client-certs without TLS, and an unknown policy', () => {
    expect(() => loadNodeTls({}, { clientCerts: 'required' })).toThrow(/--tls-client-certs needs/);
    expect(() => loadNodeTls({ cert: node.cert, key: node.key, ca: ca.cert }, { clientCerts: 'sometimes' })).toThrow(/optional, required/);
  });

  it('takes a peer name pattern with {id}, paxos-node-{id} by default', () => {
    expect(loadNodeTls({ cert: node.cert, key: node.key, ca: ca.cert })?.peerNamePattern).toBe('paxos-node-{id}');
    expect(loadNodeTls({ cert: node.cert, key: node.key, ca: ca.cert }, { peerNamePattern: 'n{id}.db.example' })?.peerNamePattern).toBe('n{id}.db.example');
    expect(() => loadNodeTls({ cert: node.cert, key: node.key, ca: ca.cert }, { peerNamePattern: 'paxos-node' })).toThrow(/must contain \{id\}/);
    expect(() => loadNodeTls({}, { peerNamePattern: 'n{id}' })).toThrow(/--tls-peer-name-pattern needs/);
  });

  it('says which file cannot be read or is not PEM', () => {
    expect(() => loadNodeTls({ cert: join(dir, 'nope.crt'), key: node.key, ca: ca.cert })).toThrow(/cannot read --tls-cert .*nope\.crt/);
    const junk = join(dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate');
    expect(() => loadNodeTls({ cert: node.cert, key: node.key, ca: junk })).toThrow(/--tls-ca .*junk\.pem is not a PEM file/);
  });

  it('refuses a key that does not belong to the certificate at start', () => {
    expect(() => loadNodeTls({ cert: node.cert, key: foreign.key, ca: ca.cert })).toThrow(/cannot be used/);
  });

  it('loads all three, client certificates optional by default', () => {
    const tls = loadNodeTls({ cert: node.cert, key: node.key, ca: ca.cert });
    expect(tls?.clientCerts).toBe('optional');
    expect(tls?.cert.toString()).toContain('BEGIN CERTIFICATE');
    expect(loadNodeTls({ cert: node.cert, key: node.key, ca: ca.cert }, { clientCerts: 'required' })?.clientCerts).toBe('required');
  });
});

describe('loadClientTls', () => {
  it('is null with neither flags nor environment', () => {
    expect(loadClientTls({}, {})).toBeNull();
    expect(loadClientTls({}, { PAXOS_TLS_CA: '' })).toBeNull();
  });

  it('reads PAXOS_TLS_* and lets a flag override its variable', () => {
    expect(loadClientTls({}, { PAXOS_TLS_CA: ca.cert })?.cert).toBeUndefined();
    const both = loadClientTls({ ca: ca.cert }, { PAXOS_TLS_CA: join(dir, 'missing'), PAXOS_TLS_CERT: node.cert, PAXOS_TLS_KEY: node.key });
    expect(both?.cert?.toString()).toContain('BEGIN CERTIFICATE');
  });

  it('names the variable when its file is bad', () => {
    expect(() => loadClientTls({}, { PAXOS_TLS_CA: join(dir, 'missing') })).toThrow(/cannot read PAXOS_TLS_CA/);
  });

  it('needs a CA, and a certificate and key together', () => {
    expect(() => loadClientTls({ cert: node.cert, key: node.key }, {})).toThrow(/needs --tls-ca/);
    expect(() => loadClientTls({ ca: ca.cert, cert: node.cert }, {})).toThrow(/both --tls-cert and --tls-key/);
  });
});

describe('options for node:tls', () => {
  const material = (): NodeTls => loadNodeTls({ cert: node.cert, key: node.key, ca: ca.cert }) as NodeTls;

  it('asks every connection for a certificate; TLS itself rejects only with required client certificates', () => {
    expect(nodeServerOptions(material(), 5000)).toMatchObject({ requestCert: true, rejectUnauthorized: false, handshakeTimeout: 5000 });
    expect(nodeServerOptions({ ...material(), clientCerts: 'required' }, 5000).rejectUnauthorized).toBe(true);
  });

  it('checks a peer against the CA only, not against the address dialled', () => {
    const options = peerDialOptions(material(), { host: '10.1.2.3', port: 1 });
    expect(options.rejectUnauthorized).toBe(true);
    expect(options.checkServerIdentity?.('10.1.2.3', {} as never)).toBeUndefined();
    expect(clientDialOptions({ ca: material().ca }, { host: '127.0.0.1', port: 1 }).checkServerIdentity).toBeUndefined();
  });

  it('explains TLS errors and leaves others alone', () => {
    const error = (code: string): NodeJS.ErrnoException => Object.assign(new Error('x'), { code });
    expect(describeTlsError(error('CERT_HAS_EXPIRED'))).toMatch(/has expired/);
    expect(describeTlsError(error('UNABLE_TO_VERIFY_LEAF_SIGNATURE'))).toMatch(/not signed by the trusted CA/);
    expect(describeTlsError(error('ERR_SSL_WRONG_VERSION_NUMBER'))).toMatch(/does not speak TLS/);
    expect(describeTlsError(error('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'))).toMatch(/requires a client certificate/);
    expect(describeTlsError(error('ECONNREFUSED'))).toBeNull();
  });
});

/** A TLS listener from nodeServerOptions; resolves each accepted socket's refusal for the given claim (role node claims node 1 unless told). */
async function refusalFor(role: 'node' | 'client', client: { cert?: KeyPair; ca?: KeyPair; nodeId?: number }): Promise<string | null> {
  const server = createListener(nodeServerOptions(loadNodeTls({ cert: node.cert, key: node.key, ca: ca.cert }) as NodeTls, 5000), () => undefined);
  const accepted = new Promise<net.Socket>((done) => server.once('secureConnection', done));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as net.AddressInfo).port;
  const material = loadClientTls({ ca: (client.ca ?? ca).cert, cert: client.cert?.cert, key: client.cert?.key }, {});
  // The client side trusts our CA unless told otherwise; identity checks are the server's under test here.
  const socket = dial({ host: '127.0.0.1', port }, { ...clientDialOptions(material!, { host: '127.0.0.1', port }), checkServerIdentity: () => undefined });
  socket.on('error', () => undefined);
  await new Promise((done) => socket.once(readyEvent(socket), done));
  const claim = { role, nodeId: role === 'node' ? (client.nodeId ?? 1) : null };
  const refusal = peerCertificateRefusal(await accepted, claim, 'paxos-node-{id}');
  socket.destroy();
  await new Promise((done) => server.close(done));
  return refusal;
}

describe('peerCertificateRefusal', () => {
  it('admits a peer whose certificate chains to the CA', async () => {
    expect(await refusalFor('node', { cert: node })).toBeNull();
  });

  it('refuses a peer without a certificate, and admits a client without one', async () => {
    expect(await refusalFor('node', {})).toMatch(/must present a certificate/);
    expect(await refusalFor('client', {})).toBeNull();
  });

  it('refuses a certificate from another CA, or an expired one, for peers and clients alike', async () => {
    expect(await refusalFor('node', { cert: foreign })).toMatch(/signed by another CA/);
    expect(await refusalFor('client', { cert: foreign })).toMatch(/client's certificate is not valid/);
    expect(await refusalFor('node', { cert: expired })).toMatch(/CERT_HAS_EXPIRED/);
  });

  it('refuses a certificate that does not name the node id claimed: a client\'s, or another node\'s', async () => {
    expect(await refusalFor('node', { cert: client })).toMatch(/does not name node 1: it must carry "paxos-node-1".*names "paxos client"/);
    expect(await refusalFor('node', { cert: node, nodeId: 3 })).toMatch(/does not name node 3.*names "paxos-node-1"/);
    expect(await refusalFor('client', { cert: client })).toBeNull();
    expect(await refusalFor('client', { cert: node })).toBeNull();
  });

  it('matches the name in a DNS subjectAltName as well as in the CN', async () => {
    expect(await refusalFor('node', { cert: nodeBySan, nodeId: 2 })).toBeNull();
    expect(await refusalFor('node', { cert: nodeBySan, nodeId: 1 })).toMatch(/does not name node 1/);
  });

  it('ignores plain TCP sockets', () => {
    expect(peerCertificateRefusal({} as net.Socket, { role: 'node', nodeId: 1 }, 'paxos-node-{id}')).toBeNull();
  });
});

describe('peer names', () => {
  it('reads CNs and DNS names, not IPs', () => {
    expect(certificateNames({ subject: { CN: 'a' }, subjectaltname: 'DNS:b, IP Address:127.0.0.1, DNS:c' })).toEqual(['a', 'b', 'c']);
    expect(certificateNames({ subject: { CN: ['a', 'b'] } })).toEqual(['a', 'b']);
    expect(certificateNames({})).toEqual([]);
  });

  it('fills {id} in the pattern', () => {
    expect(peerNameFor('paxos-node-{id}', 12)).toBe('paxos-node-12');
    expect(peerNameRefusal({ subject: { CN: 'paxos-node-12' } }, 12, 'paxos-node-{id}', 'the')).toBeNull();
    expect(peerNameRefusal({}, 12, 'paxos-node-{id}', 'the')).toMatch(/names no CN or DNS name/);
  });
});

describe('ensureClusterCertificates', () => {
  it('names each node, reuses good files, and remakes a node certificate that does not name its node', () => {
    const clusterDir = join(dir, 'cluster');
    const first = ensureClusterCertificates({ dir: clusterDir, nodes: 2, hosts: ['127.0.0.1'] });
    expect(first.created).toBe(true);
    expect(namesOf(first.nodes.get(2)!.cert)).toContain('paxos-node-2');
    expect(namesOf(first.client.cert)).toEqual(['paxos client']);
    expect(ensureClusterCertificates({ dir: clusterDir, nodes: 2, hosts: ['127.0.0.1'] }).created).toBe(false);
    // A certificate from before node names were checked: same CA, no name.
    issueCertificate({ cert: first.ca, key: join(clusterDir, 'ca.key') }, { dir: clusterDir, name: 'node-1', commonName: 'paxos node 1', hosts: ['127.0.0.1'] });
    const again = ensureClusterCertificates({ dir: clusterDir, nodes: 2, hosts: ['127.0.0.1'] });
    expect(again.created).toBe(true);
    expect(namesOf(again.nodes.get(1)!.cert)).toContain('paxos-node-1');
  });
});
