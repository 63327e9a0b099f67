import { Args, Flags } from '@oclif/core';
import { FaultCommandBase, faultFlags } from '../../client/fault-flags.js';
import { parseNodeIds, type FaultResult } from '../../client/faults.js';
import { parseDuration } from '../../client/options.js';

export default class FaultDelay extends FaultCommandBase {
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
    ...faultFlags,
  };

  async run(): Promise<FaultResult[]> {
    const { flags, args } = await this.parse(FaultDelay);
    return this.sendFaultCommand(flags, () => {
      const nodes = flags.to === undefined ? [] : parseNodeIds(flags.to);
      return { node: flags.node, command: { action: 'delay', nodes, delayMs: parseDuration(args.duration), rate: 0 } };
    });
  }
}
