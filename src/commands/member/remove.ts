import { Args, Flags } from '@oclif/core';
import { MemberCommandBase, memberExitText, memberFlags } from '../../client/member-flags.js';
import type { MemberChangeResult } from '../../client/members.js';

export default class MemberRemove extends MemberCommandBase {
  static override summary = 'Remove a member through the log; a removed leader steps down once the change is in effect.';

  static override description = `Refused (exit 4) when the voters left would not include a live majority (as the leader hears them), unless --force. A removed node stops hearing from the cluster and stays quiet.

${memberExitText}`;

  static override examples = ['<%= config.bin %> member remove 4'];

  static override enableJsonFlag = true;

  static override args = { id: Args.integer({ description: 'the member\'s node id', required: true, min: 1 }) };

  static override flags = {
    force: Flags.boolean({ summary: 'Remove it even if the voters left have no live majority now.' }),
    ...memberFlags,
  };

  async run(): Promise<MemberChangeResult> {
    const { args, flags } = await this.parse(MemberRemove);
    return this.sendChange(flags, { action: 'remove', node: args.id, address: null, learner: false, force: flags.force === true });
  }
}
