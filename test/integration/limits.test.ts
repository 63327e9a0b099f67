// The node's limits on what clients may cost it, each set by its flag on a real
// node process: commands per client session, command and value sizes, commands
// waiting in all, connections in all, handshake time. Each refusal is clear and
// definitely not applied. Single-node clusters: a node of one is its own leader.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder } from '../../src/wire/frame.js';
import type { WireMessage } from '../../src/wire/protocol.js';
import { connect } from '../../src/index.js';
import { freePorts, runCli, tempDir, TestCluster } from './support.js';

interface Frame {
  type: string;
  id?: number;
  code?: string;
  reason?: string;
  message?: string;
  indeterminate?: boolean;
  result?: unknown;
}

/** A raw client connection: says hello, then `send` frames; `frames` collects what the node says. */
class RawClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<void>;
  private readonly socket: net.Socket;
  private readonly decoder = new FrameDecoder({ frameBytesMax: 16 << 20 });

  constructor(port: number, options: { hello?: boolean } = {}) {
    this.socket = net.connect({ host: '127.0.0.1', port }, () => {
      if (options.hello !== false) this.send([{ type: 'hello', protocol: 1, clusterId: null, role: 'client', nodeId: null }]);
    });
    this.socket.on('data', (chunk) => this.frames.push(...(this.decoder.push(chunk) as Frame[])));
    this.socket.on('error', () => undefined);
    this.closed = new Promise((done) => this.socket.on('close', () => done()));
  }

  /** All in one write, so the node reads them in one turn of its event loop. */
  send(messages: WireMessage[]): void {
    this.socket.write(Buffer.concat(messages.map((message) => encodeFrame(message))));
  }

  async waitFor(check: (frames: Frame[]) => boolean, timeoutMs = 10_000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this.frames)) {
      if (Date.now() > deadline) throw new Error(`not seen in ${timeoutMs}ms; frames: ${JSON.stringify(this.frames).slice(0, 2000)}`);
      await new Promise((done) => setTimeout(done, 20));
    }
    return this.frames;
  }

  close(): void {
    this.socket.destroy();
  }
}

const submits = (count: number, make: (index: number) => { client: string; seq: number; op: unknown }): WireMessage[] =>
  Array.from({ length: count }, (_, index) => ({ type: 'submit', id: index + 1, ...make(index) }) as WireMessage);

const answers = (frames: Frame[]) => frames.filter((frame) => frame.type === 'result' || frame.type === 'error' || frame.type === 'refused');

/** Registers a session over `raw` (a submit of seq 0, no op, answered with the session's id), then clears what it heard. */
async function register(raw: RawClient, nonce: string): Promise<string> {
  raw.send([{ type: 'submit', id: 1_000_000, client: nonce, seq: 0, op: null } as WireMessage]);
  const [registration] = answers(await raw.waitFor((frames) => answers(frames).length === 1));
  raw.frames.length = 0;
  return (registration.result as { session: string }).session;
}

async function singleNode(flags: string[]): Promise<TestCluster> {
  const cluster = new TestCluster(await freePorts(1), tempDir(), flags);
  await cluster.start(1);
  await cluster.waitFor((rows) => rows[0]?.role === 'leader');
  return cluster;
}

describe('limits on a session and on command and value sizes', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await singleNode(['--session-commands-in-flight', '4', '--command-bytes-max', '1024', '--value-bytes-max', '100']);
  }, 30_000);

  afterAll(async () => {
    await cluster?.stopAll();
  });

  it('refuses a session with more than --session-commands-in-flight commands waiting (session_busy, not applied)', async () => {
    const raw = new RawClient(cluster.ports[0]);
    try {
      await raw.waitFor((frames) => frames.some((frame) => frame.type === 'welcome'));
      const session = await register(raw, 'greedy');
      expect(session).toMatch(/^greedy@\d+\.0$/);
      raw.send(submits(20, (index) => ({ client: session, seq: index + 1, op: ['incr', 'n'] })));
      const all = answers(await raw.waitFor((frames) => answers(frames).length === 20));
      const refused = all.filter((frame) => frame.type === 'error');
      expect(all.filter((frame) => frame.type === 'result')).toHaveLength(4);
      expect(refused).toHaveLength(16);
      for (const frame of refused) {
        expect(frame).toMatchObject({ code: 'session_busy', indeterminate: false });
        expect(frame.message).toMatch(/client greedy@\d+\.0 already has 4 commands waiting for their slot \(--session-commands-in-flight 4\); this one was not proposed/);
      }
    } finally {
      raw.close();
    }
    // Only the four admitted were applied.
    expect((await cluster.submit(['get', 'n'])).stdout.trim()).toBe('4');
    // Another session is not held back by that one.
    expect((await cluster.submit(['incr', 'n'])).stdout.trim()).toBe('5');
  });

  it('answers a command of a session it does not know with session_expired, indeterminate, and never runs it', async () => {
    const raw = new RawClient(cluster.ports[0]);
    try {
      await raw.waitFor((frames) => frames.some((frame) => frame.type === 'welcome'));
      raw.send(submits(1, () => ({ client: 'never-registered@1.0', seq: 1, op: ['set', 'ghost', 'boo'] })));
      const [answer] = answers(await raw.waitFor((frames) => answers(frames).length === 1));
      expect(answer).toMatchObject({ type: 'error', code: 'session_expired', indeterminate: true });
      expect(answer.message).toMatch(/^session_expired: the replicas do not know this session/);
    } finally {
      raw.close();
    }
    expect((await cluster.submit(['get', 'ghost'])).stdout.trim()).toBe('(nil)');
  });

  it('refuses a command over --command-bytes-max at once: exit 4, command_too_large', async () => {
    const started = Date.now();
    const result = await cluster.submit(['--json', '--', 'cas', 'k', 'e'.repeat(2000), 'v']);
    expect(result.code).toBe(4);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, indeterminate: false, code: 'request_too_large' });
    expect(JSON.parse(result.stdout).error).toMatch(/the command is \d+ bytes, more than this node's limit of 1024 bytes \(--command-bytes-max\); it was not proposed \(command_too_large\)/);
    // Reported as soon as the node said so, not after retrying until --timeout (10 s).
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await cluster.submit(['get', 'k'])).stdout.trim()).toBe('(nil)');
  });

  it('refuses a value over --value-bytes-max for set, append and cas: exit 4, value_too_large, nothing stored', async () => {
    const big = 'v'.repeat(101);
    for (const words of [['set', 'k', big], ['append', 'k', big], ['cas', 'k', 'x', big]]) {
      const result = await cluster.submit(words);
      expect(result.code, words[0]).toBe(4);
      expect(result.stderr).toMatch(/(VALUE|NEW) is 101 bytes, more than this node's limit of 100 bytes \(--value-bytes-max\); it was not proposed \(value_too_large\)/);
    }
    expect((await cluster.submit(['get', 'k'])).stdout.trim()).toBe('(nil)');
    expect((await cluster.submit(['set', 'k', 'v'.repeat(100)])).stdout.trim()).toBe('OK');
  });

  it('refuses --value-bytes-max above the store\'s own ceiling at start, exit 2', async () => {
    const [port] = await freePorts(1);
    const root = tempDir();
    const result = await runCli(['node', 'start', '--id', '1', '--peers', `1=127.0.0.1:${port}`, '--data-dir', root, '--value-bytes-max', String(2 * 1024 * 1024)]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/value-bytes-max/);
  });
});

describe('limits on commands waiting, connections and handshake time', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await singleNode(['--commands-waiting-max', '3', '--connections-max', '3', '--handshake-timeout', '300ms']);
  }, 30_000);

  afterAll(async () => {
    await cluster?.stopAll();
  });

  it('refuses submits beyond --commands-waiting-max (overloaded, not applied)', async () => {
    const raw = new RawClient(cluster.ports[0]);
    try {
      await raw.waitFor((frames) => frames.some((frame) => frame.type === 'welcome'));
      const sessions: string[] = [];
      for (let index = 0; index < 10; index++) sessions.push(await register(raw, `c${index}`));
      raw.send(submits(10, (index) => ({ client: sessions[index], seq: 1, op: ['incr', 'w'] })));
      const all = answers(await raw.waitFor((frames) => answers(frames).length === 10));
      expect(all.filter((frame) => frame.type === 'result')).toHaveLength(3);
      const refused = all.filter((frame) => frame.type === 'error');
      expect(refused).toHaveLength(7);
      for (const frame of refused) {
        expect(frame).toMatchObject({ code: 'overloaded', indeterminate: false });
        expect(frame.message).toMatch(/3 commands are already waiting \(--commands-waiting-max\)/);
      }
    } finally {
      raw.close();
    }
    expect((await cluster.submit(['get', 'w'])).stdout.trim()).toBe('3');
  });

  it('refuses a connection beyond --connections-max with too_many_connections, logged, and admits one again when one closes', async () => {
    const open = [0, 1, 2].map(() => new RawClient(cluster.ports[0]));
    try {
      await Promise.all(open.map((raw) => raw.waitFor((frames) => frames.some((frame) => frame.type === 'welcome'))));
      const extra = new RawClient(cluster.ports[0]);
      await extra.closed;
      expect(extra.frames.at(-1)).toMatchObject({ type: 'goodbye', code: 'too_many_connections', reason: expect.stringMatching(/3 connections are open already \(--connections-max\)/) });
      await cluster.waitForLog(1, /closing connection.*too_many_connections.*--connections-max/);
      const leaving = open.pop()!;
      leaving.close();
      await leaving.closed;
      // The node sees the close a moment later.
      await new Promise((done) => setTimeout(done, 300));
      const again = new RawClient(cluster.ports[0]);
      await again.waitFor((frames) => frames.some((frame) => frame.type === 'welcome'));
      open.push(again);
    } finally {
      for (const raw of open) raw.close();
      await Promise.all(open.map((raw) => raw.closed));
      await new Promise((done) => setTimeout(done, 300));
    }
  });

  it('closes a connection that says nothing within --handshake-timeout (handshake_required)', async () => {
    const started = Date.now();
    const silent = new RawClient(cluster.ports[0], { hello: false });
    await silent.closed;
    const elapsed = Date.now() - started;
    expect(silent.frames.at(-1)).toMatchObject({ type: 'goodbye', code: 'handshake_required' });
    expect(elapsed).toBeGreaterThanOrEqual(250);
    // The default is 5 s: the flag took effect.
    expect(elapsed).toBeLessThan(3_000);
  });
});

describe('a command over the node\'s frame limit', () => {
  let cluster: TestCluster;
  const frameLimit = 2 * 1024 * 1024;
  const huge = 'e'.repeat(3 * 1024 * 1024);

  beforeAll(async () => {
    cluster = await singleNode(['--max-frame-bytes', String(frameLimit)]);
  }, 30_000);

  afterAll(async () => {
    await cluster?.stopAll();
  });

  it('is reported as not applied (request_too_large), at once, never sent', async () => {
    // 3 MiB does not fit in an argv string: one --stdin line.
    const started = Date.now();
    const result = await runCli(['submit', '--cluster', cluster.addresses, '--stdin', '--json'], { input: `cas k ${huge} v\nincr n\n` });
    expect(Date.now() - started).toBeLessThan(8_000);
    const [big, small] = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(big).toMatchObject({ ok: false, indeterminate: false, code: 'request_too_large' });
    expect(big.error).toMatch(new RegExp(`node 1 reads frames up to ${frameLimit} bytes: its --max-frame-bytes`));
    expect(small).toMatchObject({ ok: true, result: 1 });
    expect(cluster.nodes.get(1)!.log.join('\n')).not.toMatch(/frame_too_large/);
  });

  it('is not_applied through the library too, exit-4 material, and the node serves on', async () => {
    const client = connect(cluster.addresses, { timeoutMs: 10_000 });
    try {
      const outcome = await client.submit(['cas', 'k', huge, 'v']);
      expect(outcome).toMatchObject({ status: 'not_applied', code: 'request_too_large' });
      expect(await client.submit(['incr', 'n'])).toMatchObject({ status: 'applied', result: 2 });
    } finally {
      client.close();
    }
  });
});

describe('--connections-per-address counts clients, not the member peers sharing their address', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    // On loopback every peer connection comes from 127.0.0.1 too: two per node here.
    cluster = await TestCluster.create(3, ['--connections-per-address', '2']);
    await Promise.all([1, 2, 3].map((id) => cluster.start(id)));
    await cluster.waitFor((rows) => rows.some((row) => row.role === 'leader'));
  }, 60_000);

  afterAll(async () => {
    await cluster?.stopAll();
  });

  it('admits two clients beside the two peers, refuses the third with the flag named, and still serves', async () => {
    const open = [0, 1].map(() => new RawClient(cluster.ports[0]));
    try {
      await Promise.all(open.map((raw) => raw.waitFor((frames) => frames.some((frame) => frame.type === 'welcome'))));
      const extra = new RawClient(cluster.ports[0]);
      await extra.closed;
      expect(extra.frames.at(-1)).toMatchObject({ type: 'goodbye', code: 'too_many_connections', reason: expect.stringMatching(/2 connections from .* are open already \(--connections-per-address\)/) });
    } finally {
      for (const raw of open) raw.close();
      await Promise.all(open.map((raw) => raw.closed));
      await new Promise((done) => setTimeout(done, 300));
    }
    expect((await cluster.submit(['set', 'k', 'v'])).stdout.trim()).toBe('OK');
  });
});
