// History recording (src/client/history.ts): every outcome gets the right
// completion type, and what is recorded parses and checks, also when written
// by `paxos submit --stdin --history` against a node.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { SubmitOutcome } from '../../../src/client/client.js';
import { HistoryRecorder, HistoryWriteError, historyInvocation, recordSubmit } from '../../../src/client/history.js';
import { checkHistory, parseHistory } from '../../../src/check/index.js';
import Submit from '../../../src/commands/submit.js';
import { applied, closeAll, startFakeNode, type FakeAction } from '../client/fake-node.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const directory = mkdtempSync(path.join(tmpdir(), 'paxos-history-'));
let fileCount = 0;

afterEach(async () => {
  vi.restoreAllMocks();
  await closeAll();
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function freshFile(): string {
  fileCount += 1;
  return path.join(directory, `history-${fileCount}.jsonl`);
}

function events(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A clock that ticks by one on every reading. */
function counter(): () => number {
  let now = 100;
  return () => now++;
}

const appliedOutcome = (result: unknown): SubmitOutcome => ({ status: 'applied', slot: 1, result, address: 'a' });

describe('historyInvocation', () => {
  it('maps get, set and cas, and leaves other commands unrecorded', () => {
    expect(historyInvocation(['get', 'x'])).toEqual({ f: 'read', key: 'x', value: null });
    expect(historyInvocation(['set', 'x', '1'])).toEqual({ f: 'write', key: 'x', value: '1' });
    expect(historyInvocation(['cas', 'x', '1', '2'])).toEqual({ f: 'cas', key: 'x', value: ['1', '2'] });
    for (const op of [['del', 'x'], ['incr', 'x'], ['append', 'x', 'a'], ['noop'], 'get x', ['get', 1]]) expect(historyInvocation(op)).toBeUndefined();
  });
});

describe('HistoryRecorder', () => {
  it('writes an invocation, then ok, fail or info by outcome', async () => {
    const file = freshFile();
    const recorder = new HistoryRecorder(file, { clock: counter() });
    await recordSubmit(recorder, 0, ['set', 'x', '1'], async () => appliedOutcome('OK'));
    await recordSubmit(recorder, 0, ['get', 'x'], async () => appliedOutcome('1'));
    await recordSubmit(recorder, 0, ['cas', 'x', '5', '6'], async () => ({ status: 'refused', slot: 3, error: 'cas failed: x is 1', address: 'a' }));
    await recordSubmit(recorder, 0, ['set', 'x', '2'], async () => ({ status: 'not_applied', code: 'no_node_reachable', error: 'down', tried: [] }));
    await recordSubmit(recorder, 0, ['set', 'x', '3'], async () => ({ status: 'unknown', code: 'outcome_unknown', error: 'timed out', tried: [] }));
    await expect(recordSubmit(recorder, 0, ['get', 'x'], async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await recordSubmit(recorder, 0, ['incr', 'x'], async () => appliedOutcome(4));
    recorder.close();
    expect(events(file).map((event) => [event.type, event.f, event.value, event.time])).toEqual([
      ['invoke', 'write', '1', 100], ['ok', 'write', '1', 101],
      ['invoke', 'read', null, 102], ['ok', 'read', '1', 103],
      ['invoke', 'cas', ['5', '6'], 104], ['fail', 'cas', ['5', '6'], 105],
      ['invoke', 'write', '2', 106], ['fail', 'write', '2', 107],
      ['invoke', 'write', '3', 108], ['info', 'write', '3', 109],
      ['invoke', 'read', null, 110], ['info', 'read', null, 111],
    ]);
    expect(events(file)[5]).toMatchObject({ process: 0, key: 'x', error: 'cas failed: x is 1' });
    expect(checkHistory(parseHistory(readFileSync(file, 'utf8'))).verdict).toBe('linearizable');
  });

  it('records many processes at once, as a benchmark would, in a history that checks', async () => {
    const file = freshFile();
    const recorder = new HistoryRecorder(file);
    let register: string | null = null;
    const apply = async (op: unknown[]): Promise<SubmitOutcome> => {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
      if (op[0] === 'get') return appliedOutcome(register);
      register = String(op[2]);
      return appliedOutcome('OK');
    };
    const client = async (process: number): Promise<void> => {
      for (let index = 0; index < 20; index++) {
        const op = index % 2 === 0 ? ['set', 'k', `${process}-${index}`] : ['get', 'k'];
        await recordSubmit(recorder, process, op, () => apply(op));
      }
    };
    await Promise.all([0, 1, 2, 3].map(client));
    recorder.close();
    const operations = parseHistory(readFileSync(file, 'utf8'));
    expect(operations).toHaveLength(80);
    expect(checkHistory(operations).verdict).toBe('linearizable');
  });

  it('appends to an existing file', async () => {
    const file = freshFile();
    for (let run = 0; run < 2; run++) {
      const recorder = new HistoryRecorder(file);
      await recordSubmit(recorder, 0, ['set', 'x', `${run}`], async () => appliedOutcome('OK'));
      recorder.close();
    }
    expect(events(file)).toHaveLength(4);
  });

  it('refuses a second operation in flight for one process', () => {
    const recorder = new HistoryRecorder(freshFile());
    recorder.invoke(7, { f: 'read', key: 'x', value: null });
    expect(() => recorder.invoke(7, { f: 'read', key: 'x', value: null })).toThrow(/process 7 already has an operation in flight/);
    recorder.close();
  });

  it.runIf(process.platform === 'linux')('throws a HistoryWriteError when the file cannot be written (/dev/full)', () => {
    const recorder = new HistoryRecorder('/dev/full');
    expect(() => recorder.invoke(0, { f: 'read', key: 'x', value: null })).toThrow(HistoryWriteError);
    recorder.close();
  });
});

describe('paxos submit --history', () => {
  /** A node that runs a real register per key, and never answers `get slow`. */
  function keyValueScript(): (request: { op?: unknown }) => FakeAction {
    const store = new Map<string, string>();
    return (request) => {
      const op = 'op' in request ? request.op : undefined;
      const [verb, key, first, second] = op as string[];
      if (verb === 'get' && key === 'slow') return { hang: true };
      // A get is a linearizable read without the log: a query, answered with a query_reply.
      if (verb === 'get' && request.type === 'query') {
        return { reply: { type: 'query_reply', ok: true, result: store.get(key) ?? null, error: null, appliedSlot: 1, knownChosenSlot: 1, consistency: 'linearizable' } };
      }
      if (verb === 'get') return applied(store.get(key) ?? null);
      if (verb === 'set') store.set(key, first);
      if (verb === 'cas' && (store.get(key) ?? null) !== first) return { reply: { type: 'refused', slot: 1, error: `cas failed: ${key} is ${store.get(key)}` } };
      if (verb === 'cas') store.set(key, second);
      return applied('OK');
    };
  }

  it('records each get, set and cas of --stdin, in a history that checks', async () => {
    const node = await startFakeNode({ nodeId: 1, script: keyValueScript() });
    const file = freshFile();
    const input = 'set x 1\ncas x 1 2\ncas x 1 3\nincr n\nget x\nget slow\nget missing\n';
    vi.spyOn(process, 'stdin', 'get').mockReturnValue(Readable.from([input]) as typeof process.stdin);
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    await Submit.run(['--stdin', '--json', '-c', node.address, '--timeout', '300ms', '--history', file, '--history-process', '4'], root);
    const recorded = events(file);
    expect(recorded.filter((event) => event.type !== 'invoke').map((event) => [event.f, event.type, event.value])).toEqual([
      ['write', 'ok', '1'],
      ['cas', 'ok', ['1', '2']],
      ['cas', 'fail', ['1', '3']],
      ['read', 'ok', '2'],
      // A read that timed out changed nothing: fail, never info (it is not a write that may have happened).
      ['read', 'fail', null],
      ['read', 'ok', null],
    ]);
    expect(recorded.every((event) => event.process === 4)).toBe(true);
    expect(checkHistory(parseHistory(readFileSync(file, 'utf8'))).verdict).toBe('linearizable');
  });

  it('exits 2 when the history file cannot be opened', async () => {
    const missing = path.join(directory, 'no-such-dir', 'h.jsonl');
    await expect(Submit.run(['get', 'x', '--history', missing], root)).rejects.toMatchObject({ oclif: { exit: 2 } });
  });
});
