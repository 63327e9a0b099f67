// What the four `paxos fault ...` commands share: the flags after their own
// (--cluster, --timeout, --secret-file, --tls-*), and one way to read them, ask
// the node(s), print and exit, so that each command only says which fault it
// means. Usage errors (bad flag values, unreadable secret or TLS files) exit 2.
import { Command, Flags } from '@oclif/core';
import type { CommandError } from '@oclif/core/interfaces';
import { applyClientAuthFlags, clientAuthFlags } from './auth-flags.js';
import { clusterFlag, clusterSettings, type ClusterSettings } from './cluster-flag.js';
import { InvalidOptionError } from './errors.js';
import { faultExitCode, healAll, renderFaultResults, sendFault, type FaultCommand, type FaultResult } from './faults.js';
import type { NodeId } from '../node/core/messages.js';

/** Spread after a fault command's own flags: the order is the one --help shows. */
export const faultFlags = {
  ...clusterFlag,
  timeout: Flags.string({ summary: 'Limit per node, connect included.', default: '2s', helpValue: 'duration' }),
  ...clientAuthFlags,
};

/** The values of `faultFlags` as oclif parses them. */
export interface FaultFlagValues {
  cluster?: string;
  timeout: string;
  'secret-file'?: string;
  'tls-ca'?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
}

/** One fault for one node, or (node undefined, heal only) for every node at the cluster addresses. */
export interface FaultTarget {
  node: NodeId | undefined;
  command: FaultCommand;
}

/** The base of every `paxos fault` command: `run()` parses, then calls `sendFaultCommand`. */
export abstract class FaultCommandBase extends Command {
  /**
   * Applies the auth flags, reads the cluster settings, asks `target` what to
   * send (it may throw InvalidOptionError on a bad argument), sends it, prints
   * one line per node unless --json, and sets the exit code.
   */
  protected async sendFaultCommand(flags: FaultFlagValues, target: () => FaultTarget): Promise<FaultResult[]> {
    await applyClientAuthFlags(flags).catch((error: Error) => this.error(error.message, { exit: 2 }));
    let settings: ClusterSettings;
    let fault: FaultTarget;
    try {
      settings = clusterSettings(flags);
      fault = target();
    } catch (error) {
      if (error instanceof InvalidOptionError) this.error(error.message, { exit: 2 });
      throw error;
    }
    const results = await send(settings, fault);
    if (!this.jsonEnabled()) for (const line of renderFaultResults(results)) this.log(line);
    process.exitCode = faultExitCode(results);
    return results;
  }

  /** Under --json, oclif's catch exits 1 whatever the error's own code: keep ours (2 for usage). */
  protected override async catch(error: CommandError & { oclif?: { exit?: number } }): Promise<unknown> {
    process.exitCode ??= error.oclif?.exit ?? error.exitCode;
    return super.catch(error);
  }
}

async function send(settings: ClusterSettings, fault: FaultTarget): Promise<FaultResult[]> {
  if (fault.node !== undefined) return [await sendFault(settings.addresses, fault.node, fault.command, settings.timeoutMs)];
  // Only a heal may go to every node: a fault for all of them at once is not one any command offers.
  if (fault.command.action !== 'heal') throw new Error(`a ${fault.command.action} fault needs a node`);
  return healAll(settings.addresses, settings.timeoutMs);
}
