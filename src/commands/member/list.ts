import { Command } from '@oclif/core';
import { applyClientAuthFlags } from '../../client/auth-flags.js';
import { clusterSettings } from '../../client/cluster-flag.js';
import { InvalidOptionError } from '../../client/errors.js';
import { memberFlags } from '../../client/member-flags.js';
import { listMembers, memberExitCodes, renderMemberRows, type MemberRow } from '../../client/members.js';

export default class MemberList extends Command {
  static override summary = 'List the members (voters and learners) as the leader sees them, from any one address.';

  static override description = `Finds the leader from the addresses given (or the node they name as leader) and prints its configuration: id, address, voter or learner, whether the leader hears that incarnation, the slot it has caught up to, its lag, and the leader mark.

Exit codes: 0 listed; 4 no leader answered.`;

  static override examples = ['<%= config.bin %> member list', '<%= config.bin %> member list -c 127.0.0.1:7401 --json'];

  static override enableJsonFlag = true;

  static override flags = { ...memberFlags };

  async run(): Promise<MemberRow[]> {
    const { flags } = await this.parse(MemberList);
    await applyClientAuthFlags(flags).catch((error: Error) => this.error(error.message, { exit: 2 }));
    let settings;
    try {
      settings = clusterSettings(flags);
    } catch (error) {
      if (error instanceof InvalidOptionError) this.error(error.message, { exit: memberExitCodes.usage });
      throw error;
    }
    const rows = await listMembers(settings.addresses, settings.timeoutMs);
    if (rows === null) {
      process.stderr.write('no leader answered at the cluster addresses (is a majority of the voters up?)\n');
      process.exitCode = memberExitCodes.notMade;
      return [];
    }
    if (!this.jsonEnabled()) for (const line of renderMemberRows(rows)) this.log(line);
    return rows;
  }
}
