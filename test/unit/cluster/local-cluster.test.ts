// The pure parts of `paxos cluster start`: the node command lines and how a
// failed node's log line is turned into advice.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/node/runtime/log.js';
import { clusterSizeWarning, planLocalCluster, readyHint, startFailure } from '../../../src/node/runtime/local-cluster.js';

function loggedLine(format: 'json' | 'pretty', fields: Record<string, unknown>): string {
  let line = '';
  createLogger({ level: 'info', format, fields: { node: 2 }, write: (text) => (line = text.trimEnd()) }).error('could not start', fields);
  return `[n2] ${line}`;
}

describe('local cluster', () => {
  it('finds the error and code of a node\'s "could not start" line, in both log formats', () => {
    for (const format of ['pretty', 'json'] as const) {
      const line = loggedLine(format, { error: 'listen EADDRINUSE: address already in use 127.0.0.1:7402', code: 'EADDRINUSE' });
      expect(startFailure(['[n2] something else', line])).toEqual({ error: 'listen EADDRINUSE: address already in use 127.0.0.1:7402', code: 'EADDRINUSE' });
      expect(startFailure([loggedLine(format, { error: 'no such thing' })])).toEqual({ error: 'no such thing', code: null });
    }
    expect(startFailure(['[n2] an unrelated line'])).toBeNull();
  });

  it('warns of an even size, which survives no more failures than the odd size below it', () => {
    expect(clusterSizeWarning(4)).toBe('--nodes 4 survives 1 failed node (a majority of 4 is 3), no more than --nodes 3; an odd size (3 or 5) is better. Starting 4 nodes anyway.');
    expect(clusterSizeWarning(2)).toMatch(/^--nodes 2 survives 0 failed nodes \(a majority of 2 is 2\), no more than --nodes 1;/);
    for (const odd of [1, 3, 5, 15]) expect(clusterSizeWarning(odd)).toBeNull();
  });

  it('plans one node per port, each with its own data dir under --dir', () => {
    const plan = planLocalCluster({ nodes: 3, basePort: 17401, host: '127.0.0.1', dir: '/nonexistent/paxos-test', entry: '/x/bin/run.js', nodeFlags: ['--fsync', 'batch'] });
    expect(plan.addresses).toBe('127.0.0.1:17401,127.0.0.1:17402,127.0.0.1:17403');
    expect(plan.nodes.map((node) => node.dataDir)).toEqual(['/nonexistent/paxos-test/n1', '/nonexistent/paxos-test/n2', '/nonexistent/paxos-test/n3']);
    expect(plan.nodes[1].argv.slice(1)).toEqual([
      '/x/bin/run.js', 'node', 'start', '--id', '2', '--peers', '1=127.0.0.1:17401,2=127.0.0.1:17402,3=127.0.0.1:17403',
      '--data-dir', '/nonexistent/paxos-test/n2', '--fsync', 'batch', '--initial-cluster-state', 'new',
    ]);
  });

  it('starts the nodes as a new cluster only when none of the data dirs exists (a missing one beside others is a replaced disk)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'paxos-plan-'));
    try {
      const plan = () => planLocalCluster({ nodes: 3, basePort: 17401, host: '127.0.0.1', dir, entry: 'x', nodeFlags: [] });
      expect(plan().fresh).toBe(true);
      expect(plan().nodes.every((node) => node.argv.join(' ').includes('--initial-cluster-state new'))).toBe(true);
      mkdirSync(join(dir, 'n1'));
      mkdirSync(join(dir, 'n2'));
      expect(plan().fresh).toBe(false);
      expect(plan().nodes.some((node) => node.argv.includes('--initial-cluster-state'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('quotes each command line for a POSIX shell, and leaves the first-start flag out of the line to restart with', () => {
    const plan = planLocalCluster({ nodes: 1, basePort: 17401, host: '127.0.0.1', dir: "/tmp/it's a dir", entry: '/x/bin/run.js', nodeFlags: [] });
    expect(plan.nodes[0].argv).toContain('--initial-cluster-state');
    expect(plan.nodes[0].commandLine).toBe(`${process.execPath} /x/bin/run.js node start --id 1 --peers 1=127.0.0.1:17401 --data-dir '/tmp/it'\\''s a dir/n1'`);
  });

  it('hints at commands with the real addresses, and with words that fit the state machine', () => {
    const plan = (basePort: number) => planLocalCluster({ nodes: 3, basePort, host: '127.0.0.1', dir: '/nonexistent/paxos-test', entry: 'x', nodeFlags: [] });
    const hint = (basePort: number, options: { stateMachine?: string; needsExports?: boolean } = {}) =>
      readyHint(plan(basePort), { defaultAddresses: basePort === 7401, needsExports: false, command: 'npx paxos', ...options }).join('\n');
    expect(hint(7401)).toContain('  npx paxos submit set x 1\n');
    expect(hint(17401)).toContain('  npx paxos submit -c 127.0.0.1:17401,127.0.0.1:17402,127.0.0.1:17403 set x 1\n');
    expect(hint(17401)).toContain('  npx paxos status -c 127.0.0.1:17401,127.0.0.1:17402,127.0.0.1:17403');
    // With a secret or TLS the clients need the exports, which name the cluster too.
    expect(hint(17401, { needsExports: true })).toMatch(/run the export lines printed on stdout.*\n  npx paxos submit set x 1/);
    const ledger = hint(17401, { stateMachine: 'ledger.mjs' });
    expect(ledger).not.toContain('set x 1');
    expect(ledger).toContain("npx paxos submit -c 127.0.0.1:17401,127.0.0.1:17402,127.0.0.1:17403 WORD...    # the words reach ledger.mjs's apply as an array of strings");
    // Installed, the command is plain paxos (npx paxos would fetch the registry's unrelated package).
    expect(readyHint(plan(7401), { defaultAddresses: true, needsExports: false, command: 'paxos' }).slice(2)).toEqual(['  paxos submit set x 1', '  paxos status']);
  });
});
