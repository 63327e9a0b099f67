import { describe, expect, it } from 'vitest';
import type { SubmitOutcome } from '../../../src/client/client.js';
import { splitCommandLine, submitExitCode, submitJson, submitLines, submitTextLine } from '../../../src/client/submit-report.js';
import { UsageError, parseKeyValueWords } from '../../../src/node/statemachine/parse.js';

const appliedGet: SubmitOutcome = { status: 'applied', slot: 17, result: null, address: 'a:1' };
const refused: SubmitOutcome = { status: 'refused', slot: 18, error: 'cas failed: x is 3', address: 'a:1' };
const unreachable: SubmitOutcome = { status: 'not_applied', code: 'no_node_reachable', error: 'no node reachable', tried: ['a:1'] };
const unknown: SubmitOutcome = { status: 'unknown', code: 'outcome_unknown', error: 'timed out', tried: ['a:1'] };

describe('submit outcomes', () => {
  it('map to the exit codes of the SPEC', () => {
    expect([appliedGet, refused, unreachable, unknown].map(submitExitCode)).toEqual([0, 3, 4, 5]);
  });

  it('map to the JSON objects of the SPEC', () => {
    expect(submitJson({ status: 'applied', slot: 17, result: 'OK', address: 'a:1' })).toEqual({ ok: true, result: 'OK', slot: 17 });
    expect(submitJson(appliedGet)).toEqual({ ok: true, result: null, slot: 17 });
    expect(submitJson(refused)).toEqual({ ok: false, refused: true, indeterminate: false, error: 'cas failed: x is 3', slot: 18 });
    expect(submitJson(unreachable)).toEqual({ ok: false, error: 'no node reachable', indeterminate: false, code: 'no_node_reachable', tried: ['a:1'] });
    expect(submitJson(unknown)).toMatchObject({ ok: false, indeterminate: true });
  });

  it('report the session errors as unknown: exit 5, indeterminate, with their code', () => {
    for (const code of ['session_expired', 'result_forgotten'] as const) {
      const outcome: SubmitOutcome = { status: 'unknown', code, error: `outcome unknown: a:1: ${code}: ...`, tried: ['a:1'] };
      expect(submitExitCode(outcome)).toBe(5);
      expect(submitJson(outcome)).toEqual({ ok: false, error: outcome.error, indeterminate: true, code, tried: ['a:1'] });
    }
  });

  it('render as one line of text each', () => {
    expect([appliedGet, refused, unreachable, unknown].map(submitTextLine)).toEqual([
      '(nil)',
      '(refused) cas failed: x is 3',
      '(error) no node reachable',
      '(unknown) timed out',
    ]);
  });
});

describe('splitCommandLine', () => {
  it('splits on whitespace', () => {
    expect(splitCommandLine('  set   x\t1 ')).toEqual(['set', 'x', '1']);
  });

  it('reads a JSON array of words, for values with spaces', () => {
    expect(splitCommandLine('["set","greeting","hello world"]')).toEqual(['set', 'greeting', 'hello world']);
  });

  it('refuses a bracketed line that is not an array of strings', () => {
    expect(() => splitCommandLine('["set", 1]')).toThrow(UsageError);
    expect(() => splitCommandLine('[nope')).toThrow(UsageError);
  });
});

async function* linesOf(...lines: string[]): AsyncIterable<string> {
  yield* lines;
}

describe('submitLines', () => {
  it('runs lines in order, skips blank ones, and answers a bad line without stopping', async () => {
    const printed: string[] = [];
    const submitted: unknown[] = [];
    let slot = 0;
    await submitLines({
      lines: linesOf('set x 1', '', '   ', 'frobnicate x', 'get x'),
      submit: async (op) => {
        submitted.push(op);
        slot++;
        return { status: 'applied', slot, result: slot === 1 ? 'OK' : '1', address: 'a:1' };
      },
      toOp: (words) => parseKeyValueWords(words, { jsonValue: false }),
      json: true,
      print: (line) => printed.push(line),
      warn: () => undefined,
    });
    expect(submitted).toEqual([['set', 'x', '1'], ['get', 'x']]);
    const objects = printed.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(objects[0]).toEqual({ ok: true, result: 'OK', slot: 1 });
    expect(objects[1]).toMatchObject({ ok: false, indeterminate: false, code: 'usage' });
    expect(objects[2]).toEqual({ ok: true, result: '1', slot: 2 });
  });

  it('prints text lines without --json, and the unreachable hint once', async () => {
    const printed: string[] = [];
    const warned: string[] = [];
    await submitLines({
      lines: linesOf('get x', 'get y'),
      submit: async () => unreachable,
      toOp: (words) => words,
      json: false,
      print: (line) => printed.push(line),
      warn: (line) => warned.push(line),
    });
    expect(printed).toEqual(['(error) no node reachable', '(error) no node reachable']);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toContain('npx paxos cluster start');
  });
});
