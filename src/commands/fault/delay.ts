import { Args, Command, Flags } from '@oclif/core';
import type { CommandError } from '@oclif/core/interfaces';
import { InvalidOptionError } from '../../client/errors.js';
import { applyClientAuthFlags, clientAuthFlags } from '../../client/auth-flags.js';
import { faultExitCode, faultSettings, parseNodeIds, renderFaultResults, sendFault, type FaultResult } from '../../client/faults.js';
import { parseDuration } from '../../client/options.js';

export default class FaultDelay extends Command {
  static override summary = 'Hold back the messages a node sends to its peers (nodes started with --enable-faults only).';

  static override description = `Every message node --node sends to the peers in --to (default: all of them) leaves DURATION late, in the order it was sent: a slow link. 0ms removes the delay. Messages it receives are not delayed; delay both nodes of a link to slow it both ways. At most 60s (a longer hold is a partition).

Exit codes: 0 applied; 1 refused by the node; 2 usage error; 4 node not reachable.`;

  static override examples = [
    { description: 'Make node 1 answer everyone 50ms late.', command: '<%= config.bin %> fault delay --node 1 50ms' },
    { description: 'Slow only the link from node 2 to node 3.', command: '<%= config.bin %> fault delay --node 2 --to 3 200ms' },
    { description: 'Remove the delay.', command: '<%= config.bin %> fault delay --node 1 0ms' },
  ];

  static override enableJsonFlag = true;

  static override args = {
    duration: Args.string({ description: 'How long each message is held: 50ms, 1s.', required: true }),
  };

  static override flags = {
    node: Flags.integer({ char: 'n', summary: 'The node whose outgoing messages are delayed.', required: true, min: 1, helpValue: 'ID' }),
    to: Flags.string({ summary: 'Only messages to these peers (default: every peer).', helpValue: 'ID,...' }),
    cluster: Flags.string({
      char: 'c',
      summary: 'Cluster addresses; default $PAXOS_CLUSTER, else 127.0.0.1:7401,127.0.0.1:7402,127.0.0.1:7403.',
      helpValue: 'host:port,...',
    }),
    timeout: Flags.string({ summary: 'Limit per node, connect included.', default: '2s', helpValue: 'duration' }),
    ...clientAuthFlags,
  };

  async run(): Promise<FaultResult[]> {
    const { flags, args } = await this.parse(FaultDelay);
    await applyClientAuthFlags(flags).catch((error: Error) => this.error(error.message, { exit: 2 }));
    let request;
    try {
      const nodes = flags.to === undefined ? [] : parseNodeIds(flags.to);
      request = { ...faultSettings(flags), nodes, delayMs: parseDuration(args.duration) };
    } catch (error) {
      if (error instanceof InvalidOptionError) this.error(error.message, { exit: 2 });
      throw error;
    }
    const command = { action: 'delay' as const, nodes: request.nodes, delayMs: request.delayMs, rate: 0 };
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
