import { Command, Flags } from '@oclif/core';
import { PaxosClient } from '../client/client.js';
import { InvalidOptionError } from '../client/errors.js';
import { discoverStatuses } from '../client/discovery.js';
import { formatAddress, parseDuration, resolveCluster, type ClusterAddress } from '../client/options.js';
import { applyClientAuthFlags, clientAuthFlags } from '../client/auth-flags.js';
import { clusterFlag } from '../client/cluster-flag.js';

/** Faster than this, polling itself becomes load on the nodes, and nobody reads the screen that fast. */
const intervalMsMin = 100;

export default class Top extends Command {
  static override summary = 'Live dashboard of the cluster: roles, slots, lag, throughput, commit latency, events.';

  static override description = `Polls every node about once a second and draws a full-screen table: one row per node with its role, ballot, chosen and applied slots, lag, ops/s with a trend, p50/p99 commit latency (at the leader), WAL size and links to the other nodes. The leader is green and starred, lagging nodes yellow, down nodes red. Below, the events seen between polls: leader changes, nodes going down and coming back, restarts, snapshots.

Keys: q quits, p pauses (and resumes). The terminal is restored on exit. stdout must be a terminal; for scripts use \`paxos status --json\`.`;

  static override examples = [
    { description: 'The default local cluster.', command: '<%= config.bin %> top' },
    { description: 'Another cluster, polled every 2 seconds.', command: '<%= config.bin %> top -c 10.0.0.1:7401,10.0.0.2:7401,10.0.0.3:7401 --interval 2s' },
  ];

  static override flags = {
    ...clusterFlag,
    interval: Flags.string({ summary: 'Time between polls (at least 100ms).', default: '1s', helpValue: 'duration' }),
    timeout: Flags.string({ summary: 'Limit per node and poll, connect included; a node that misses it is shown down.', default: '1s', helpValue: 'duration' }),
    ...clientAuthFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Top);
    // Flags first: a usage error is exit 2 wherever stdout goes.
    const { addresses, intervalMs, timeoutMs } = this.settings(flags);
    await applyClientAuthFlags(flags).catch((error: Error) => this.error(error.message, { exit: 2 }));
    if (process.stdout.isTTY !== true) {
      this.error('paxos top draws a live screen and needs a terminal, but stdout is not one. For scripts, use `paxos status --json`.', { exit: 1 });
    }
    const client = new PaxosClient({ addresses, timeoutMs, statusTimeoutMs: timeoutMs, connectTimeoutMs: timeoutMs });
    // From any one address, every member (the configuration names them), as `paxos status` does.
    const fetchStatus = () => discoverStatuses(addresses.map(formatAddress), (address) => client.status(address));
    const { runFullScreen, TopApp } = await loadInk();
    try {
      await runFullScreen(<TopApp fetchStatus={fetchStatus} intervalMs={intervalMs} interactive={process.stdin.isTTY === true} />);
    } finally {
      client.close();
    }
  }

  private settings(flags: { cluster?: string; interval: string; timeout: string }): { addresses: ClusterAddress[]; intervalMs: number; timeoutMs: number } {
    try {
      const intervalMs = parseDuration(flags.interval);
      const timeoutMs = parseDuration(flags.timeout);
      if (intervalMs < intervalMsMin) throw new InvalidOptionError(`--interval must be at least ${intervalMsMin}ms`);
      if (timeoutMs === 0) throw new InvalidOptionError('--timeout must be more than 0');
      return { addresses: resolveCluster(flags.cluster), intervalMs, timeoutMs };
    } catch (error) {
      if (error instanceof InvalidOptionError) this.error(error.message, { exit: 2 });
      throw error;
    }
  }
}

/**
 * ink decides when it is loaded whether it runs under CI (from $CI), and then
 * draws only the last frame: wrong here, where stdout was just checked to be a
 * terminal someone is looking at. So clear the hint first, then load ink.
 */
async function loadInk(): Promise<typeof import('../ui/full-screen.js') & typeof import('../ui/top/TopApp.js')> {
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  const [screen, app] = await Promise.all([import('../ui/full-screen.js'), import('../ui/top/TopApp.js')]);
  return { ...screen, ...app };
}
