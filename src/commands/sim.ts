import { Command, Flags } from '@oclif/core';
import type { CommandError } from '@oclif/core/interfaces';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { StateMachineLoadError } from '../node/statemachine/loader.js';
import { SweepWorkerError } from '../sim/sweep.js';
import { CommandsError, faultGroups, parseCommandLines, prepareUserModule, type FaultGroup } from '../sim/user-sim.js';
import { proveModule, renderProveReport, simExitCodes, type ProveResult } from '../sim/user-report.js';
import { jsonText } from '../sim/divergence.js';

export default class Sim extends Command {
  static override summary = 'Prove a state machine deterministic: run it on simulated nodes under faults and compare the replicas slot by slot.';

  static override description = `Runs the module (as --state-machine takes it) on 3 or 5 simulated nodes with the real Paxos core and driver, under the deterministic simulation's faults (crashes, restarts, partitions, dropped, duplicated and delayed messages, disk failures, snapshots every few slots, snapshot transfers), one run per seed. Each replica is its own instance of the module (no module-level variable is shared) and sees its own clock and Math.random, seeded, so a run is a function of its seed.

Commands come from --commands FILE.jsonl (one JSON command per line, as --json-command takes) or from the module's export generate(random), called for each command with a seeded random() in [0,1).

After every slot each replica applies, it checks: every command's outcome (result or refusal) equals the other replicas'; snapshot() gives the same bytes as the other replicas' at that slot; restore() of that snapshot into a fresh machine gives a machine whose snapshot() is the same, and which computes the same outcomes for the next slot; snapshot() and restore() do not throw; no command runs twice and none acknowledged is lost.

On a divergence it prints the seed, the slot, the command, each replica's result (or snapshot), and a shortened command list that still fails the same way with that seed (delta debugging; --shrunk FILE saves it). --seed N reruns exactly one seed. Progress goes to stderr; many seeds run on every core.

Exit codes: 0 every seed passed; 1 a divergence; 2 a usage error (a bad flag, a module that cannot be loaded, a commands file that is not JSON lines).`;

  static override examples = [
    { description: 'The bank ledger, 200 seeds, commands from its generate export.', command: '<%= config.bin %> sim --state-machine examples/bank-ledger.mjs --seeds 200' },
    { description: 'A broken module is caught (exit 1) with a short reproducer.', command: '<%= config.bin %> sim --state-machine examples/broken-restore.mjs' },
    { description: 'Rerun exactly one seed, with your own commands, no faults.', command: '<%= config.bin %> sim --state-machine ledger.mjs --commands cmds.jsonl --seed 17 --faults none' },
    { description: 'The verdict for a script.', command: '<%= config.bin %> sim --state-machine ledger.mjs --json | jq .verdict' },
  ];

  static override enableJsonFlag = true;

  static override flags = {
    'state-machine': Flags.string({ summary: 'The ES module to prove (a factory of {apply, snapshot, restore}, as node start takes).', required: true, helpValue: 'FILE' }),
    commands: Flags.string({ summary: 'Commands to submit, one JSON value per line; default: the module\'s generate(random).', helpValue: 'FILE.jsonl' }),
    nodes: Flags.integer({ summary: 'Simulated nodes: 3 or 5.', default: 3, helpValue: '3|5' }),
    seeds: Flags.integer({ summary: 'How many seeds to run (1, 2, ...); stops at the first divergence.', default: 100, min: 1, max: 1_000_000, helpValue: 'N' }),
    seed: Flags.integer({ summary: 'Run exactly this one seed (rerun a reported divergence).', min: 1, exclusive: ['seeds'], helpValue: 'N' }),
    faults: Flags.string({ summary: `Fault groups: all, none, or a comma list of ${faultGroups.join(', ')}.`, default: 'all', helpValue: 'LIST' }),
    shrunk: Flags.string({ summary: 'Write the shortened failing command list to this file (JSON lines), for --commands.', helpValue: 'FILE.jsonl' }),
  };

  async run(): Promise<ProveResult> {
    const { flags } = await this.parse(Sim);
    if (flags.nodes !== 3 && flags.nodes !== 5) this.error(`--nodes must be 3 or 5, got ${flags.nodes}`, { exit: simExitCodes.usage });
    const faults = this.faultList(flags.faults);
    const module = await prepareUserModule(flags['state-machine']).catch((error: unknown) => this.usageError(error));
    const commands = flags.commands === undefined ? undefined : await this.readCommands(flags.commands);
    if (commands === undefined && !module.hasGenerate) {
      this.error(`state machine ${flags['state-machine']} exports no generate(random): give --commands FILE.jsonl, or add \`export function generate(random) { return command; }\``, { exit: simExitCodes.usage });
    }
    const [firstSeed, seeds] = flags.seed === undefined ? [1, flags.seeds] : [flags.seed, 1];
    const progress = progressPrinter(seeds);
    let result: ProveResult;
    try {
      result = await proveModule({
        module,
        nodes: flags.nodes,
        firstSeed,
        seeds,
        faults,
        ...(commands === undefined ? {} : { commands, commandsShown: flags.commands }),
        onProgress: progress.seed,
        onShrinkStart: progress.shrinking,
      });
    } catch (error) {
      return this.usageError(error);
    } finally {
      progress.end();
    }
    if (result.shrunk !== null && flags.shrunk !== undefined) {
      await writeFile(`${flags.shrunk}.tmp`, result.shrunk.commands.map((command) => `${jsonText(command)}\n`).join(''));
      await rename(`${flags.shrunk}.tmp`, flags.shrunk);
    }
    if (!this.jsonEnabled()) for (const line of renderProveReport(result)) this.log(line);
    // this.exit would make oclif print an error object instead of the result under --json; set the code instead.
    process.exitCode = result.verdict === 'ok' ? simExitCodes.ok : simExitCodes.divergence;
    return result;
  }

  private faultList(text: string): FaultGroup[] {
    const words = text.split(',').map((word) => word.trim()).filter((word) => word !== '');
    if (words.length === 1 && words[0] === 'all') return [...faultGroups];
    if (words.length === 1 && words[0] === 'none') return [];
    const unknown = words.filter((word) => !(faultGroups as readonly string[]).includes(word));
    if (unknown.length > 0 || words.length === 0) {
      this.error(`--faults: unknown fault group ${unknown.join(', ') || '(empty)'}; use all, none, or a comma list of ${faultGroups.join(', ')}`, { exit: simExitCodes.usage });
    }
    return words as FaultGroup[];
  }

  private async readCommands(file: string): Promise<unknown[]> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      this.error(`cannot read --commands ${file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`, { exit: simExitCodes.usage });
    }
    try {
      return parseCommandLines(text, file);
    } catch (error) {
      return this.usageError(error);
    }
  }

  private usageError(error: unknown): never {
    if (error instanceof StateMachineLoadError || error instanceof CommandsError || error instanceof SweepWorkerError) this.error(error.message, { exit: simExitCodes.usage });
    throw error;
  }

  /** Under --json, oclif's catch exits 1 whatever the error's own exit code: keep ours (2) so scripts can tell. */
  protected override async catch(error: CommandError & { oclif?: { exit?: number } }): Promise<unknown> {
    process.exitCode ??= error.oclif?.exit ?? error.exitCode;
    return super.catch(error);
  }
}

/** Seeds done on stderr: one line redrawn on a terminal, else a line every tenth of the seeds. */
function progressPrinter(total: number): { seed: (done: number, total: number) => void; shrinking: (commands: number) => void; end: () => void } {
  const tty = process.stderr.isTTY === true;
  const started = performance.now();
  let lastTenth = 0;
  let drawn = false;
  const line = (done: number) => `paxos sim: ${done}/${total} seeds (${((performance.now() - started) / 1000).toFixed(1)} s)`;
  return {
    seed: (done) => {
      if (total === 1) return;
      if (tty) {
        process.stderr.write(`\r${line(done)}`);
        drawn = true;
      } else if (Math.floor((done * 10) / total) > lastTenth) {
        lastTenth = Math.floor((done * 10) / total);
        process.stderr.write(`${line(done)}\n`);
      }
    },
    shrinking: (commands) => {
      if (drawn) process.stderr.write('\n');
      drawn = false;
      process.stderr.write(`paxos sim: diverged; shrinking its ${commands} commands...\n`);
    },
    end: () => {
      if (drawn) process.stderr.write('\n');
    },
  };
}
