import { Flags } from '@oclif/core';
import { MemberCommandBase, memberExitText, memberFlags } from '../../client/member-flags.js';
import type { MemberChangeResult } from '../../client/members.js';
import { formatAddress, parseAddress, resolveCluster } from '../../client/options.js';

export default class MemberAdd extends MemberCommandBase {
  static override summary = 'Add a member at an address, as a voter (or --learner), through the log.';

  static override description = `The leader proposes the change; it takes effect a window of slots later. The new member is named with no incarnation yet: the first data dir that joins from that id is bound to it once it has caught up (until then it counts as a dead voter, so adding a voter to three makes four with one not yet alive: prefer --learner, then \`paxos member promote\`). Prints the \`paxos node start --join ...\` line to run on the new machine.

${memberExitText}`;

  static override examples = [
    '<%= config.bin %> member add --id 4 --address 127.0.0.1:7404 --learner',
    '<%= config.bin %> member add --id 4 --address 10.0.0.4:7401',
  ];

  static override enableJsonFlag = true;

  static override flags = {
    id: Flags.integer({ summary: 'The new member\'s node id.', required: true, min: 1 }),
    address: Flags.string({ summary: 'Where it listens (HOST:PORT); the members dial it there.', required: true, helpValue: 'host:port' }),
    learner: Flags.boolean({ summary: 'Add it as a learner: it catches up and never votes until promoted.' }),
    ...memberFlags,
  };

  async run(): Promise<MemberChangeResult> {
    const { flags } = await this.parse(MemberAdd);
    try {
      parseAddress(flags.address);
    } catch (error) {
      this.error((error as Error).message, { exit: 2 });
    }
    const result = await this.sendChange(flags, { action: 'add', node: flags.id, address: flags.address, learner: flags.learner === true, force: false });
    if (result.exitCode === 0 && !this.jsonEnabled()) {
      const join = resolveCluster(flags.cluster).map(formatAddress).join(',');
      this.log(`on the new machine: paxos node start --id ${flags.id} --join ${join} --listen ${flags.address} --data-dir DIR`);
    }
    return result;
  }
}
