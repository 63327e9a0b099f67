import { Command, Flags } from '@oclif/core';
import type { CommandError } from '@oclif/core/interfaces';
import { PaxosClient } from '../client/client.js';
import { InvalidOptionError } from '../client/errors.js';
import { clusterFlag, clusterSettings, type ClusterSettings } from '../client/cluster-flag.js';
import { digestWarning, renderStatusTable, statusRows, type StatusRow } from '../client/status-report.js';
import { discoverStatuses } from '../client/discovery.js';
import { formatAddress } from '../client/options.js';
import { submitExitCodes, unreachableHint } from '../client/submit-report.js';
import { applyClientAuthFlags, clientAuthFlags } from '../client/auth-flags.js';

export default class Status extends Command {
  static override summary = 'Show every node of the cluster: role, leader, ballot, slots, lag, WAL size, uptime.';

  static override description = `Asks each node once, in parallel, and prints one row per node: the addresses given, then every member the leader's configuration names at another address (so one address is enough). MEMBER is the node's place in its own configuration (voter, learner, none), CONFIG the slot that configuration governs from; a ! after MEMBER marks a node whose view of the members disagrees with the leader's (another cluster, removed, a replaced data dir), with a warning under the table saying why and what to do. CHOSEN is the node's commit index (every slot up to it is chosen), APPLIED the last slot it applied, LAG the highest commit index any node reported minus APPLIED. Unreachable nodes are listed with the reason.

Nodes that applied the same slot are compared by their applied digest (a hash chain over every applied command and its result): APPLIED is marked with ! on a node whose digest differs from the others' at that slot, and a warning under the table says the state machine is not deterministic (--json: "digestDiffers": true; the warning goes to stderr).

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
      // From any one address, every member: the addresses given, then each member the leader's configuration names elsewhere.
      rows = statusRows(await discoverStatuses(addresses.map(formatAddress), (address) => client.status(address)));
    } finally {
      client.close();
    }
    if (!this.jsonEnabled()) for (const line of renderStatusTable(rows)) this.log(line);
    else {
      // The table carries it; under --json the rows say digestDiffers, and a person reading stderr is told.
      const warning = digestWarning(rows);
      if (warning !== null) process.stderr.write(`${warning}\n`);
    }
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
