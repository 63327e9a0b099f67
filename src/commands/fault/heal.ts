import { Flags } from '@oclif/core';
import { FaultCommandBase, faultFlags } from '../../client/fault-flags.js';
import type { FaultResult } from '../../client/faults.js';

export default class FaultHeal extends FaultCommandBase {
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
    ...faultFlags,
  };

  async run(): Promise<FaultResult[]> {
    const { flags } = await this.parse(FaultHeal);
    // Without --node, every node at the cluster addresses is healed.
    return this.sendFaultCommand(flags, () => ({ node: flags.node, command: { action: 'heal', nodes: [], delayMs: 0, rate: 0 } }));
  }
}
