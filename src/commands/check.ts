import { Args, Command, Flags } from '@oclif/core';
import type { CommandError } from '@oclif/core/interfaces';
import {
  HistoryParseError,
  HistoryReadError,
  ReportWriteError,
  checkExitCode,
  checkExitCodes,
  checkHistoryFile,
  renderCheckReport,
  searchStatesMax,
  writeCheckReportPage,
  type CheckResult,
  type CheckRun,
} from '../check/index.js';

export default class Check extends Command {
  static override summary = 'Check that a key-value history is linearizable.';

  static override description = `Reads a history in the JSON-lines format that \`paxos submit --history\` writes (one event per line: {"process":3,"type":"invoke","f":"write","key":"x","value":"5","time":12345}, then the same process's "ok", "fail" or "info"), and searches, key by key, for an order of the operations that a single register would give: each operation taking effect at one instant between its invocation and its completion. An "info" operation (outcome unknown) may take effect at any instant after its invocation, or never; a "fail" operation never did.

Prints "linearizable" and a summary, or, for each key that cannot be ordered, a small set of its operations that cannot be ordered together.

With --html FILE, also writes a self-contained page (no network needed) that draws every process's operations on a time line, one key at a time, zoomable; for a violation it opens on the key, marks the operations that cannot be ordered and shows this explanation. The file is replaced atomically.

Exit codes: 0 linearizable; 1 not linearizable; 2 the history cannot be read or breaks the format (the message names the line), or a usage error, or the --html report cannot be written (the verdict is printed first); 3 unknown: a key's search reached --max-states before it could decide.`;

  static override examples = [
    { description: 'Check a recorded history.', command: '<%= config.bin %> check history.jsonl' },
    { description: 'Record a history while submitting, then check it.', command: 'printf "set x 1\\nget x\\n" | <%= config.bin %> submit --stdin --history h.jsonl && <%= config.bin %> check h.jsonl' },
    { description: 'Several clients\' histories together (give each its own --history-process).', command: 'cat client-*.jsonl | <%= config.bin %> check -' },
    { description: 'Also draw the history as a page to open in a browser.', command: '<%= config.bin %> check history.jsonl --html report.html' },
    { description: 'The verdict for a script.', command: '<%= config.bin %> check history.jsonl --json | jq .verdict' },
  ];

  static override enableJsonFlag = true;

  static override args = {
    history: Args.string({ description: 'History file (JSON lines), or - for stdin.', required: true }),
  };

  static override flags = {
    'max-states': Flags.integer({
      summary: 'Give up on a key (exit 3) after searching this many states.',
      min: 1,
      default: searchStatesMax,
    }),
    html: Flags.string({
      summary: 'Also write the history as a self-contained HTML page to this file (replaced atomically).',
      helpValue: 'FILE',
    }),
  };

  async run(): Promise<CheckResult & { elapsedMs: number; html?: { file: string; bytes: number } }> {
    const { args, flags } = await this.parse(Check);
    const run = await this.checkFile(args.history, flags['max-states']);
    if (!this.jsonEnabled()) for (const line of renderCheckReport(run.result, run.elapsedMs)) this.log(line);
    // this.exit would make oclif print an error object instead of the result under --json; set the code instead.
    process.exitCode = checkExitCode(run.result);
    const output = { ...run.result, elapsedMs: Math.round(run.elapsedMs) };
    if (flags.html === undefined) return output;
    const bytes = await this.writePage(run, args.history, flags.html);
    if (!this.jsonEnabled()) this.logToStderr(`wrote ${flags.html} (${(bytes / 1024 / 1024).toFixed(1)} MB)`);
    return { ...output, html: { file: flags.html, bytes } };
  }

  private async writePage(run: CheckRun, source: string, file: string): Promise<number> {
    try {
      return await writeCheckReportPage(run, { source: source === '-' ? 'stdin' : source, file });
    } catch (error) {
      if (error instanceof ReportWriteError || error instanceof RangeError) {
        process.exitCode = checkExitCodes.invalid;
        this.error(error.message, { exit: checkExitCodes.invalid });
      }
      throw error;
    }
  }

  private async checkFile(path: string, statesMax: number): Promise<CheckRun> {
    try {
      return await checkHistoryFile(path, { searchStatesMax: statesMax });
    } catch (error) {
      if (error instanceof HistoryParseError || error instanceof HistoryReadError) this.error(error.message, { exit: checkExitCodes.invalid });
      throw error;
    }
  }

  /** Under --json, oclif's catch exits 1 whatever the error's own exit code: keep ours (2) so scripts can tell. */
  protected override async catch(error: CommandError & { oclif?: { exit?: number } }): Promise<unknown> {
    process.exitCode ??= error.oclif?.exit ?? error.exitCode;
    return super.catch(error);
  }
}
