import { Command, Flags } from '@oclif/core';
import type { CommandError } from '@oclif/core/interfaces';
import { PaxosClient } from '../client/client.js';
import { InvalidOptionError } from '../client/errors.js';
import { clusterFlag, clusterSettings, type ClusterSettings } from '../client/cluster-flag.js';
import { renderStatusTable, statusRows, type StatusRow } from '../client/status-report.js';
import { submitExitCodes, unreachableHint } from '../client/submit-report.js';
import { applyClientAuthFlags, clientAuthFlags } from '../client/auth-flags.js';

export default class Status extends Command {
  static override summary = 'Show every node of the cluster: role, leader, ballot, slots, lag, WAL size, uptime.';

  static override description = `Asks each node once, in parallel, and prints one row per node. CHOSEN is the node's commit index (every slot up to it is chosen), APPLIED the last slot it applied, LAG the highest commit index any node reported minus APPLIED. Unreachable nodes are listed with the reason.

With --json, each reachable node's object also carries \`metrics\`: throughput, commit latency (p50/p99/max and a histogram), fsync rate and time, leader changes and traffic per peer.

Exit codes: 0 when at least one node answered; 4 when none did.`;

  static override examples = [
    { description: 'The default local cluster.', command: '<%= config.bin %> status' },
    { description: 'As JSON, e.g. to find the leader.', command: '<%= config.bin %> status --json | jq \'.[] | select(.role == "leader") | .address\'' },
    { description: 'Another cluster, with a shorter per-node limit.', command: '<%= config.bin %> status -c 10.0.0.1:7401,10.0.0.2:7401 --timeout 500ms' },
  ];

  static override enableJsonFlag = true;

  static override flags = {
    ...clusterFlag,
    timeout: Flags.string({ summary: 'Limit per node, connect included (500ms, 2s).', default: '2s', helpValue: 'duration' }),
    ...clientAuthFlags,
  };

  async run(): Promise<StatusRow[]> {
    const { flags } = await this.parse(Status);
    const { addresses, timeoutMs } = this.settings(flags);
    await applyClientAuthFlags(flags).catch((error: Error) => this.error(error.message, { exit: 2 }));
    const client = new PaxosClient({ addresses, timeoutMs, statusTimeoutMs: timeoutMs });
    let rows: StatusRow[];
    try {
      rows = statusRows(await client.statusAll());
    } finally {
      client.close();
    }
    if (!this.jsonEnabled()) for (const line of renderStatusTable(rows)) this.log(line);
    if (rows.some((row) => row.reachable)) return rows;
    // stderr directly: oclif's logToStderr is silent under --json, and the hint matters most to a person.
    process.stderr.write(`hint: no node answered. ${unreachableHint}\n`);
    // this.exit would make oclif print an error object instead of the rows under --json; set the code instead.
    process.exitCode = submitExitCodes.notApplied;
    return rows;
  }

  /**
   * Under --json, oclif's catch exits 1 whatever the error's own exit code: keep
   * ours (2 for a bad flag value) so scripts can tell usage errors apart.
   */
  protected override async catch(error: CommandError & { oclif?: { exit?: number } }): Promise<unknown> {
    process.exitCode ??= error.oclif?.exit ?? error.exitCode;
    return super.catch(error);
  }

  private settings(flags: { cluster?: string; timeout: string }): ClusterSettings {
    try {
      return clusterSettings(flags);
    } catch (error) {
      if (error instanceof InvalidOptionError) this.error(error.message, { exit: 2 });
      throw error;
    }
  }
}
