import { Args } from '@oclif/core';
import { MemberCommandBase, memberExitText, memberFlags } from '../../client/member-flags.js';
import type { MemberChangeResult } from '../../client/members.js';

export default class MemberPromote extends MemberCommandBase {
  static override summary = 'Make a learner a voter, once it has caught up.';

  static override description = `Refused (exit 4, with why) until the learner answers the leader and has caught up to within a catch-up batch of the leader's commit index.

${memberExitText}`;

  static override examples = ['<%= config.bin %> member promote 4'];

  static override enableJsonFlag = true;

  static override args = { id: Args.integer({ description: 'the learner\'s node id', required: true, min: 1 }) };

  static override flags = { ...memberFlags };

  async run(): Promise<MemberChangeResult> {
    const { args, flags } = await this.parse(MemberPromote);
    return this.sendChange(flags, { action: 'promote', node: args.id, address: null, learner: false, force: false });
  }
}
