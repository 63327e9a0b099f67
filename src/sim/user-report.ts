// `paxos sim`'s verdict: sweep the seeds, shrink the first failure's command
// list, and say what was found, as lines or as one JSON object.
import type { Divergence, ReplicaReport } from './divergence.js';
import { jsonText, reportCollectMs } from './divergence.js';
import { shrinkCommands } from './shrink-commands.js';
import { sweep } from './sweep.js';
import { runUserSeed, type FaultGroup, type UserModule, type UserSimRun } from './user-sim.js';

export const simExitCodes = { ok: 0, divergence: 1, usage: 2 } as const;

export interface ProveOptions {
  module: UserModule;
  nodes: number;
  firstSeed: number;
  seeds: number;
  commands?: unknown[];
  /** The --commands file as the user named it, for the rerun line. */
  commandsShown?: string;
  faults: readonly FaultGroup[];
  threads?: number;
  /** Skip the shrink (a report sooner). */
  shrink?: boolean;
  onProgress?: (done: number, total: number, run: UserSimRun) => void;
  onShrinkStart?: (commands: number) => void;
}

export interface ProveResult {
  verdict: 'ok' | 'divergence';
  module: string;
  identity: string;
  nodes: number;
  seeds: { first: number; count: number; passed: number };
  commandsFrom: 'file' | 'generate';
  faults: readonly FaultGroup[];
  threads: number;
  divergence: Divergence | null;
  /** The failing seed's commands, shortened; null when it passed or when the list alone does not reproduce it. */
  shrunk: { commands: unknown[]; from: number; runs: number; complete: boolean; divergence: Divergence } | null;
  /** Reruns the failing seed exactly. */
  rerun: string | null;
  elapsedMs: number;
}

export async function proveModule(options: ProveOptions): Promise<ProveResult> {
  const started = performance.now();
  const base = { module: options.module, nodes: options.nodes, faults: options.faults, ...(options.commands === undefined ? {} : { commands: options.commands }) };
  const result = await sweep({ ...base, firstSeed: options.firstSeed, seeds: options.seeds, threads: options.threads, onProgress: options.onProgress });
  const failure = result.failure;
  const divergence = failure?.divergence ?? null;
  let shrunk: ProveResult['shrunk'] = null;
  if (failure !== null && divergence !== null && options.shrink !== false) {
    options.onShrinkStart?.(failure.submitted.length);
    const shrink = await shrinkCommands(failure.submitted, divergence.kind, (commands) => runUserSeed({ ...base, seed: failure.seed, commands }));
    if (shrink !== null) {
      // The shortest list's own divergence: the command it names is among the few left.
      shrunk = { commands: shrink.commands, from: failure.submitted.length, runs: shrink.runs, complete: shrink.complete, divergence: shrink.run.divergence ?? divergence };
    }
  }
  const rerun = failure === null ? null : `paxos sim --state-machine ${options.module.shown} --seed ${failure.seed}${options.nodes === 3 ? '' : ` --nodes ${options.nodes}`}${options.commands === undefined ? '' : ` --commands ${options.commandsShown ?? 'FILE'}`}${options.faults.length === 4 ? '' : ` --faults ${options.faults.join(',') || 'none'}`}`;
  return {
    verdict: failure === null ? 'ok' : 'divergence',
    module: options.module.shown,
    identity: options.module.identity,
    nodes: options.nodes,
    seeds: { first: options.firstSeed, count: options.seeds, passed: result.passed },
    commandsFrom: options.commands === undefined ? 'generate' : 'file',
    faults: options.faults,
    threads: result.threads,
    divergence,
    shrunk,
    rerun,
    elapsedMs: Math.round(performance.now() - started),
  };
}

const kindTitles: Record<Divergence['kind'], string> = {
  result: 'replicas computed different results',
  state: "replicas' states differ",
  'restore-changed-state': 'restore() loses or changes state',
  'restored-result': 'a restored replica computes differently',
  threw: 'snapshot() or restore() threw',
  simulation: 'a check of the simulation failed',
};

const kindAdvice: Record<Divergence['kind'], string> = {
  result: 'apply must depend only on the state and the command: no clock, no Math.random, no I/O, no module-level variables.',
  state: 'equal states must give equal snapshot() bytes: no clock or randomness kept in the state, and sort what has no order of its own.',
  'restore-changed-state': 'restore(bytes) must rebuild everything snapshot() wrote: every field, and nothing else.',
  'restored-result': 'everything apply reads must be in the snapshot: no module-level variables, no state restore() leaves out.',
  threw: 'snapshot() must not throw, and restore() must read every snapshot() it made.',
  simulation: '',
};

export function renderProveReport(result: ProveResult): string[] {
  const seeds = result.seeds.count === 1 ? `seed ${result.seeds.first}` : `seeds ${result.seeds.first}..${result.seeds.first + result.seeds.count - 1}`;
  const head = `paxos sim: ${result.module} (${result.identity}) on ${result.nodes} nodes, ${seeds}, commands from ${result.commandsFrom === 'file' ? '--commands' : 'generate(random)'}, faults ${result.faults.join(',') || 'none'}`;
  const divergence = result.divergence;
  if (result.verdict === 'ok' || divergence === null) {
    return [head, `ok: ${result.seeds.passed} seeds, every replica computed the same results and snapshots slot by slot, and restore(snapshot()) changed nothing (${(result.elapsedMs / 1000).toFixed(1)} s)`];
  }
  const lines = [head, `DIVERGENCE (${kindTitles[divergence.kind]}) at seed ${divergence.seed}${divergence.slot === null ? '' : `, slot ${divergence.slot}`}, ${(divergence.atMs / 1000).toFixed(1)} s into the run:`, `  ${divergence.summary}`];
  if (divergence.command !== null) lines.push(`  command: ${divergence.command.client}#${divergence.command.seq} ${jsonText(divergence.command.op)}`);
  const labels = divergence.replicas.map(replicaLabel);
  const width = Math.max(0, ...labels.map((label) => label.length));
  divergence.replicas.forEach((replica, index) => {
    const shown = [replica.outcome, replica.snapshot === undefined ? undefined : `snapshot ${replica.snapshot}`].filter((part) => part !== undefined).join('  ');
    lines.push(`  ${labels[index].padEnd(width)}  ${shown}`);
  });
  if (divergence.kind === 'result' || divergence.kind === 'state') {
    const seen = new Set(divergence.replicas.map((replica) => replica.node));
    for (let node = 1; node <= result.nodes; node += 1) {
      if (!seen.has(node)) lines.push(`  ${`node ${node}`.padEnd(width)}  (did not apply slot ${divergence.slot} within ${reportCollectMs / 1000} virtual seconds: down or behind)`);
    }
  }
  if (divergence.detail !== undefined) lines.push(...divergence.detail.split('\n').slice(0, 12).map((line) => `  ${line}`));
  if (kindAdvice[divergence.kind] !== '') lines.push(`  hint: ${kindAdvice[divergence.kind]}`);
  if (result.shrunk !== null) {
    const { commands, from, runs, complete } = result.shrunk;
    lines.push(`shrunk: ${commands.length} of the ${from} commands still fail this way with seed ${divergence.seed} (${runs} reruns${complete ? '' : ', stopped at its limit'}):`);
    for (const command of commands) lines.push(`  ${jsonText(command)}`);
    const short = result.shrunk.divergence;
    lines.push(`  with them alone: ${short.summary}${short.command === null ? '' : ` (${short.command.client}#${short.command.seq} ${jsonText(short.command.op)})`}`);
  } else lines.push('shrunk: the command list alone does not reproduce it');
  if (result.rerun !== null) lines.push(`rerun: ${result.rerun}`);
  if (result.shrunk !== null) lines.push('  (the short list: save it with --shrunk FILE.jsonl, then rerun with --commands FILE.jsonl)');
  return lines;
}

function replicaLabel(replica: ReplicaReport): string {
  if (replica.restored === true) return `node ${replica.node}, restored copy`;
  if (replica.again === true) return `node ${replica.node}, after a restart`;
  return `node ${replica.node}`;
}
