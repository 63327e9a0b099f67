import { Command, Flags } from '@oclif/core';
import { applyRecovery, planRecovery, RecoverRefusal, type RecoveryPlan } from '../ops/recover.js';
import { recoverExitCodes, renderRecoveryPlan } from '../ops/recover-report.js';

export default class Recover extends Command {
  static override summary = 'When a majority of the voters is lost for good: make the most advanced survivor a one-member cluster.';

  static override description = `Never run it while a majority may come back: a cluster that lost a majority only waits, and loses nothing by waiting. recover is the way out when those machines and disks are gone for good.

It reads the surviving data dirs (read-only, as paxos log inspect does), picks the one with the longest chosen prefix, and lists what may be lost: the slots after that prefix that no survivor knows chosen, with the value each survivor accepted there (the value at the highest ballot is the one recover keeps), and nothing at all of the writes the lost members chose that no survivor accepted. Without --accept-data-loss it stops there and changes nothing (exit 4).

With --accept-data-loss (every node stopped; it locks every data dir) it appends to the picked node's own log the chosen records for those slots and a membership record that makes it the only voter from the next slot on, retiring every other member's data dir. Then start that node with its usual flags: it serves alone. Bring the others back as new members, one at a time: move each old data dir aside (never start a node on it again), paxos member add --id N --address HOST:PORT --learner, paxos node start --id N --join ... on an empty data dir, then paxos member promote N once it has caught up. See docs/operations.md, "A lost majority".

Exit codes: 0 recovered; 1 two survivors hold different chosen values for one slot (a bug to report; nothing written); 2 usage error; 3 a data dir is unreadable, damaged, or of another cluster; 4 not recovered (no --accept-data-loss, or a node still runs on a data dir).`;

  static override examples = [
    '<%= config.bin %> recover --data-dir /var/lib/paxos',
    '<%= config.bin %> recover --data-dir ./data/n1 --data-dir ./data/n2 --json',
    '<%= config.bin %> recover --data-dir /var/lib/paxos --accept-data-loss',
  ];

  static override enableJsonFlag = true;

  static override flags = {
    'data-dir': Flags.string({ description: 'a surviving node\'s data dir (repeat for each survivor)', required: true, multiple: true }),
    'accept-data-loss': Flags.boolean({ description: 'write the recovery: the picked node becomes a one-member cluster, and what the report lists may be lost for good' }),
  };

  async run(): Promise<(RecoveryPlan & { recovered: boolean }) | { error: string; code: string }> {
    const { flags } = await this.parse(Recover);
    const dirs = flags['data-dir'];
    try {
      const recovered = flags['accept-data-loss'] === true;
      const plan = recovered ? await applyRecovery(dirs) : await planRecovery(dirs);
      if (!this.jsonEnabled()) for (const line of renderRecoveryPlan(plan, recovered, this.config.bin)) this.log(line);
      if (!recovered) process.exitCode = recoverExitCodes.refused;
      return { ...plan, recovered };
    } catch (error) {
      if (!(error instanceof RecoverRefusal)) throw error;
      process.stderr.write(`not recovered: ${error.message}\n`);
      process.exitCode =
        error.code === 'conflict' ? recoverExitCodes.conflict : error.code === 'usage' ? recoverExitCodes.usage : error.code === 'locked' ? recoverExitCodes.refused : recoverExitCodes.unusable;
      return { error: error.message, code: error.code };
    }
  }
}
