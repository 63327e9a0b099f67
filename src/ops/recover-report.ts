// What `paxos recover` prints: the survivors, the pick, how each slot after its
// prefix is decided, what may be lost, and what to do next.
import type { RecoveryPlan, SlotDecision } from './recover.js';

export const recoverExitCodes = Object.freeze({ recovered: 0, conflict: 1, usage: 2, unusable: 3, refused: 4 });

function source(decision: SlotDecision): string {
  const s = decision.source;
  if (s.kind === 'chosen') return `chosen (known to ${s.dataDirs.join(', ')})`;
  if (s.kind === 'accepted') return `accepted at ballot ${s.ballot} by ${s.dataDirs.join(', ')}, not known chosen: MAY BE LOST`;
  return 'nothing accepted by any survivor: a no-op; MAY BE LOST';
}

/** Decisions shown one per line; a long run is cut in the middle (--json has them all). */
const decisionsShownMax = 40;

export function renderRecoveryPlan(plan: RecoveryPlan, recovered: boolean, bin: string): string[] {
  const lines = [`survivors of cluster ${plan.clusterId}:`, '  NODE  CHOSEN THROUGH  SNAPSHOT  HIGHEST ACCEPTED  VOTERS  DATA DIR'];
  for (const s of plan.survivors) {
    lines.push(`  ${String(s.nodeId).padEnd(4)}  ${String(s.chosenThrough).padEnd(14)}  ${String(s.snapshotSlot).padEnd(8)}  ${String(s.highestAccepted).padEnd(16)}  ${s.voters.join(',').padEnd(6)}  ${s.dataDir}`);
  }
  const pick = plan.pick;
  lines.push(`picked node ${pick.nodeId} (${pick.dataDir}): the longest chosen prefix, through slot ${pick.chosenThrough}`);
  if (plan.decisions.length === 0) lines.push('no slot after it is known to any survivor');
  else {
    lines.push(`slots ${pick.chosenThrough + 1}..${plan.fromSlot - 1}, which node ${pick.nodeId} does not know chosen, are decided so:`);
    const shown = plan.decisions.length <= decisionsShownMax ? plan.decisions : [...plan.decisions.slice(0, decisionsShownMax / 2), null, ...plan.decisions.slice(-decisionsShownMax / 2)];
    for (const decision of shown) {
      lines.push(decision === null ? `  ... ${plan.decisions.length - decisionsShownMax} more (--json lists every one)` : `  ${decision.slot}  ${source(decision)}  ${decision.preview}`);
    }
  }
  const lost = plan.mayBeLost.map((d) => d.slot);
  lines.push(
    lost.length === 0
      ? 'may be lost: no slot a survivor knows of; but any write the lost members chose that no survivor accepted is gone'
      : `may be lost: ${lost.length} slot(s) (${lost.length <= 20 ? lost.join(', ') : `${lost.slice(0, 20).join(', ')}, ...`}): the lost members may have chosen other values there; and any write they chose that no survivor accepted is gone`,
  );
  const retired = plan.retired.filter((m) => m.id !== pick.nodeId).map((m) => `node ${m.id} (incarnation ${m.incarnation})`);
  lines.push(`from slot ${plan.fromSlot} node ${pick.nodeId} is the only voter; retired: ${retired.length === 0 ? 'none' : retired.join(', ')}`);
  if (!recovered) {
    lines.push(`nothing written: stop every node, then run again with --accept-data-loss to make node ${pick.nodeId} a one-member cluster`);
    return lines;
  }
  lines.push(
    `recovered: node ${pick.nodeId} is a one-member cluster. Next:`,
    `  1. start node ${pick.nodeId} on ${pick.dataDir} with its usual flags; it leads alone`,
    '  2. move every other old data dir aside: never start a node on one again (its votes are retired)',
    `  3. for each new member, one at a time: ${bin} member add --id N --address HOST:PORT --learner, then ${bin} node start --id N --join <node ${pick.nodeId}'s address> --listen HOST:PORT --data-dir <empty dir>,`,
    `     then ${bin} member promote N once it has caught up (refused until then)`,
  );
  return lines;
}
