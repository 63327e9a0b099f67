// What the `paxos member ...` commands share: --cluster, --timeout, --wait
// and the auth flags, and one way to send a change, print and exit.
import { Command, Flags } from '@oclif/core';
import type { CommandError } from '@oclif/core/interfaces';
import { applyClientAuthFlags, clientAuthFlags } from './auth-flags.js';
import { clusterFlag, clusterSettings } from './cluster-flag.js';
import { InvalidOptionError } from './errors.js';
import { changeMember, memberExitCodes, renderMemberRows, type MemberChangeRequest, type MemberChangeResult } from './members.js';
import { parseDuration, type ClusterAddress } from './options.js';

export const memberFlags = {
  ...clusterFlag,
  timeout: Flags.string({ summary: 'Limit per node, connect included.', default: '2s', helpValue: 'duration' }),
  wait: Flags.string({ summary: 'How long to wait for the change to be chosen and in effect (then exit 5).', default: '20s', helpValue: 'duration' }),
  ...clientAuthFlags,
};

export interface MemberFlagValues {
  cluster?: string;
  timeout: string;
  wait: string;
  'secret-file'?: string;
  'tls-ca'?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
}

/**
 * The auth flags applied, --cluster and --wait parsed: what a command that asks
 * the leader for a change (member, leader transfer) needs; a bad flag exits with `usageExit`.
 */
export async function leaderRequestSettings(command: Command, flags: MemberFlagValues, usageExit: number): Promise<{ addresses: ClusterAddress[]; timeoutMs: number; waitMs: number }> {
  await applyClientAuthFlags(flags).catch((error: Error) => command.error(error.message, { exit: usageExit }));
  try {
    const settings = clusterSettings(flags);
    return { addresses: settings.addresses, timeoutMs: settings.timeoutMs, waitMs: parseDuration(flags.wait) };
  } catch (error) {
    if (error instanceof InvalidOptionError) command.error(error.message, { exit: usageExit });
    throw error;
  }
}

export const memberExitText = 'Exit codes: 0 chosen and in effect; 2 usage error; 4 certainly not made (the reason is printed: a change already in flight, no leader, not caught up, too few live voters left); 5 unknown (proposed, not seen in effect in time).';

export abstract class MemberCommandBase extends Command {
  protected async sendChange(flags: MemberFlagValues, request: MemberChangeRequest): Promise<MemberChangeResult> {
    const { addresses, timeoutMs, waitMs } = await leaderRequestSettings(this, flags, memberExitCodes.usage);
    const result = await changeMember(addresses, request, { timeoutMs, waitMs });
    if (!this.jsonEnabled()) {
      (result.exitCode === 0 ? this.log.bind(this) : (line: string) => process.stderr.write(`${line}\n`))(result.message);
      if (result.members !== null) for (const line of renderMemberRows(result.members)) this.log(line);
    }
    process.exitCode = result.exitCode;
    return result;
  }

  protected override async catch(error: CommandError & { oclif?: { exit?: number } }): Promise<unknown> {
    process.exitCode ??= error.oclif?.exit ?? error.exitCode;
    return super.catch(error);
  }
}
