import { createInterface } from 'node:readline';
import { Command, Flags } from '@oclif/core';
import { PaxosClient, type SubmitOutcome } from '../client/client.js';
import { InvalidOptionError } from '../client/errors.js';
import { parseDuration, resolveCluster, type ClusterAddress } from '../client/options.js';
import {
  jsonLine,
  submitExitCode,
  submitExitCodes,
  submitJson,
  submitLines,
  unreachableHint,
  usageJson,
} from '../client/submit-report.js';
import { UsageError, parseKeyValueWords, renderResult } from '../node/statemachine/parse.js';

interface SubmitFlags {
  cluster?: string;
  timeout: string;
  json: boolean;
  'json-value': boolean;
  'json-command'?: string;
  stdin: boolean;
}

export default class Submit extends Command {
  static override summary = 'Submit a command to the replicated state machine and print its result.';

  static override description = `Finds the leader (following redirects, retrying on leader change) and waits until the command is chosen AND applied, then prints the state machine's result. Every command carries this run's client id and a sequence number, so a retried command is executed at most once.

Commands of the built-in key-value store: get K, set K V, del K, cas K EXPECTED NEW, incr K [N], append K V, noop. Words that start with "--" must come after a lone "--" (paxos submit -- set x --not-a-flag).

Exit codes: 0 applied; 2 usage error; 3 applied but refused by the state machine (e.g. cas mismatch); 4 definitely not applied (no node reachable, or rejected before it was proposed); 5 outcome unknown (timed out after it may have been proposed). With --stdin the exit code is 0 unless reading stdin failed (1): each line's outcome is in the output.`;

  static override usage = ['submit WORD... [--cluster host:port,...] [--timeout 10s] [--json] [--json-value]', 'submit --stdin [--json] [--json-value]', "submit --json-command '<json>'"];

  static override examples = [
    { description: 'Set a key (prints OK).', command: '<%= config.bin %> submit set x 1' },
    { description: 'Read it back (prints 1, or (nil) for a missing key).', command: '<%= config.bin %> submit get x' },
    { description: 'Compare-and-swap: exit code 3 and "cas failed: x is 3" when x is not 1.', command: '<%= config.bin %> submit cas x 1 2' },
    { description: 'A JSON object as the value.', command: '<%= config.bin %> submit --json-value set user \'{"name":"ada"}\'' },
    { description: 'Machine-readable outcome.', command: '<%= config.bin %> submit --json incr hits' },
    { description: 'Many commands, one JSON result per line, in order.', command: 'printf "set a 1\\nincr a\\nget a\\n" | <%= config.bin %> submit --stdin --json' },
    { description: 'A command for a user state machine (--state-machine), passed as is.', command: '<%= config.bin %> submit --json-command \'["deposit","alice",10]\'' },
    { description: 'Another cluster.', command: '<%= config.bin %> submit -c 10.0.0.1:7401,10.0.0.2:7401,10.0.0.3:7401 get x' },
  ];

  // The command's words are free-form (`set x 1`), so they are not declared as args.
  static override strict = false;

  static override flags = {
    cluster: Flags.string({
      char: 'c',
      summary: 'Cluster addresses; default $PAXOS_CLUSTER, else 127.0.0.1:7401,127.0.0.1:7402,127.0.0.1:7403.',
      helpValue: 'host:port,...',
    }),
    timeout: Flags.string({ summary: 'Give up after this long, retries included (500ms, 5s, 2m).', default: '10s', helpValue: 'duration' }),
    json: Flags.boolean({ summary: 'Print one JSON object per command on stdout.' }),
    'json-value': Flags.boolean({ summary: 'Parse values (set V, cas EXPECTED NEW, append V) as JSON.' }),
    'json-command': Flags.string({
      summary: 'Submit this JSON value as the command, unchecked (for --state-machine modules).',
      exclusive: ['stdin', 'json-value'],
      helpValue: 'json',
    }),
    stdin: Flags.boolean({ summary: 'Read one command per line from stdin (a line may be a JSON array of words).' }),
  };

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(Submit);
    const words = argv.map(String);
    const { addresses, timeoutMs } = this.clientSettings(flags);
    const client = new PaxosClient({ addresses, timeoutMs });
    try {
      if (flags.stdin) await this.submitStdin(client, flags, words);
      else await this.submitOne(client, this.commandOp(flags, words), flags.json);
    } finally {
      client.close();
    }
  }

  private clientSettings(flags: SubmitFlags): { addresses: ClusterAddress[]; timeoutMs: number } {
    try {
      const timeoutMs = parseDuration(flags.timeout);
      if (timeoutMs === 0) throw new InvalidOptionError('--timeout must be more than 0');
      return { addresses: resolveCluster(flags.cluster), timeoutMs };
    } catch (error) {
      if (error instanceof InvalidOptionError) this.usageFailure(error.message, flags.json);
      throw error;
    }
  }

  private commandOp(flags: SubmitFlags, words: string[]): unknown {
    try {
      if (flags['json-command'] !== undefined) {
        if (words.length > 0) throw new UsageError('give either command words or --json-command, not both');
        return parseJsonCommand(flags['json-command']);
      }
      return parseKeyValueWords(words, { jsonValue: flags['json-value'] });
    } catch (error) {
      if (error instanceof UsageError) this.usageFailure(error.message, flags.json);
      throw error;
    }
  }

  private async submitOne(client: PaxosClient, op: unknown, json: boolean): Promise<void> {
    const outcome = await client.submit(op);
    if (json) this.log(jsonLine(submitJson(outcome)));
    else this.reportText(outcome);
    if (outcome.status === 'not_applied' && outcome.code === 'no_node_reachable') this.logToStderr(`hint: ${unreachableHint}`);
    const code = submitExitCode(outcome);
    if (code !== submitExitCodes.applied) this.exit(code);
  }

  private reportText(outcome: SubmitOutcome): void {
    switch (outcome.status) {
      case 'applied': this.log(renderResult(outcome.result)); break;
      case 'refused': this.logToStderr(outcome.error); break;
      case 'not_applied': this.logToStderr(`error: ${outcome.error}`); break;
      case 'unknown': this.logToStderr(`error: ${outcome.error}`); break;
    }
  }

  private async submitStdin(client: PaxosClient, flags: SubmitFlags, words: string[]): Promise<void> {
    if (words.length > 0) this.usageFailure('give either command words or --stdin, not both', flags.json);
    if (process.stdin.isTTY) this.logToStderr('reading commands from the terminal, one per line; end with Ctrl-D');
    const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
    try {
      await submitLines({
        lines,
        submit: (op) => client.submit(op),
        toOp: (lineWords) => parseKeyValueWords(lineWords, { jsonValue: flags['json-value'] }),
        json: flags.json,
        print: (line) => this.log(line),
        warn: (line) => this.logToStderr(`hint: ${line}`),
      });
    } catch (error) {
      this.logToStderr(`error: reading stdin failed: ${error instanceof Error ? error.message : String(error)}`);
      this.exit(submitExitCodes.failed);
    } finally {
      lines.close();
    }
  }

  /** Exit 2. Under --json the reason is also a JSON object on stdout, where scripts look. */
  private usageFailure(message: string, json: boolean): never {
    if (json) {
      this.log(jsonLine(usageJson(message)));
      this.exit(submitExitCodes.usage);
    }
    this.error(message, { exit: submitExitCodes.usage });
  }
}

function parseJsonCommand(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`--json-command is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}
