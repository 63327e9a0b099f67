import { Args, Command, Flags } from '@oclif/core';
import type { CommandError } from '@oclif/core/interfaces';
import type { DataDirContents, DiffResult, InspectedRecord, InspectFilter, InspectRecordType, LogProblem, LogSummary } from '../../inspect/index.js';
import {
  diffDataDirs,
  diffDataDirsMax,
  hasErrors,
  inspectContents,
  inspectRecordTypes,
  InspectTargetError,
  readDataDir,
  renderDiff,
  renderProblems,
  renderRecordTable,
  renderSummary,
  renderVerdict,
  summariseContents,
  verifyContents,
} from '../../inspect/index.js';

/** Exit codes, as documented in docs/cli.md: under --diff, 0 agree and 1 differ. */
const exitCodes = { ok: 0, problems: 1, usage: 2 } as const;

export interface InspectOutput {
  records: InspectedRecord[];
  summary: LogSummary;
  /** Records that matched but were left out by --limit. */
  omitted: number;
}

export interface VerifyOutput {
  ok: boolean;
  problems: LogProblem[];
  summary: LogSummary;
}

/** Flags that select records; --verify and --diff always read the whole log, so they refuse them rather than suggest otherwise. */
const selectionFlags = ['from', 'to', 'type', 'limit'] as const;

export default class LogInspect extends Command {
  static override summary = "Print a node's write-ahead log and snapshots, or check them with --verify.";

  static override description = `Reads DIR (a node's --data-dir) without taking its lock and without changing a byte, so it works while the node runs. Prints one line per record (file, byte offset, type, ballot as round.node, slot, a short rendering of the value) and then a summary of the whole log: segments, record counts by type, the promised ballot, first and last slot, last chosen slot, the latest snapshot, a torn tail and any corruption. Snapshots are listed as records of type snapshot.

--from/--to keep records whose slot is in the range; promise and rebuild records have no slot, so a range hides them unless --type names them. The summary always covers the whole log.

--verify checks every checksum (log records and snapshots) and the log's invariants: promises never decrease, no accept below the promise in effect, one value per slot and ballot, a chosen slot never changes. It prints each problem as file:offset. A torn final record (a crash mid-write, or a running node's write in progress) is a warning: the node cuts it at its next start.

--diff DIR DIR [DIR...] compares the chosen values of several data dirs (e.g. every node's) slot by slot, also while the nodes run, and prints the first slot where they differ with each dir's value; or, when they agree, which slots all of them hold and which only some hold (a slot below a snapshot has no chosen record: it is covered by the snapshot).

Exit codes: 0 done (with --verify: no problem, or only warnings such as a torn tail; with --diff: the dirs agree); 1 --verify found a problem, --diff found a slot where the dirs differ, or a data dir could not be read; 2 usage error (bad flag, DIR missing or not a data dir).`;

  static override examples = [
    { description: 'Every record, then the summary.', command: '<%= config.bin %> log inspect ./data/n1' },
    { description: 'What was accepted and chosen for slots 100 to 120.', command: '<%= config.bin %> log inspect ./data/n1 --from 100 --to 120' },
    { description: 'Only promises (elections this node voted in).', command: '<%= config.bin %> log inspect ./data/n1 --type promise' },
    { description: 'Check checksums and invariants, e.g. after a crash.', command: '<%= config.bin %> log inspect ./data/n1 --verify' },
    { description: 'The promised ballot, for a script.', command: "<%= config.bin %> log inspect ./data/n1 --json | jq -r .summary.promised" },
    { description: 'Do three nodes hold the same chosen values? Exit 1 at the first slot where they differ.', command: '<%= config.bin %> log inspect --diff ./data/n1 ./data/n2 ./data/n3' },
  ];

  // --diff takes two or more data dirs, so DIR is not the only argument.
  static override strict = false;

  static override enableJsonFlag = true;

  static override args = {
    dir: Args.string({ description: "The node's data dir (its --data-dir); with --diff, two or more.", required: true }),
  };

  static override flags = {
    from: Flags.integer({ summary: 'Only records at this slot or above.', min: 1, helpValue: 'SLOT' }),
    to: Flags.integer({ summary: 'Only records at this slot or below.', min: 1, helpValue: 'SLOT' }),
    type: Flags.string({
      summary: 'Only records of these types (repeat the flag or give a comma list).',
      options: [...inspectRecordTypes],
      multiple: true,
      delimiter: ',',
    }),
    limit: Flags.integer({ summary: 'Print at most this many records (the summary still covers the whole log).', min: 1, helpValue: 'N' }),
    verify: Flags.boolean({
      summary: 'Check checksums and invariants; exit 1 on any problem (a torn tail alone is a warning).',
      default: false,
    }),
    diff: Flags.boolean({
      summary: 'Compare the chosen values of two or more data dirs slot by slot; exit 1 at the first slot where they differ.',
      default: false,
    }),
  };

  async run(): Promise<InspectOutput | VerifyOutput | DiffResult> {
    const { args, argv, flags } = await this.parse(LogInspect);
    const dirs = argv.map(String);
    if (flags.diff) return this.diff(dirs, flags);
    if (dirs.length > 1) this.error(`give one DIR (got ${dirs.length}); to compare data dirs, add --diff`, { exit: exitCodes.usage });
    const filter = this.filterFrom(flags);
    const contents = await this.read(args.dir);
    return flags.verify ? this.verify(contents) : this.inspect(contents, filter, flags.limit);
  }

  private inspect(contents: DataDirContents, filter: InspectFilter, limit: number | undefined): InspectOutput {
    const { records, summary } = inspectContents(contents, filter);
    const shown = limit === undefined ? records : records.slice(0, limit);
    const omitted = records.length - shown.length;
    if (!this.jsonEnabled()) {
      for (const line of renderRecordTable(shown)) this.log(line);
      this.log('');
      for (const line of renderSummary(summary)) this.log(line);
    }
    // stderr directly: hints are for a person, and oclif's logToStderr is silent under --json.
    if (omitted > 0) process.stderr.write(`note: ${omitted} more matching records not shown (--limit ${limit}); narrow with --from/--to/--type\n`);
    if (summary.corrupt !== null) {
      process.stderr.write(`warning: the log is corrupt at ${summary.corrupt.file}:${summary.corrupt.offset}; records after it are not shown. Run with --verify.\n`);
    }
    return { records: shown, summary, omitted };
  }

  private verify(contents: DataDirContents): VerifyOutput {
    const problems = verifyContents(contents);
    const summary = summariseContents(contents);
    const ok = !hasErrors(problems);
    if (!this.jsonEnabled()) {
      for (const line of renderSummary(summary)) this.log(line);
      this.log('');
      for (const line of renderProblems(problems)) this.log(line);
      this.log(renderVerdict(problems, summary));
    }
    // this.exit would make oclif print an error object instead of the result under --json; set the code instead.
    process.exitCode = ok ? exitCodes.ok : exitCodes.problems;
    return { ok, problems, summary };
  }

  private async diff(dirs: string[], flags: { from?: number; to?: number; type?: string[]; limit?: number; verify: boolean }): Promise<DiffResult> {
    const refused = [...(flags.verify ? ['verify'] : []), ...selectionFlags.filter((name) => flags[name] !== undefined)];
    if (refused.length > 0) this.error(`--diff compares whole logs; it cannot be combined with --${refused.join(', --')}`, { exit: exitCodes.usage });
    if (dirs.length < 2) this.error(`--diff compares two or more data dirs, got ${dirs.length}: e.g. paxos log inspect --diff ./data/n1 ./data/n2`, { exit: exitCodes.usage });
    if (dirs.length > diffDataDirsMax) this.error(`--diff compares at most ${diffDataDirsMax} data dirs at once, got ${dirs.length}`, { exit: exitCodes.usage });
    const result = await diffDataDirs(dirs).catch((error: unknown) => {
      if (error instanceof InspectTargetError) this.error(error.message, { exit: exitCodes.usage });
      throw error;
    });
    // stderr directly: warnings are for a person, and oclif's logToStderr is silent under --json.
    for (const warning of result.warnings) process.stderr.write(`warning: ${warning}\n`);
    if (!this.jsonEnabled()) for (const line of renderDiff(result)) this.log(line);
    process.exitCode = result.agree ? exitCodes.ok : exitCodes.problems;
    return result;
  }

  private filterFrom(flags: { from?: number; to?: number; type?: string[]; limit?: number; verify: boolean }): InspectFilter {
    // Checked here rather than with oclif's `exclusive`, whose usage line would suggest --from and --to exclude each other.
    const selection = selectionFlags.filter((name) => flags[name] !== undefined);
    if (flags.verify && selection.length > 0) {
      this.error(`--verify checks the whole log; it cannot be combined with --${selection.join(', --')}`, { exit: exitCodes.usage });
    }
    if (flags.from !== undefined && flags.to !== undefined && flags.from > flags.to) {
      this.error(`--from ${flags.from} is above --to ${flags.to}`, { exit: exitCodes.usage });
    }
    const types = flags.type === undefined ? undefined : new Set(flags.type.filter(isInspectRecordType));
    return { fromSlot: flags.from, toSlot: flags.to, types };
  }

  private async read(dir: string): Promise<DataDirContents> {
    try {
      return await readDataDir(dir);
    } catch (error) {
      if (error instanceof InspectTargetError) this.error(error.message, { exit: exitCodes.usage });
      throw error;
    }
  }

  /** Under --json, oclif's catch exits 1 whatever the error's own exit code: keep ours (2) so scripts can tell. */
  protected override async catch(error: CommandError & { oclif?: { exit?: number } }): Promise<unknown> {
    process.exitCode ??= error.oclif?.exit ?? error.exitCode;
    return super.catch(error);
  }
}

function isInspectRecordType(type: string): type is InspectRecordType {
  return (inspectRecordTypes as readonly string[]).includes(type);
}
