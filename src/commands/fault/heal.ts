import { Command, Flags } from '@oclif/core';
import type { CommandError } from '@oclif/core/interfaces';
import { InvalidOptionError } from '../../client/errors.js';
import { applyClientAuthFlags, clientAuthFlags } from '../../client/auth-flags.js';
import { faultExitCode, faultSettings, healAll, renderFaultResults, sendFault, type FaultResult } from '../../client/faults.js';

export default class FaultHeal extends Command {
  static override summary = 'Remove every injected fault (partitions, delays, drops) from one node or all.';

  static override description = `Without --node, asks every node at the cluster addresses; with --node, only that one. Messages still held by a delay are delivered in order; nothing already dropped comes back (Paxos resends what matters).

Exit codes: 0 healed; 1 refused by a node (e.g. started without --enable-faults); 2 usage error; 4 a node not reachable.`;

  static override examples = [
    { description: 'Heal the whole cluster.', command: '<%= config.bin %> fault heal' },
    { description: 'Heal node 2 only.', command: '<%= config.bin %> fault heal --node 2' },
    { description: 'As JSON: one result per node.', command: '<%= config.bin %> fault heal --json' },
  ];

  static override enableJsonFlag = true;

  static override flags = {
    node: Flags.integer({ char: 'n', summary: 'Heal only this node.', min: 1, helpValue: 'ID' }),
    cluster: Flags.string({
      char: 'c',
      summary: 'Cluster addresses; default $PAXOS_CLUSTER, else 127.0.0.1:7401,127.0.0.1:7402,127.0.0.1:7403.',
      helpValue: 'host:port,...',
    }),
    timeout: Flags.string({ summary: 'Limit per node, connect included.', default: '2s', helpValue: 'duration' }),
    ...clientAuthFlags,
  };

  async run(): Promise<FaultResult[]> {
    const { flags } = await this.parse(FaultHeal);
    await applyClientAuthFlags(flags).catch((error: Error) => this.error(error.message, { exit: 2 }));
    let settings;
    try {
      settings = faultSettings(flags);
    } catch (error) {
      if (error instanceof InvalidOptionError) this.error(error.message, { exit: 2 });
      throw error;
    }
    const heal = { action: 'heal' as const, nodes: [], delayMs: 0, rate: 0 };
    const results =
      flags.node === undefined
        ? await healAll(settings.addresses, settings.timeoutMs)
        : [await sendFault(settings.addresses, flags.node, heal, settings.timeoutMs)];
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
