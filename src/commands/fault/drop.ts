import { Args, Flags } from '@oclif/core';
import { FaultCommandBase, faultFlags } from '../../client/fault-flags.js';
import { parseDropRate, parseNodeIds, type FaultResult } from '../../client/faults.js';

export default class FaultDrop extends FaultCommandBase {
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
    ...faultFlags,
  };

  async run(): Promise<FaultResult[]> {
    const { flags, args } = await this.parse(FaultDrop);
    return this.sendFaultCommand(flags, () => {
      const nodes = flags.to === undefined ? [] : parseNodeIds(flags.to);
      return { node: flags.node, command: { action: 'drop', nodes, delayMs: 0, rate: parseDropRate(args.rate) } };
    });
  }
}
