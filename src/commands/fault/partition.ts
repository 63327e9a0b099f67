import { Flags } from '@oclif/core';
import { FaultCommandBase, faultFlags } from '../../client/fault-flags.js';
import { parseNodeIds, type FaultResult } from '../../client/faults.js';

export default class FaultPartition extends FaultCommandBase {
  static override summary = 'Cut a node off from some of its peers (nodes started with --enable-faults only).';

  static override description = `Node --node drops every message it would send to, and every message it receives from, the peers in --from, until healed. Applied inside that node's transport, so it needs no firewall and works the same on any machine; clients are still served. To isolate node 1 of three, partition it from 2,3: the other two still talk to each other and elect a leader.

Only nodes started with \`paxos node start --enable-faults\` accept it; others refuse (exit 1). Partitions add up: a second partition names more peers. Undo with \`paxos fault heal\`.

Node ids are found among the cluster addresses: node N is tried at the N-th address first, then at the others (each node names itself when a client connects).

Exit codes: 0 applied; 1 refused by the node; 2 usage error; 4 node not reachable.`;

  static override examples = [
    { description: 'Isolate node 1 from nodes 2 and 3.', command: '<%= config.bin %> fault partition --node 1 --from 2,3' },
    { description: 'Cut only the link between nodes 1 and 2.', command: '<%= config.bin %> fault partition --node 1 --from 2' },
    { description: 'As JSON, on another cluster.', command: '<%= config.bin %> fault partition -c 127.0.0.1:9001,127.0.0.1:9002,127.0.0.1:9003 --node 3 --from 1,2 --json' },
  ];

  static override enableJsonFlag = true;

  static override flags = {
    node: Flags.integer({ char: 'n', summary: 'The node that drops the traffic.', required: true, min: 1, helpValue: 'ID' }),
    from: Flags.string({ summary: 'The peers it stops talking to, e.g. 2,3.', required: true, helpValue: 'ID,...' }),
    ...faultFlags,
  };

  async run(): Promise<FaultResult[]> {
    const { flags } = await this.parse(FaultPartition);
    return this.sendFaultCommand(flags, () => ({ node: flags.node, command: { action: 'partition', nodes: parseNodeIds(flags.from), delayMs: 0, rate: 0 } }));
  }
}
