// Authentication and cluster identity against real nodes: each intruder is
// refused with a reason on both sides, and the cluster keeps serving
// legitimate clients meanwhile.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorAuth, parseChallenge } from '../../src/wire/auth.js';
import { encodeFrame, FrameDecoder } from '../../src/wire/frame.js';
import type { WireMessage } from '../../src/wire/protocol.js';
import { binary, freePorts, runCli, TestCluster } from './support.js';

const secret = '0123456789abcdef0123456789abcdef';

/** Opens a raw connection, sends `first`, lets `onFrame` answer, and resolves with every frame received until close. */
function rawSession(port: number, first: WireMessage, onFrame: (frame: unknown, socket: net.Socket) => void = () => undefined): Promise<unknown[]> {
  return new Promise((done) => {
    const frames: unknown[] = [];
    const decoder = new FrameDecoder({ frameBytesMax: 1 << 20 });
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(encodeFrame(first)));
    socket.on('data', (chunk) => {
      for (const frame of decoder.push(chunk)) {
        frames.push(frame);
        onFrame(frame, socket);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => done(frames));
    setTimeout(() => socket.destroy(), 8_000).unref();
  });
}

function goodbyeOf(frames: unknown[]): { code: string; reason: string } | undefined {
  return frames.find((frame) => (frame as { type?: string }).type === 'goodbye') as { code: string; reason: string } | undefined;
}

describe('security: a cluster with a shared secret', () => {
  let cluster: TestCluster;
  let secretFile: string;
  let wrongSecretFile: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    cluster = await TestCluster.create(3);
    secretFile = join(cluster.root, 'secret');
    wrongSecretFile = join(cluster.root, 'wrong-secret');
    writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
    writeFileSync(wrongSecretFile, 'ffffffffffffffffffffffffffffffff\n', { mode: 0o600 });
    env = { PAXOS_SECRET_FILE: secretFile };
    (cluster as unknown as { extraFlags: string[] }).extraFlags.push('--secret-file', secretFile);
    await cluster.startAll();
  });

  afterAll(async () => {
    await cluster.stopAll();
  });

  const submit = (words: string[], extra: Record<string, string> = env) => runCli(['submit', '--cluster', cluster.addresses, '--timeout', '5s', ...words], { env: extra });
  const nodeLog = (id: number) => cluster.nodes.get(id)?.log.join('\n') ?? '';
  const clusterIdOf = async (): Promise<string> => {
    const result = await runCli(['status', '--cluster', cluster.addresses, '--json'], { env });
    return (JSON.parse(result.stdout) as { clusterId?: string }[]).find((row) => row.clusterId !== undefined)?.clusterId as string;
  };

  it('serves a client that holds the secret (PAXOS_SECRET_FILE or --secret-file)', async () => {
    const first = await submit(['set', 'x', '1']);
    expect(first.stdout.trim(), `${first.stderr}\n${nodeLog(1)}`).toBe('OK');
    const byFlag = await runCli(['submit', '--cluster', cluster.addresses, '--secret-file', secretFile, 'get', 'x'], { env: { PAXOS_SECRET_FILE: '' } });
    expect(byFlag.stdout.trim()).toBe('1');
  });

  it('lets bench, fault and top take --secret-file as submit and status do', async () => {
    const noEnv = { PAXOS_SECRET_FILE: '' };
    const bench = await runCli(['bench', '--cluster', cluster.addresses, '--clients', '1', '--duration', '300ms', '--json', '--secret-file', secretFile], { env: noEnv });
    expect(bench.code, bench.stderr).toBe(0);
    expect((JSON.parse(bench.stdout) as { applied: number }).applied).toBeGreaterThan(0);
    const benchWithout = await runCli(['bench', '--cluster', cluster.addresses, '--clients', '1', '--duration', '300ms', '--json'], { env: noEnv });
    expect(benchWithout.code).toBe(4);
    // The nodes run without --enable-faults: reached (refused, exit 1) with the secret, unreachable (exit 4) without.
    const fault = await runCli(['fault', 'heal', '--cluster', cluster.addresses, '--secret-file', secretFile], { env: noEnv });
    expect(fault.code, fault.stdout + fault.stderr).toBe(1);
    expect(fault.stdout + fault.stderr).toMatch(/enable-faults/);
    const faultWithout = await runCli(['fault', 'heal', '--cluster', cluster.addresses], { env: noEnv });
    expect(faultWithout.code).toBe(4);
    const missing = await runCli(['top', '--cluster', cluster.addresses, '--secret-file', join(cluster.root, 'no-such-secret')], { env: noEnv });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read secret file .*no-such-secret/);
    const top = await runCli(['top', '--cluster', cluster.addresses, '--secret-file', secretFile], { env: noEnv });
    expect(top.stderr).toMatch(/needs a terminal/);
  });

  it('refuses a client without a secret, saying so on both sides', async () => {
    const result = await submit(['get', 'x'], { PAXOS_SECRET_FILE: '' });
    expect(result.code).toBe(4);
    expect(result.stderr + result.stdout).toMatch(/requires a shared secret and this side has none: pass --secret-file/);
    await cluster.waitForLog(1, /"code":"auth_failed".*"reason":"the remote refused us: node 1 requires a shared secret/);
    expect(nodeLog(1)).toMatch(/"remote":"127\.0\.0\.1:\d+".*auth_failed|auth_failed.*"remote":"127\.0\.0\.1:\d+"/);
  });

  it('refuses a client with the wrong secret', async () => {
    const result = await submit(['get', 'x'], { PAXOS_SECRET_FILE: wrongSecretFile });
    expect(result.code).toBe(4);
    expect(result.stderr + result.stdout).toMatch(/could not prove it holds our secret/);
    await cluster.waitForLog(1, /the remote refused us: node 1 could not prove it holds our secret/);
  });

  it('refuses a client posing as peer 2 without the secret', async () => {
    const clusterId = await clusterIdOf();
    const posing = await rawSession(cluster.ports[0], { type: 'hello', protocol: 1, clusterId, role: 'node', nodeId: 2 }, (frame, socket) => {
      if ((frame as { type: string }).type === 'challenge') socket.write(encodeFrame({ type: 'auth', proof: new Uint8Array(32) }));
    });
    expect((posing[0] as { type: string; proof: unknown }).type).toBe('challenge');
    expect((posing[0] as { proof: unknown }).proof).toBeNull();
    expect(goodbyeOf(posing)).toMatchObject({ code: 'auth_failed', reason: expect.stringMatching(/node 2 does not hold this cluster's secret/) });
    await cluster.waitForLog(1, /"code":"auth_failed".*node 2 does not hold/);
  });

  it('refuses a peer whose node id is not in the cluster, even with the secret', async () => {
    const clusterId = await clusterIdOf();
    const auth = new ConnectorAuth(Buffer.from(secret), { role: 'node', nodeId: 9 });
    const frames = await rawSession(cluster.ports[0], { type: 'hello', protocol: 1, clusterId, role: 'node', nodeId: 9, nonce: auth.nonce }, (frame, socket) => {
      if ((frame as { type: string }).type === 'challenge') socket.write(encodeFrame(auth.answer(parseChallenge(frame))));
    });
    expect(goodbyeOf(frames)).toMatchObject({ code: 'unknown_node', reason: 'node id 9 is not a peer of node 1' });
  });

  it('refuses a wrong cluster id from a client, saying which clusters on both sides', async () => {
    const frames = await rawSession(cluster.ports[1], { type: 'hello', protocol: 1, clusterId: 'not-this-one', role: 'client', nodeId: null });
    expect(goodbyeOf(frames)).toMatchObject({ code: 'wrong_cluster', reason: expect.stringMatching(/^cluster not-this-one is not this node's cluster \w+/) });
    await cluster.waitForLog(2, /"code":"wrong_cluster".*cluster not-this-one is not this node's cluster/);
  });

  it('refuses a peer of another cluster, logged on both sides', async () => {
    const [port] = await freePorts(1);
    const peers = `1=127.0.0.1:${cluster.ports[0]},5=127.0.0.1:${port}`;
    const log = await runFor(['node', 'start', '--id', '5', '--peers', peers, '--data-dir', join(cluster.root, 'foreign'), '--secret-file', secretFile, '--log-format', 'json'], 3_000);
    expect(log).toMatch(/peer refused our connection.*wrong_cluster: cluster \w+ is not this node's cluster/);
    await cluster.waitForLog(1, /"code":"wrong_cluster","reason":"cluster \w+ is not this node's cluster/);
  });

  it('refuses a member started with the wrong secret, logged on both sides, and keeps serving', async () => {
    // Node 3 comes back with the wrong secret; the other two are a majority and go on.
    await cluster.kill9(3);
    const flags = (cluster as unknown as { extraFlags: string[] }).extraFlags;
    flags[flags.indexOf(secretFile)] = wrongSecretFile;
    await cluster.start(3);
    flags[flags.indexOf(wrongSecretFile)] = secretFile;
    await cluster.waitForLog(3, /peer refused our connection.*auth_failed: node [12] could not prove it holds our secret/);
    await cluster.waitForLog(1, /"code":"auth_failed".*(the remote refused us: node 1 could not prove|node 3 does not hold)/);
    expect((await submit(['set', 'y', '2'])).stdout.trim()).toBe('OK');
    expect((await submit(['get', 'y'])).stdout.trim()).toBe('2');
  });
});

/** Runs a command for `ms`, then stops it, and returns what it logged. */
function runFor(args: string[], ms: number): Promise<string> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [binary, ...args], { env: { ...process.env, NODE_ENV: 'production', PAXOS_SECRET_FILE: '' } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    setTimeout(() => child.kill('SIGKILL'), ms).unref();
    child.on('exit', () => done(output));
  });
}
