import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCertificate, makeCa, type KeyPair } from '../../../src/node/runtime/certs.js';
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
  type NodeTls,
} from '../../../src/node/runtime/tls.js';

let dir: string;
let ca: KeyPair;
let node: KeyPair;
let otherCa: KeyPair;
let foreign: KeyPair;
let expired: KeyPair;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'paxos-tls-unit-'));
  ca = makeCa(dir);
  node = issueCertificate(ca, { dir, name: 'node', commonName: 'node', hosts: ['127.0.0.1', 'localhost'] });
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
    expect(() => loadNodeTls({}, 'required')).toThrow(/--tls-client-certs needs/);
    expect(() => loadNodeTls({ cert: node.cert, key: node.key, ca: ca.cert }, 'sometimes')).toThrow(/optional, required/);
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
    expect(loadNodeTls({ cert: node.cert, key: node.key, ca: ca.cert }, 'required')?.clientCerts).toBe('required');
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

/** A TLS listener from nodeServerOptions; resolves each accepted socket's refusal for the given role. */
async function refusalFor(role: 'node' | 'client', client: { cert?: KeyPair; ca?: KeyPair }): Promise<string | null> {
  const server = createListener(nodeServerOptions(loadNodeTls({ cert: node.cert, key: node.key, ca: ca.cert }) as NodeTls, 5000), () => undefined);
  const accepted = new Promise<net.Socket>((done) => server.once('secureConnection', done));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as net.AddressInfo).port;
  const material = loadClientTls({ ca: (client.ca ?? ca).cert, cert: client.cert?.cert, key: client.cert?.key }, {});
  // The client side trusts our CA unless told otherwise; identity checks are the server's under test here.
  const socket = dial({ host: '127.0.0.1', port }, { ...clientDialOptions(material!, { host: '127.0.0.1', port }), checkServerIdentity: () => undefined });
  socket.on('error', () => undefined);
  await new Promise((done) => socket.once(readyEvent(socket), done));
  const refusal = peerCertificateRefusal(await accepted, role);
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

  it('ignores plain TCP sockets', () => {
    expect(peerCertificateRefusal({} as net.Socket, 'node')).toBeNull();
  });
});
