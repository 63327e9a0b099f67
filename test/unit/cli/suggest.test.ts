// Suggestions for mistyped commands and flags: close typos are placed, unrelated
// words are not, and a command given words it does not take says which.
import { describe, expect, it } from 'vitest';
import { closest, editDistance, explainUnknownCommand, suggestFlag, withFlagSuggestions, type CommandNames } from '../../../src/cli/suggest.js';

const names: CommandNames = {
  commandIds: ['bench', 'check', 'cluster:start', 'fault:delay', 'fault:drop', 'fault:heal', 'fault:partition', 'help', 'log:inspect', 'node:start', 'status', 'submit', 'top'],
  topicIds: ['cluster', 'fault', 'log', 'node'],
  bin: 'paxos',
};

describe('editDistance', () => {
  it('counts additions, removals, changes, and a swap of neighbours as one', () => {
    expect(editDistance('status', 'status')).toBe(0);
    expect(editDistance('statu', 'status')).toBe(1);
    expect(editDistance('stauts', 'status')).toBe(1);
    expect(editDistance('jsno', 'json')).toBe(1);
    expect(editDistance('', 'top')).toBe(3);
    expect(editDistance('stop', 'start')).toBe(3);
  });
});

describe('closest', () => {
  it('allows one edit per three letters, and always one', () => {
    expect(closest('stats', ['status', 'submit'])).toBe('status');
    expect(closest('tpo', ['top'])).toBe('top');
    expect(closest('xyz', ['top'])).toBeNull();
    expect(closest('stop', ['start'])).toBeNull();
    expect(closest('DATA-DIR', ['data-dir'])).toBe('data-dir');
  });
});

describe('explainUnknownCommand', () => {
  it('names the words a command without arguments was given', () => {
    expect(explainUnknownCommand('status:extra', names)).toEqual({
      message: 'Unexpected argument: extra. paxos status takes no arguments; see paxos status --help',
      exit: 2,
    });
    expect(explainUnknownCommand('node:start:now:please', names).message).toMatch(/^Unexpected arguments: now please\. paxos node start takes no arguments/);
  });

  it('suggests the command a typo meant, word by word', () => {
    expect(explainUnknownCommand('stauts', names).message).toBe('Unknown command: stauts. Did you mean paxos status? (paxos --help lists every command)');
    expect(explainUnknownCommand('node:strat', names).message).toMatch(/Did you mean paxos node start\?/);
    expect(explainUnknownCommand('lgo:inspect', names).message).toMatch(/Did you mean paxos log inspect\?/);
    expect(explainUnknownCommand('sumbit:set:x', names).message).toMatch(/Did you mean paxos submit\?/);
    expect(explainUnknownCommand('hlep', names).message).toMatch(/Did you mean paxos help\?/);
  });

  it('lists a topic\'s commands, or the commands a lone last word ends, when no typo fits', () => {
    expect(explainUnknownCommand('node:stop', names).message).toBe('Unknown command: node stop. The node commands: paxos node start');
    expect(explainUnknownCommand('start', names).message).toBe('Unknown command: start. Did you mean paxos cluster start or paxos node start?');
    expect(explainUnknownCommand('frobnicate', names)).toEqual({ message: 'Unknown command: frobnicate. paxos --help lists every command', exit: 2 });
  });
});

describe('flag suggestions', () => {
  const flags = [{ name: 'json' }, { name: 'timeout' }, { name: 'cluster', char: 'c' }, { name: 'verify', allowNo: true }, { name: 'unsafe-local-reads', hidden: true }];

  it('places a typo of a flag, its --no- form or --help, whatever its dashes or value', () => {
    expect(suggestFlag('--jsno', flags)).toBe('--json');
    expect(suggestFlag('-json', flags)).toBe('--json');
    expect(suggestFlag('--tiemout=5s', flags)).toBe('--timeout');
    expect(suggestFlag('--no-verfy', flags)).toBe('--no-verify');
    expect(suggestFlag('--hlep', flags)).toBe('--help');
  });

  it('guesses nothing for a short flag, an unrelated word or a hidden flag', () => {
    expect(suggestFlag('-x', flags)).toBeNull();
    expect(suggestFlag('--frobnicate', flags)).toBeNull();
    expect(suggestFlag('--unsafe-local-read', flags)).toBeNull();
  });

  it('rewrites only the first line of oclif\'s message', () => {
    expect(withFlagSuggestions('Nonexistent flag: --jsno\nSee more help with --help', ['--jsno'], flags)).toBe(
      'Nonexistent flag: --jsno (did you mean --json?)\nSee more help with --help',
    );
    expect(withFlagSuggestions('Nonexistent flags: --jsno, -x\nSee more help with --help', ['--jsno', '-x'], flags)).toBe(
      'Nonexistent flags: --jsno (did you mean --json?), -x\nSee more help with --help',
    );
  });
});
