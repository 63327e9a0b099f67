// The submit and status commands run in-process against fake nodes: what they
// print on stdout and stderr, and the exit code they end with.
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import Status from '../../../src/commands/status.js';
import Submit from '../../../src/commands/submit.js';
import { applied, closeAll, refusedAddress, startFakeNode, statusOf, type FakeAction } from './fake-node.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));

afterEach(async () => {
  vi.restoreAllMocks();
  await closeAll();
});

interface Run {
  stdout: string[];
  stderr: string[];
  exitCode: number;
}

/** Runs a command class as oclif would; the exit code comes from this.exit, this.error or process.exitCode. */
async function run(command: { run(argv: string[], root: string): Promise<unknown> }, argv: string[]): Promise<Run> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => void stdout.push(String(line)));
  vi.spyOn(console, 'error').mockImplementation((line: unknown) => void stderr.push(String(line)));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => (stderr.push(String(chunk).trimEnd()), true));
  const exitCodeBefore = process.exitCode;
  let exitCode = 0;
  try {
    await command.run(argv, root);
    exitCode = typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    exitCode = (error as { oclif?: { exit?: number } }).oclif?.exit ?? 1;
    if (exitCode !== 0 && !(error as { code?: string }).code?.startsWith('EEXIT')) stderr.push((error as Error).message);
  } finally {
    process.exitCode = exitCodeBefore;
    vi.restoreAllMocks();
  }
  return { stdout, stderr, exitCode };
}

function readReply(result: unknown, consistency: 'linearizable' | 'local', appliedSlot: number, knownChosenSlot: number): Extract<FakeAction, { reply: unknown }>['reply'] {
  return { type: 'query_reply', ok: true, result, error: null, appliedSlot, consistency, knownChosenSlot };
}

async function nodeAnswering(action: FakeAction): Promise<string> {
  return (await startFakeNode({ nodeId: 1, script: () => action })).address;
}

describe('paxos submit', () => {
  it('prints the rendered result and exits 0', async () => {
    const address = await nodeAnswering(applied('OK', 17));
    expect(await run(Submit, ['set', 'x', '1', '-c', address])).toEqual({ stdout: ['OK'], stderr: [], exitCode: 0 });
  });

  it('prints (nil) for a missing key', async () => {
    const address = await nodeAnswering({ reply: readReply(null, 'linearizable', 4, 4) });
    expect((await run(Submit, ['get', 'x', '--cluster', address])).stdout).toEqual(['(nil)']);
  });

  it('sends a get as a linearizable query by default, as a command with --consistency log', async () => {
    const node = await startFakeNode({ nodeId: 1, script: (request) => (request.type === 'query' ? { reply: readReply('1', 'linearizable', 7, 7) } : applied('1', 8)) });
    const read = await run(Submit, ['--json', 'get', 'x', '-c', node.address]);
    expect(read.stdout.map((line) => JSON.parse(line) as unknown)).toEqual([{ ok: true, result: '1', slot: 7, consistency: 'linearizable' }]);
    const logged = await run(Submit, ['--json', '--consistency', 'log', 'get', 'x', '-c', node.address]);
    expect(logged.stdout.map((line) => JSON.parse(line) as unknown)).toEqual([{ ok: true, result: '1', slot: 8 }]);
    expect(node.requests.map((request) => request.type === 'query' ? `query:${request.consistency}` : request.type)).toEqual(['query:linearizable', 'submit']);
  });

  it('says a local read may be stale, with how far behind its replica knew itself', async () => {
    const address = await nodeAnswering({ reply: readReply('1', 'local', 40, 45) });
    const text = await run(Submit, ['--consistency', 'local', 'get', 'x', '-c', address]);
    expect(text.stdout).toEqual(['1']);
    expect(text.stderr).toEqual([`note: a local read of ${address}, which may be stale: its state at applied slot 40 (5 slots behind the 45 it knew chosen; the leader may know more)`]);
    const json = await run(Submit, ['--json', '--consistency', 'local', 'get', 'x', '-c', address]);
    expect(JSON.parse(json.stdout[0])).toEqual({ ok: true, result: '1', slot: 40, consistency: 'local', stale: true, appliedSlot: 40, knownChosenSlot: 45, address });
  });

  it('prints one JSON object with --json', async () => {
    const address = await nodeAnswering(applied(1, 17));
    const { stdout } = await run(Submit, ['--json', 'incr', 'x', '-c', address]);
    expect(stdout.map((line) => JSON.parse(line) as unknown)).toEqual([{ ok: true, result: 1, slot: 17 }]);
  });

  it('says why on stderr and exits 3 when the state machine refuses', async () => {
    const address = await nodeAnswering({ reply: { type: 'refused', slot: 18, error: 'cas failed: x is 3' } });
    expect(await run(Submit, ['cas', 'x', '1', '2', '-c', address])).toEqual({ stdout: [], stderr: ['cas failed: x is 3'], exitCode: 3 });
    const json = await run(Submit, ['cas', 'x', '1', '2', '-c', address, '--json']);
    expect(JSON.parse(json.stdout[0])).toEqual({ ok: false, refused: true, indeterminate: false, error: 'cas failed: x is 3', slot: 18 });
    expect(json.exitCode).toBe(3);
  });

  it('exits 4, naming the addresses tried and how to start a cluster, when no node is reachable', async () => {
    const addresses = [await refusedAddress(), await refusedAddress()];
    const { stdout, stderr, exitCode } = await run(Submit, ['get', 'x', '-c', addresses.join(','), '--timeout', '500ms']);
    expect(exitCode).toBe(4);
    expect(stdout).toEqual([]);
    expect(stderr.join('\n')).toContain(`tried ${addresses.join(', ')}`);
    expect(stderr.join('\n')).toContain('npx paxos cluster start');
  });

  it('exits 5 when the outcome is unknown', async () => {
    const address = await nodeAnswering({ close: true });
    const { stdout, exitCode } = await run(Submit, ['set', 'x', '1', '-c', address, '--timeout', '300ms', '--json']);
    expect(exitCode).toBe(5);
    expect(JSON.parse(stdout[0])).toMatchObject({ ok: false, indeterminate: true });
  });

  it.each([
    [['frobnicate', 'x'], /frobnicate/],
    [[], /usage/],
    [['get', 'x', '--timeout', 'soon'], /invalid duration/],
    [['get', 'x', '--json-command', '[1]'], /not both/],
    [['--bogus', 'get', 'x'], /bogus/],
    [['--stdin', 'get', 'x'], /not both/],
  ])('exits 2 on a usage error: %j', async (argv, message) => {
    // A node runs the built-in store, so its verbs are checked before anything is sent.
    const node = await startFakeNode({ nodeId: 1, script: () => applied('OK') });
    const { stderr, exitCode } = await run(Submit, [...argv, '-c', node.address]);
    expect(exitCode).toBe(2);
    expect(stderr.join('\n')).toMatch(message);
    expect(node.requests.filter((request) => request.type === 'submit')).toEqual([]);
  });

  it('exits 4 with the real reason, not a usage error, when no node answers to say which state machine the words are for', async () => {
    const { stderr, exitCode } = await run(Submit, ['frobnicate', 'x', '-c', await refusedAddress(), '--timeout', '300ms']);
    expect(exitCode).toBe(4);
    expect(stderr.join('\n')).toMatch(/no node reachable/);
    expect(stderr.join('\n')).not.toMatch(/unknown command/);
  });

  it('exits 2 on a bad cluster address', async () => {
    const { stderr, exitCode } = await run(Submit, ['get', 'x', '--cluster', 'nowhere']);
    expect(exitCode).toBe(2);
    expect(stderr.join('\n')).toMatch(/invalid address "nowhere"/);
  });

  it('reports a usage error as JSON under --json', async () => {
    const node = await startFakeNode({ nodeId: 1, script: () => applied('OK') });
    const { stdout, exitCode } = await run(Submit, ['frobnicate', '--json', '-c', node.address]);
    expect(exitCode).toBe(2);
    expect(JSON.parse(stdout[0])).toMatchObject({ ok: false, indeterminate: false, code: 'usage' });
  });

  it('passes --json-command through unchecked', async () => {
    const node = await startFakeNode({ nodeId: 1, script: () => applied(90) });
    await run(Submit, ['--json-command', '["deposit","alice",10]', '-c', node.address]);
    expect(node.requests[0]).toMatchObject({ type: 'submit', op: ['deposit', 'alice', 10] });
  });

  it('handles --stdin line by line and exits 0 whatever the lines did', async () => {
    const node = await startFakeNode({ nodeId: 1, script: (_, index) => (index === 0 ? applied('OK', 5) : { reply: { type: 'refused', slot: 6, error: 'cas failed: a is 1' } }) });
    vi.spyOn(process, 'stdin', 'get').mockReturnValue(Readable.from(['set a 1\n\nbogus\n', 'cas a 2 3\n']) as typeof process.stdin);
    const { stdout, exitCode } = await run(Submit, ['--stdin', '--json', '-c', node.address]);
    expect(exitCode).toBe(0);
    expect(stdout.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
      { ok: true, result: 'OK', slot: 5 },
      expect.objectContaining({ ok: false, code: 'usage' }),
      { ok: false, refused: true, indeterminate: false, error: 'cas failed: a is 1', slot: 6 },
    ]);
  });
});

describe('paxos status', () => {
  it('prints a table with unreachable nodes and exits 0 when any node answered', async () => {
    const node = await startFakeNode({ nodeId: 1, script: () => ({ reply: { type: 'status_reply', status: statusOf(1, { role: 'leader' }) } }) });
    const down = await refusedAddress();
    const { stdout, exitCode } = await run(Status, ['-c', `${node.address},${down}`]);
    expect(exitCode).toBe(0);
    expect(stdout[0]).toMatch(/^ID\s+ADDRESS\s+REACHABLE\s+ROLE/);
    expect(stdout[1]).toMatch(/^1\s+127\.0\.0\.1:\d+\s+yes\s+leader/);
    expect(stdout[2]).toMatch(/^-\s+127\.0\.0\.1:\d+\s+no/);
    expect(stdout.at(-1)).toContain('ECONNREFUSED');
  });

  it('returns the rows as one JSON array with --json', async () => {
    const node = await startFakeNode({ nodeId: 2, script: () => ({ reply: { type: 'status_reply', status: statusOf(2) } }) });
    const { stdout, exitCode } = await run(Status, ['--json', '-c', node.address]);
    expect(exitCode).toBe(0);
    const rows = JSON.parse(stdout.join('\n')) as unknown[];
    expect(rows).toEqual([expect.objectContaining({ address: node.address, reachable: true, id: 2, lag: 0 })]);
  });

  it('exits 4 with the hint when no node answers, still printing the JSON array', async () => {
    const down = await refusedAddress();
    const { stdout, stderr, exitCode } = await run(Status, ['--json', '-c', down, '--timeout', '500ms']);
    expect(exitCode).toBe(4);
    expect(JSON.parse(stdout.join('\n'))).toEqual([expect.objectContaining({ address: down, reachable: false })]);
    expect(stderr.join('\n')).toContain('npx paxos cluster start');
  });

  it('exits 2 on a bad --timeout, also under --json', async () => {
    expect((await run(Status, ['--timeout', 'soon'])).exitCode).toBe(2);
    expect((await run(Status, ['--timeout', 'soon', '--json'])).exitCode).toBe(2);
  });
});
