import { Args, Flags } from '@oclif/core';
import { MemberCommandBase, memberExitText, memberFlags } from '../../client/member-flags.js';
import type { MemberChangeResult } from '../../client/members.js';
import { parseAddress } from '../../client/options.js';

export default class MemberReplace extends MemberCommandBase {
  static override summary = 'Replace a dead machine or a wiped disk: the member is named anew, at the same or a new address.';

  static override description = `The member keeps its id and role; its old incarnation becomes a dead acceptor, and the first data dir that joins under that id (\`paxos node start --join\`) is bound to it once caught up. Refused when the other voters are not a live majority, unless --force. A wiped disk at the same address needs nothing of this: the leader replaces it by itself (see docs/membership.md).

${memberExitText}`;

  static override examples = ['<%= config.bin %> member replace 3 --address 127.0.0.1:7413'];

  static override enableJsonFlag = true;

  static override args = { id: Args.integer({ description: 'the member\'s node id', required: true, min: 1 }) };

  static override flags = {
    address: Flags.string({ summary: 'The new address (default: the same).', helpValue: 'host:port' }),
    force: Flags.boolean({ summary: 'Replace it even if the other voters have no live majority now.' }),
    ...memberFlags,
  };

  async run(): Promise<MemberChangeResult> {
    const { args, flags } = await this.parse(MemberReplace);
    if (flags.address !== undefined) {
      try {
        parseAddress(flags.address);
      } catch (error) {
        this.error((error as Error).message, { exit: 2 });
      }
    }
    return this.sendChange(flags, { action: 'replace', node: args.id, address: flags.address ?? null, learner: false, force: flags.force === true });
  }
}
