// TLS between real node processes: a 3-node cluster with mutual TLS serves
// clients over TLS; clients without the CA or trusting another CA are refused;
// a node with another CA's certificate, or an expired one, cannot join as a
// peer (refused and logged on both sides) while the cluster keeps serving; the
// client certificate cannot pose as a peer, nor node 2's certificate as node 3.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureClusterCertificates, issueCertificate, makeCa, namesOf, type ClusterCertificates, type KeyPair } from '../../src/node/runtime/certs.js';
import { encodeFrame, FrameDecoder } from '../../src/wire/frame.js';
import { connect, loadClientTls, loadNodeTls, startNode } from '../../src/index.js';
import { freePorts, runCli, tempDir, TestCluster, type CliResult } from './support.js';

const day = 24 * 60 * 60 * 1000;

describe('TLS', () => {
  let certsDir: string;
  let certs: ClusterCertificates;
  let foreign: KeyPair;
  let foreignCa: KeyPair;
  let expired: KeyPair;
  let cluster: TestCluster;

  const nodeFlags = (pair: KeyPair, caCert: string): string[] => ['--tls-cert', pair.cert, '--tls-key', pair.key, '--tls-ca', caCert];
  const clientEnv = (overrides: Record<string, string> = {}): Record<string, string> => ({
    PAXOS_TLS_CA: certs.ca,
    PAXOS_TLS_CERT: certs.client.cert,
    PAXOS_TLS_KEY: certs.client.key,
    ...overrides,
  });
  const submit = (words: string[], env: Record<string, string> = clientEnv()): Promise<CliResult> =>
    runCli(['submit', '--cluster', cluster.addresses, '--timeout', '5s', ...words], { env });

  beforeAll(async () => {
    certsDir = tempDir();
    // Each node its own certificate: it names the node (paxos-node-ID), and peers check that it does.
    certs = ensureClusterCertificates({ dir: certsDir, nodes: 3, hosts: ['127.0.0.1', 'localhost'] });
    foreignCa = makeCa(join(certsDir, 'other'), { commonName: 'another cluster CA' });
    foreign = issueCertificate(foreignCa, { dir: join(certsDir, 'other'), name: 'node', commonName: 'stranger', hosts: ['127.0.0.1'] });
    expired = issueCertificate({ cert: certs.ca, key: join(certsDir, 'ca.key') }, {
      dir: certsDir,
      name: 'expired',
      // It names node 3, so the expiry is the only thing wrong with it.
      commonName: 'paxos-node-3',
      hosts: ['127.0.0.1'],
      validity: { notBefore: new Date(Date.now() - 30 * day), notAfter: new Date(Date.now() - day) },
    });
    caPath = certs.ca;
    cluster = await TestCluster.create(3, [], (id) => nodeFlags(certs.nodes.get(id) as KeyPair, certs.ca));
    await cluster.startAll();
  });

  afterAll(async () => {
    await cluster?.stopAll();
    rmSync(certsDir, { recursive: true, force: true });
  });

  it('names each node in its certificate, and no node in the client\'s', () => {
    expect(namesOf(certs.nodes.get(2)!.cert)).toEqual(expect.arrayContaining(['paxos-node-2', 'localhost']));
    expect(namesOf(certs.client.cert).some((name) => name.startsWith('paxos-node-'))).toBe(false);
  });

  it('serves submit and status over TLS with the CA (client certificate optional)', async () => {
    const set = await submit(['set', 'x', '1']);
    expect(set.stderr).toBe('');
    expect(set.stdout.trim()).toBe('OK');
    const withoutClientCert = await submit(['get', 'x'], { PAXOS_TLS_CA: certs.ca });
    expect(withoutClientCert.stdout.trim()).toBe('1');
    const status = await runCli(['status', '--cluster', cluster.addresses, '--json', '--tls-ca', certs.ca]);
    const rows = JSON.parse(status.stdout) as { reachable: boolean }[];
    expect(rows.filter((row) => row.reachable)).toHaveLength(3);
  });

  it('lets a library client reach the TLS nodes with ConnectOptions.tls from loadClientTls', async () => {
    const client = connect(cluster.addresses, { tls: loadClientTls({ ca: certs.ca, cert: certs.client.cert, key: certs.client.key }, {}), timeoutMs: 5_000 });
    const plain = connect(cluster.addresses, { tls: null, timeoutMs: 2_000 });
    try {
      expect(await client.submit(['get', 'x'])).toMatchObject({ status: 'applied', result: '1' });
      const refused = await plain.submit(['get', 'x']);
      expect(refused).toMatchObject({ status: 'not_applied', code: 'no_node_reachable' });
    } finally {
      client.close();
      plain.close();
    }
  });

  it('starts a TLS node in-process with NodeConfig.tls from loadNodeTls', async () => {
    const [port] = await freePorts(1);
    const root = tempDir();
    const pair = certs.nodes.get(1)!;
    const node = await startNode({ id: 1, peers: new Map([[1, { host: '127.0.0.1', port }]]), dataDir: join(root, 'n1'), tls: loadNodeTls({ cert: pair.cert, key: pair.key, ca: certs.ca }) });
    const client = connect(`127.0.0.1:${port}`, { tls: loadClientTls({ ca: certs.ca }, {}), timeoutMs: 10_000 });
    try {
      expect(await client.submit(['set', 'y', '2'])).toMatchObject({ status: 'applied', result: 'OK' });
    } finally {
      client.close();
      await node.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('refuses a client without the CA, with a message that says TLS', async () => {
    const result = await submit(['get', 'x'], {});
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/if the node uses TLS, set --tls-ca or PAXOS_TLS_CA/);
    await cluster.waitForLog(1, /closing connection.*does not speak TLS/);
  });

  it('refuses a client trusting another CA, and a client presenting another CA\'s certificate', async () => {
    const wrongCa = await submit(['get', 'x'], { PAXOS_TLS_CA: foreignCa.cert });
    expect(wrongCa.code).toBe(4);
    expect(wrongCa.stderr).toMatch(/TLS: the certificate is not signed by the trusted CA/);
    const wrongCert = await submit(['get', 'x'], clientEnv({ PAXOS_TLS_CERT: foreign.cert, PAXOS_TLS_KEY: foreign.key }));
    expect(wrongCert.code).toBe(4);
    expect(wrongCert.stderr).toMatch(/auth_failed.*client's certificate is not valid/);
  });

  it('refuses a client with an expired certificate', async () => {
    const result = await submit(['get', 'x'], clientEnv({ PAXOS_TLS_CERT: expired.cert, PAXOS_TLS_KEY: expired.key }));
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/CERT_HAS_EXPIRED/);
  });

  it('keeps a node with another CA\'s certificate out, logged on both sides, while serving', async () => {
    // Node 3 leaves, to come back as strangers; 1 and 2 are a majority and keep serving.
    await cluster.kill9(3);
    const stranger = new TestCluster(cluster.ports, tempDir(), nodeFlags(foreign, foreignCa.cert));
    try {
      await stranger.start(3);
      await stranger.waitForLog(3, /peer refused our connection.*not signed by the trusted CA/);
      await cluster.waitForLog(1, /peer refused our connection.*not signed by the trusted CA/);
      expect((await submit(['incr', 'n'])).stdout.trim()).toBe('1');
    } finally {
      await stranger.stopAll();
    }
  });

  it('keeps a node with an expired certificate out, logged on both sides, while serving', async () => {
    const stale = new TestCluster(cluster.ports, tempDir(), nodeFlags(expired, certs.ca));
    try {
      await stale.start(3);
      await stale.waitForLog(3, /peer refused our connection.*CERT_HAS_EXPIRED/);
      await cluster.waitForLog(1, /closing connection.*CERT_HAS_EXPIRED/);
      expect((await submit(['incr', 'n'])).stdout.trim()).toBe('2');
    } finally {
      await stale.stopAll();
    }
  });

  it('refuses the client certificate posing as peer 2, logged, while serving', async () => {
    const clusterId = await clusterIdOf(cluster.ports[0]);
    const frames = await tlsSession(cluster.ports[0], certs.client, { type: 'hello', protocol: 1, clusterId, role: 'node', nodeId: 2 });
    expect(frames.at(-1)).toMatchObject({ type: 'goodbye', code: 'auth_failed', reason: expect.stringMatching(/certificate does not name node 2: it must carry "paxos-node-2"/) });
    expect(frames.some((frame) => (frame as { type: string }).type === 'welcome')).toBe(false);
    await cluster.waitForLog(1, /closing connection.*auth_failed.*does not name node 2.*names ..paxos client/);
    // Node 1's own certificate claiming node 2 is no better.
    const borrowed = await tlsSession(cluster.ports[0], certs.nodes.get(1)!, { type: 'hello', protocol: 1, clusterId, role: 'node', nodeId: 2 });
    expect(borrowed.at(-1)).toMatchObject({ code: 'auth_failed', reason: expect.stringMatching(/does not name node 2.*names "paxos-node-1"/) });
    expect((await submit(['incr', 'n'])).stdout.trim()).toBe('3');
  });

  it('keeps node 2\'s certificate from joining as node 3, logged on both sides, while serving', async () => {
    const impostor = new TestCluster(cluster.ports, tempDir(), nodeFlags(certs.nodes.get(2)!, certs.ca));
    try {
      await impostor.start(3);
      // Node 1 refuses the impostor's hello as node 3, and refuses to talk to it when it dials node 3.
      await cluster.waitForLog(1, /closing connection.*the peer's certificate does not name node 3.*names ..paxos-node-2/);
      await cluster.waitForLog(1, /peer refused our connection.*"peer":3.*the node's certificate does not name node 3/);
      await impostor.waitForLog(3, /peer refused our connection.*certificate does not name node 3/);
      await impostor.waitForLog(3, /closing connection.*the remote refused us: the node's certificate does not name node 3/);
      expect((await submit(['incr', 'n'])).stdout.trim()).toBe('4');
    } finally {
      await impostor.stopAll();
    }
  });

  it('admits node 3 back with a good certificate, and it catches up', async () => {
    await cluster.start(3);
    await cluster.waitForLog(3, /connected to peer.*"peer":1/);
    const rows = await pollStatus(cluster, certs.ca, (all) => all.every((row) => row.reachable && row.lastApplied === all[0].lastApplied));
    expect(rows).toHaveLength(3);
  });
});

/** The cluster id, from a node's status over TLS. */
async function clusterIdOf(port: number): Promise<string> {
  const result = await runCli(['status', '--cluster', `127.0.0.1:${port}`, '--json'], { env: { PAXOS_TLS_CA: caPath } });
  return (JSON.parse(result.stdout) as { clusterId: string }[])[0].clusterId;
}

let caPath = '';

/** A TLS connection presenting `pair` that sends `hello` and collects every frame until the node closes it. */
function tlsSession(port: number, pair: KeyPair, hello: Record<string, unknown>): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const frames: unknown[] = [];
    const decoder = new FrameDecoder({ frameBytesMax: 1024 * 1024 });
    const socket = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(caPath), cert: readFileSync(pair.cert), key: readFileSync(pair.key) });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the node did not close the connection; frames: ${JSON.stringify(frames)}`));
    }, 10_000);
    socket.on('secureConnect', () => socket.write(encodeFrame(hello as never)));
    socket.on('data', (chunk) => frames.push(...decoder.push(chunk)));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(frames);
    });
  });
}

async function pollStatus(cluster: TestCluster, caCert: string, done: (rows: { reachable: boolean; lastApplied?: number }[]) => boolean): Promise<unknown[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const result = await runCli(['status', '--cluster', cluster.addresses, '--json', '--tls-ca', caCert]);
    const rows = result.stdout === '' ? [] : (JSON.parse(result.stdout) as { reachable: boolean; lastApplied?: number }[]);
    if (rows.length > 0 && done(rows)) return rows;
    if (Date.now() > deadline) throw new Error(`status never settled: ${result.stdout}${result.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
