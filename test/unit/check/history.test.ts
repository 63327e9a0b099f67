// Reading SPEC's history format: what a good history turns into, and a clear
// error naming the line for every way a history can break the format.
import { describe, expect, it } from 'vitest';
import { HistoryParseError, parseHistory, parseHistoryLines } from '../../../src/check/index.js';

const lines = (...events: object[]): string => events.map((event) => JSON.stringify(event)).join('\n');

describe('parseHistory', () => {
  it('joins each invocation with its completion, in invocation order', () => {
    const operations = parseHistory(lines(
      { process: 3, type: 'invoke', f: 'write', key: 'x', value: '5', time: 10 },
      { process: 4, type: 'invoke', f: 'read', key: 'x', value: null, time: 11 },
      { process: 3, type: 'ok', f: 'write', key: 'x', value: '5', time: 12 },
      { process: 4, type: 'ok', f: 'read', key: 'x', value: '5', time: 13 },
      { process: 3, type: 'invoke', f: 'cas', key: 'x', value: ['5', '6'], time: 14 },
      { process: 3, type: 'fail', time: 15 },
    ));
    expect(operations).toEqual([
      { process: 3, f: 'write', key: 'x', value: '5', outcome: 'ok', invokeTime: 10, completeTime: 12, invokeLine: 1, completeLine: 3 },
      { process: 4, f: 'read', key: 'x', value: '5', outcome: 'ok', invokeTime: 11, completeTime: 13, invokeLine: 2, completeLine: 4 },
      { process: 3, f: 'cas', key: 'x', value: ['5', '6'], outcome: 'fail', invokeTime: 14, completeTime: 15, invokeLine: 5, completeLine: 6 },
    ]);
  });

  it('reads a read of a missing key (value null or absent) as null, and skips blank lines', () => {
    const operations = parseHistory(`${lines({ process: 0, type: 'invoke', f: 'read', key: 'x', time: 1 })}\n\n${lines({ process: 0, type: 'ok', time: 2 })}\n`);
    expect(operations[0]).toMatchObject({ value: null, outcome: 'ok', completeLine: 3 });
  });

  it('counts an operation still in flight at the end as info', () => {
    const operations = parseHistory(lines({ process: 0, type: 'invoke', f: 'write', key: 'x', value: '1', time: 1 }));
    expect(operations[0]).toMatchObject({ outcome: 'info', completeTime: null, completeLine: null });
  });

  it('accepts string process names and keeps info completions', () => {
    const operations = parseHistory(lines(
      { process: 'c1', type: 'invoke', f: 'write', key: 'x', value: 1, time: 1 },
      { process: 'c1', type: 'info', time: 9 },
    ));
    expect(operations[0]).toMatchObject({ process: 'c1', outcome: 'info', completeTime: 9 });
  });

  it('reads a stream line by line', async () => {
    async function* stream(): AsyncGenerator<string> {
      yield JSON.stringify({ process: 0, type: 'invoke', f: 'write', key: 'x', value: '1', time: 1 });
      yield JSON.stringify({ process: 0, type: 'ok', time: 2 });
    }
    expect(await parseHistoryLines(stream())).toHaveLength(1);
  });
});

describe('parse errors name the line', () => {
  const invoke = { process: 1, type: 'invoke', f: 'write', key: 'x', value: '1', time: 5 };
  const cases: [string, string, RegExp][] = [
    ['bad JSON', `${JSON.stringify(invoke)}\n{"process":1,`, /^line 2: not valid JSON/],
    ['not an object', '[1,2]', /^line 1: each line must be a JSON object, got \[1,2\]/],
    ['unknown type', lines({ ...invoke, type: 'done' }), /^line 1: "type" must be one of invoke, ok, fail, info, got "done"/],
    ['unknown f', lines({ ...invoke, f: 'incr' }), /^line 1: "f" must be one of read, write, cas, got "incr"/],
    ['missing key', lines({ ...invoke, key: undefined }), /^line 1: "key" must be a string, got nothing/],
    ['bad process', lines({ ...invoke, process: 1.5 }), /^line 1: "process" must be an integer/],
    ['bad time', lines({ ...invoke, time: '5' }), /^line 1: "time" must be an integer/],
    ['time beyond 2^53', lines({ ...invoke, time: 2 ** 60 }), /^line 1: "time" must be an integer below 2\^53/],
    ['write without value', lines({ ...invoke, value: undefined }), /^line 1: a write needs a "value"/],
    ['cas value not a pair', lines({ ...invoke, f: 'cas', value: ['1'] }), /^line 1: a cas "value" must be \[expected, new\]/],
    ['completion without invoke', lines(invoke, { process: 2, type: 'ok', time: 6 }), /^line 2: a completion \("ok"\) for process 2, which has no operation in flight/],
    ['second invoke in flight', lines(invoke, { ...invoke, time: 6 }), /^line 2: process 1 invokes again while its operation from line 1 is in flight/],
    ['completion of another f', lines(invoke, { process: 1, type: 'ok', f: 'read', time: 6 }), /^line 2: completion has "f" "read" but the invocation on line 1 is a write/],
    ['completion of another key', lines(invoke, { process: 1, type: 'ok', key: 'y', time: 6 }), /^line 2: completion has "key" "y" but the invocation on line 1 is on "x"/],
    ['time going back', lines(invoke, { process: 1, type: 'ok', time: 4 }), /^line 2: time 4 of process 1 is before its previous event's time 5/],
  ];

  it.each(cases)('%s', (_, text, message) => {
    let caught: unknown;
    try {
      parseHistory(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(HistoryParseError);
    expect((caught as HistoryParseError).message).toMatch(message);
    expect((caught as HistoryParseError).code).toBe('history_parse');
  });
});
