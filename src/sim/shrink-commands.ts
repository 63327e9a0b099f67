// Shortening the command list of a failing `paxos sim` run (delta debugging,
// Zeller's ddmin, by removing chunks): rerun the same seed with a part of the
// commands left out, and keep the shorter list whenever the run still fails
// the same way. The seed fixes the faults and timings as far as they do not
// depend on the commands, so the list that is left is a reproducer of its
// own: `paxos sim --seed N --commands shrunk.jsonl`.
import type { DivergenceKind } from './divergence.js';
import type { UserSimRun } from './user-sim.js';

/**
 * Reruns a shrink may take at most; each is one whole simulated run (a short
 * list runs in milliseconds, the first ones in up to a second). A count, not a
 * time, so that the list found is the same on any machine.
 */
export const shrinkRunsMax = 300;

export interface ShrinkResult {
  commands: unknown[];
  /** The run of the shortest list: its divergence is the one reported. */
  run: UserSimRun;
  runs: number;
  /** False when it stopped at shrinkRunsMax. */
  complete: boolean;
}

/**
 * Shrinks `commands` (the list the failing run handed out) keeping failures
 * of `kind`. Returns null when the list alone does not reproduce the failure
 * (then the failure hangs on something else than the commands).
 */
export async function shrinkCommands(
  commands: readonly unknown[],
  kind: DivergenceKind,
  rerun: (commands: unknown[]) => Promise<UserSimRun>,
  runsMax: number = shrinkRunsMax,
): Promise<ShrinkResult | null> {
  let runs = 0;
  const fails = async (candidate: unknown[]): Promise<UserSimRun | null> => {
    runs += 1;
    const run = await rerun(candidate);
    return !run.ok && run.divergence !== null && (run.divergence.kind === kind || kind === 'simulation') ? run : null;
  };
  let list = [...commands];
  let best = await fails(list);
  if (best === null) return null;
  // A run hands out commands past the failure; the list up to what it used is the first cut.
  if (best.submitted.length < list.length) {
    const used = await fails(best.submitted);
    if (used !== null) [list, best] = [[...best.submitted], used];
  }
  let chunks = 2;
  const outOfBudget = () => runs >= runsMax;
  while (list.length >= 2 && !outOfBudget()) {
    const size = Math.ceil(list.length / chunks);
    let removed = false;
    for (let start = 0; start < list.length && !outOfBudget(); start += size) {
      const candidate = [...list.slice(0, start), ...list.slice(start + size)];
      if (candidate.length === 0) continue;
      const run = await fails(candidate);
      if (run === null) continue;
      [list, best] = [candidate, run];
      chunks = Math.max(chunks - 1, 2);
      removed = true;
      break;
    }
    if (removed) continue;
    if (chunks >= list.length) break;
    chunks = Math.min(chunks * 2, list.length);
  }
  return { commands: list, run: best, runs, complete: list.length <= 1 || !outOfBudget() };
}
