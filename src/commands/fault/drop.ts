import { Args, Command, Flags } from '@oclif/core';
import type { CommandError } from '@oclif/core/interfaces';
import { InvalidOptionError } from '../../client/errors.js';
import { applyClientAuthFlags, clientAuthFlags } from '../../client/auth-flags.js';
import { faultExitCode, faultSettings, parseDropRate, parseNodeIds, renderFaultResults, sendFault, type FaultResult } from '../../client/faults.js';

export default class FaultDrop extends Command {
  static override summary = 'Lose a fraction of a node\'s messages at random (nodes started with --enable-faults only).';

  static override description = `Each message node --node sends to, or receives from, the peers in --to (default: all of them) is dropped with probability RATE: a lossy link. RATE is a fraction (0.2) or a percentage (20%); 0 stops dropping, 1 drops everything (a partition in all but name).

Exit codes: 0 applied; 1 refused by the node; 2 usage error; 4 node not reachable.`;

  static override examples = [
    { description: 'Lose 20% of node 1\'s traffic with every peer.', command: '<%= config.bin %> fault drop --node 1 0.2' },
    { description: 'A lossy link between nodes 2 and 3 only.', command: '<%= config.bin %> fault drop --node 2 --to 3 50%' },
    { description: 'Stop dropping.', command: '<%= config.bin %> fault drop --node 1 0' },
  ];

  static override enableJsonFlag = true;

  static override args = {
    rate: Args.string({ description: 'Fraction of messages to drop: 0.2 or 20%.', required: true }),
  };

  static override flags = {
    node: Flags.integer({ char: 'n', summary: 'The node whose traffic is thinned.', required: true, min: 1, helpValue: 'ID' }),
    to: Flags.string({ summary: 'Only traffic with these peers (default: every peer).', helpValue: 'ID,...' }),
    cluster: Flags.string({
      char: 'c',
      summary: 'Cluster addresses; default $PAXOS_CLUSTER, else 127.0.0.1:7401,127.0.0.1:7402,127.0.0.1:7403.',
      helpValue: 'host:port,...',
    }),
    timeout: Flags.string({ summary: 'Limit per node, connect included.', default: '2s', helpValue: 'duration' }),
    ...clientAuthFlags,
  };

  async run(): Promise<FaultResult[]> {
    const { flags, args } = await this.parse(FaultDrop);
    await applyClientAuthFlags(flags).catch((error: Error) => this.error(error.message, { exit: 2 }));
    let request;
    try {
      const nodes = flags.to === undefined ? [] : parseNodeIds(flags.to);
      request = { ...faultSettings(flags), nodes, rate: parseDropRate(args.rate) };
    } catch (error) {
      if (error instanceof InvalidOptionError) this.error(error.message, { exit: 2 });
      throw error;
    }
    const command = { action: 'drop' as const, nodes: request.nodes, delayMs: 0, rate: request.rate };
    const results = [await sendFault(request.addresses, flags.node, command, request.timeoutMs)];
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
