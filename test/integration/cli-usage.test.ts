// A new user's first command lines, through the built binary: help in every
// spelling, and usage errors (exit 2) that say what was probably meant.
import { describe, expect, it } from 'vitest';
import { runCli } from './support.js';

/** oclif prints errors as ` ›   Error: ...` wrapped to the terminal: one line, for matching. */
function oneLine(stderr: string): string {
  return stderr.replace(/\n ›\s+/g, ' ').replace(/\s+/g, ' ');
}

describe('help', () => {
  it('paxos help, paxos -h and paxos --help all show the root help', async () => {
    const [word, short, long] = await Promise.all([runCli(['help']), runCli(['-h']), runCli(['--help'])]);
    for (const result of [word, short, long]) {
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('$ paxos [COMMAND]');
      expect(result.stdout).toMatch(/^TOPICS$/m);
      expect(result.stdout).toMatch(/^ {2}submit /m);
    }
    expect(short.stdout).toBe(long.stdout);
    expect(word.stdout).toBe(long.stdout);
  });

  it('paxos help node start and paxos node start -h show that command\'s help', async () => {
    const [word, short] = await Promise.all([runCli(['help', 'node', 'start']), runCli(['node', 'start', '-h'])]);
    for (const result of [word, short]) {
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('$ paxos node start --id <value> --data-dir <value> [--peers <value>]');
    }
    expect(word.stdout).toBe(short.stdout);
  });

  it('paxos help help shows the help command\'s own help', async () => {
    const result = await runCli(['help', 'help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('$ paxos help [COMMAND...]');
    expect(result.stdout).not.toMatch(/^TOPICS$/m);
  });

  it('paxos help of an unknown command is a usage error with a suggestion', async () => {
    const result = await runCli(['help', 'stauts']);
    expect(result.code).toBe(2);
    expect(oneLine(result.stderr)).toContain('Unknown command: stauts. Did you mean paxos status?');
  });
});

describe('usage errors', () => {
  it('a mistyped command suggests the closest one', async () => {
    const [typo, topic] = await Promise.all([runCli(['stauts']), runCli(['node', 'strat', '--id', '1'])]);
    expect(typo.code).toBe(2);
    expect(oneLine(typo.stderr)).toContain('Unknown command: stauts. Did you mean paxos status?');
    expect(topic.code).toBe(2);
    expect(oneLine(topic.stderr)).toContain('Unknown command: node strat. Did you mean paxos node start?');
  });

  it('a mistyped flag suggests the closest flag of that command', async () => {
    const [status, cluster] = await Promise.all([runCli(['status', '--jsno']), runCli(['cluster', 'start', '--nodse', '3'])]);
    expect(status.code).toBe(2);
    expect(oneLine(status.stderr)).toContain('Nonexistent flag: --jsno (did you mean --json?)');
    expect(cluster.code).toBe(2);
    expect(oneLine(cluster.stderr)).toContain('Nonexistent flag: --nodse (did you mean --nodes?)');
  });

  it('a word after a command that takes none names the extra argument', async () => {
    const [one, two] = await Promise.all([runCli(['status', 'extra']), runCli(['node', 'start', 'now', '--id', '1'])]);
    expect(one.code).toBe(2);
    expect(oneLine(one.stderr)).toContain('Unexpected argument: extra. paxos status takes no arguments; see paxos status --help');
    expect(one.stderr).not.toContain('status:extra');
    expect(two.code).toBe(2);
    expect(oneLine(two.stderr)).toContain('Unexpected argument: now. paxos node start takes no arguments');
  });
});
