import { Command, Flags } from '@oclif/core';
import type { CommandError } from '@oclif/core/interfaces';
import { clientAuthFlags } from '../../client/auth-flags.js';
import { clusterFlag } from '../../client/cluster-flag.js';
import { leaderRequestSettings } from '../../client/member-flags.js';
import { transferExitCodes, transferLeader, type LeaderTransferResult } from '../../client/leader-transfer.js';

export default class LeaderTransfer extends Command {
  static override summary = 'Move leadership to another voter (etcd\'s move-leader), bounded in time; nothing chosen or acknowledged is lost.';

  static override description = `The leader stops proposing new commands (they queue), waits until the target holds every chosen slot (sending it what it lacks), then tells it to start phase 1 at once at a higher ballot. If the target does not lead within an election timeout, the old leader resumes and the transfer fails. Commands in flight meanwhile are retried by their clients (sessions keep them at most once).

Exit codes: 0 the target leads; 2 usage error; 4 certainly not transferred (the reason is printed: not a voter, no leader, a transfer already under way, the target did not catch up in time); 5 unknown (the target was told to take over but was not seen leading in time).`;

  static override examples = [
    { description: 'Hand leadership to node 2', command: '<%= config.bin %> leader transfer --to 2' },
    { description: 'To the most caught-up voter (before restarting the leader\'s machine)', command: '<%= config.bin %> leader transfer' },
    { description: 'As JSON, against a given cluster', command: '<%= config.bin %> leader transfer --to 3 --cluster 127.0.0.1:7401,127.0.0.1:7402 --json' },
  ];

  static override enableJsonFlag = true;

  static override flags = {
    to: Flags.integer({ summary: 'The voter to lead next; default: the most caught-up voter.', min: 1, helpValue: 'id' }),
    ...clusterFlag,
    timeout: Flags.string({ summary: 'Limit per node for finding the leader, connect included.', default: '2s', helpValue: 'duration' }),
    wait: Flags.string({ summary: 'How long to wait for the leader\'s answer (then exit 5); it answers within an election timeout.', default: '10s', helpValue: 'duration' }),
    ...clientAuthFlags,
  };

  async run(): Promise<LeaderTransferResult> {
    const { flags } = await this.parse(LeaderTransfer);
    const { addresses, timeoutMs, waitMs } = await leaderRequestSettings(this, flags, transferExitCodes.usage);
    const result = await transferLeader(addresses, flags.to ?? null, { timeoutMs, waitMs });
    if (!this.jsonEnabled()) {
      if (result.exitCode === 0) this.log(`leadership transferred: ${result.message}`);
      else process.stderr.write(`${result.message}\n`);
    }
    process.exitCode = result.exitCode;
    return result;
  }

  protected override async catch(error: CommandError & { oclif?: { exit?: number } }): Promise<unknown> {
    process.exitCode ??= error.oclif?.exit ?? error.exitCode;
    return super.catch(error);
  }
}
