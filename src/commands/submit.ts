import { createInterface } from 'node:readline';
import { Command, Flags } from '@oclif/core';
import { connect, consistencies, isBuiltinStateMachine, type ClusterClient, type Consistency, type SubmitResult } from '../client/api.js';
import type { SubmitOutcome } from '../client/client.js';
import { InvalidOptionError } from '../client/errors.js';
import { HistoryRecorder, HistoryWriteError, recordSubmit } from '../client/history.js';
import {
  jsonLine,
  submitExitCodes,
  submitJson,
  submitLines,
  unreachableHint,
  usageJson,
  verifiedExitCode,
} from '../client/submit-report.js';
import { verificationLines } from '../client/verify.js';
import { UsageError, parseKeyValueWords, renderResult } from '../node/statemachine/parse.js';
import { applyClientAuthFlags, clientAuthFlags } from '../client/auth-flags.js';
import { clusterFlag, clusterSettings, type ClusterSettings } from '../client/cluster-flag.js';

interface SubmitFlags {
  cluster?: string;
  timeout: string;
  json: boolean;
  'json-value': boolean;
  'json-command'?: string;
  stdin: boolean;
  history?: string;
  'history-process'?: number;
  verify: boolean;
  consistency?: string;
  query: boolean;
}

/** Sends one command and returns its outcome (recording it when --history is given). */
type Submitter = (op: unknown) => Promise<SubmitResult>;

/** Turns command words into the op to submit; throws UsageError. */
type WordParser = (words: string[]) => unknown;

export default class Submit extends Command {
  static override summary = 'Submit a command to the replicated state machine and print its result.';

  static override description = `Finds the leader (following redirects, retrying on leader change) and waits until the command is chosen AND applied, then prints the state machine's result. Every command carries this run's client id and a sequence number, so a retried command is executed at most once.

Commands of the built-in key-value store: get K, set K V, del K, cas K EXPECTED NEW, incr K [N], append K V, noop. Words that start with "--" must come after a lone "--" (paxos submit -- set x --not-a-flag).

When the cluster runs a user state machine (node start --state-machine), the words are passed to its apply as an array of strings (paxos submit deposit alice 10 -> ["deposit","alice","10"]), unchecked; --json-command passes any JSON value. The node's welcome says which state machine it runs; when no node answers, that is reported (exit 4, no node reachable), not a guess at the words.

--verify: after the command is applied at slot S, every replica in --cluster is asked for the outcome it computed at S, and the agreement is reported on stderr (and as "verify" under --json). Replicas that disagree mean a non-deterministic state machine: reported loudly, exit 6.

Exit codes: 0 applied; 2 usage error; 3 applied but refused by the state machine (e.g. cas mismatch); 4 definitely not applied (no node reachable, or rejected before it was proposed); 5 outcome unknown (timed out after it may have been proposed); 6 (--verify) replicas computed different outcomes; 7 (--verify) applied, but fewer than a majority of replicas could confirm the outcome. With --stdin the exit code is 0 unless reading stdin failed (1) or some --verify vote disagreed (6): each line's outcome is in the output.

Reads: \`get K\` (and, for a user state machine, a command sent with --query, which its query export answers) is linearizable by default without a log write: the leader confirms with a majority that it still leads after the read arrived, and answers once it has applied every slot chosen before that. --consistency log orders the read through the log like any command; --consistency local answers at once from the first replica that answers (stale, possibly: it says so on stderr, with its applied slot and the highest slot it knew chosen; under --json as "stale", "appliedSlot" and "knownChosenSlot"). --consistency applies to reads only; commands always go through the log. --verify sends a read through the log (client voting needs a slot every replica computed), and refuses --consistency linearizable or local.

--history FILE appends every get, set and cas to FILE as read, write and cas events of process --history-process (default 0), in the format \`paxos check\` reads: "ok" when applied, "fail" when definitely not applied or refused (a cas that did not match changed nothing), "info" when the outcome is unknown. Other commands are sent but not recorded, and so are --consistency local reads (they may be stale, so a checker would rightly refuse them).`;

  static override usage = [
    'submit WORD... [--cluster host:port,...] [--timeout 10s] [--json] [--json-value] [--verify]',
    'submit --stdin [--json] [--json-value] [--verify]',
    "submit --json-command '<json>' [--verify]",
    'submit get KEY [--consistency linearizable|log|local]',
    'submit --query WORD... [--consistency linearizable|log|local]',
  ];

  static override examples = [
    { description: 'Set a key (prints OK).', command: '<%= config.bin %> submit set x 1' },
    { description: 'Read it back (prints 1, or (nil) for a missing key).', command: '<%= config.bin %> submit get x' },
    { description: 'Compare-and-swap: exit code 3 and "cas failed: x is 3" when x is not 1.', command: '<%= config.bin %> submit cas x 1 2' },
    { description: 'A JSON object as the value.', command: '<%= config.bin %> submit --json-value set user \'{"name":"ada"}\'' },
    { description: 'Machine-readable outcome.', command: '<%= config.bin %> submit --json incr hits' },
    { description: 'Many commands, one JSON result per line, in order.', command: 'printf "set a 1\\nincr a\\nget a\\n" | <%= config.bin %> submit --stdin --json' },
    { description: 'A command for a user state machine (--state-machine): the words, as an array of strings.', command: '<%= config.bin %> submit deposit alice 10' },
    { description: 'Any JSON value as the command, passed as is.', command: '<%= config.bin %> submit --json-command \'["deposit","alice",10]\'' },
    { description: 'Ask every replica for the outcome it computed (client voting); exit 6 if they disagree.', command: '<%= config.bin %> submit --verify balance alice' },
    { description: 'Read from the replica contacted, without the leader: possibly stale, and it says how far behind.', command: '<%= config.bin %> submit --consistency local get x' },
    { description: 'Read through the log, as a command.', command: '<%= config.bin %> submit --consistency log get x' },
    { description: "A read-only command for a user state machine's query export, answered without the log.", command: '<%= config.bin %> submit --query balance alice' },
    { description: 'Record a history for `paxos check`.', command: 'printf "set x 1\\ncas x 1 2\\nget x\\n" | <%= config.bin %> submit --stdin --history h.jsonl && <%= config.bin %> check h.jsonl' },
    { description: 'Another cluster.', command: '<%= config.bin %> submit -c 10.0.0.1:7401,10.0.0.2:7401,10.0.0.3:7401 get x' },
  ];

  // The command's words are free-form (`set x 1`), so they are not declared as args.
  static override strict = false;

  static override flags = {
    ...clusterFlag,
    timeout: Flags.string({ summary: 'Give up after this long, retries included (500ms, 5s, 2m).', default: '10s', helpValue: 'duration' }),
    json: Flags.boolean({ summary: 'Print one JSON object per command on stdout.' }),
    'json-value': Flags.boolean({ summary: 'Parse values (set V, cas EXPECTED NEW, append V) as JSON.' }),
    'json-command': Flags.string({
      summary: 'Submit this JSON value as the command, unchecked (for --state-machine modules).',
      exclusive: ['stdin', 'json-value'],
      helpValue: 'json',
    }),
    stdin: Flags.boolean({ summary: 'Read one command per line from stdin (a line may be a JSON array of words).' }),
    ...clientAuthFlags,
    verify: Flags.boolean({ summary: 'After the command is applied, ask every replica for the outcome it computed and report how many agree (exit 6 if they disagree).' }),
    consistency: Flags.string({
      summary: 'How a read (get, --query) is answered: linearizable (default: the leader, without the log), log (through the log), local (the replica contacted, possibly stale).',
      options: [...consistencies],
      helpValue: 'linearizable|log|local',
    }),
    query: Flags.boolean({ summary: "Send the words (or --json-command) as a read-only query: a user state machine's query export answers it without the log (the built-in store: get only)." }),
    history: Flags.string({ summary: 'Append each get, set and cas and its outcome to this file, for `paxos check`.', helpValue: 'file' }),
    'history-process': Flags.integer({
      summary: 'The process number in --history events (default 0); give each concurrent client its own.',
      // No oclif default: a default would trip dependsOn when --history is absent.
      min: 0,
      dependsOn: ['history'],
    }),
  };

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(Submit);
    await applyClientAuthFlags(flags).catch((error: Error) => this.usageFailure(error.message, flags.json));
    const words = argv.map(String);
    const { addresses, timeoutMs } = this.clientSettings(flags);
    const recorder = this.openHistory(flags);
    const client = connect(addresses, { timeoutMs, verify: flags.verify });
    const submit: Submitter = async (op) => {
      const read = this.readConsistency(op, flags);
      if (read === null || read === 'log') {
        const result = await recordSubmit(recorder, flags['history-process'] ?? 0, op, () => client.submit(op));
        this.reportVote(result, flags.json);
        return result;
      }
      // A local read may be stale: recorded, it would make `paxos check` refuse a history for the wrong reason.
      return recordSubmit(read === 'local' ? undefined : recorder, flags['history-process'] ?? 0, op, () => client.query(op, { consistency: read }));
    };
    try {
      if (flags.stdin) await this.submitStdin(submit, flags, words, client);
      else {
        const command = await this.commandOp(client, flags, words);
        if (!('outcome' in command)) this.checkConsistencyFlag(command.op, flags);
        this.finishOne('outcome' in command ? command.outcome : await submit(command.op), flags.json);
      }
    } finally {
      client.close();
      recorder?.close();
    }
  }

  /** The state machine the words were parsed for (learned from the first node that answered). */
  private builtin = true;

  /**
   * How `op` is sent: null for a command through the log; else the read's
   * consistency (`log` is still a submit). A read is a built-in `get`, or any
   * command under --query.
   */
  private readConsistency(op: unknown, flags: SubmitFlags): Consistency | null {
    const isRead = flags.query || (this.builtin && Array.isArray(op) && op[0] === 'get');
    if (!isRead) return null;
    // Client voting needs a slot every replica computed: --verify sends a read through the log.
    return (flags.consistency as Consistency | undefined) ?? (flags.verify ? 'log' : 'linearizable');
  }

  private openHistory(flags: SubmitFlags): HistoryRecorder | undefined {
    if (flags.history === undefined) return undefined;
    try {
      return new HistoryRecorder(flags.history);
    } catch (error) {
      this.usageFailure(`cannot open --history ${flags.history}: ${error instanceof Error ? error.message : String(error)}`, flags.json);
    }
  }

  private clientSettings(flags: SubmitFlags): ClusterSettings {
    try {
      return clusterSettings(flags);
    } catch (error) {
      if (error instanceof InvalidOptionError) this.usageFailure(error.message, flags.json);
      throw error;
    }
  }

  /** --consistency names how a read is answered; given with a command (never a read), it is a mistake. */
  private checkConsistencyFlag(op: unknown, flags: SubmitFlags): void {
    if (flags.consistency === undefined || flags.consistency === 'log') return;
    if (flags.verify) this.usageFailure(`--verify asks every replica for the outcome at the read's slot, so it needs a read through the log: drop --consistency ${flags.consistency}, or give --consistency log`, flags.json);
    if (this.readConsistency(op, flags) !== null) return;
    this.usageFailure(`--consistency ${flags.consistency} applies to reads (get, or --query); a command always goes through the log`, flags.json);
  }

  /** The op to submit, or (no node answered, so the words cannot be read) the outcome to report instead. */
  private async commandOp(client: ClusterClient, flags: SubmitFlags, words: string[]): Promise<{ op: unknown } | { outcome: SubmitOutcome }> {
    try {
      if (flags['json-command'] !== undefined) {
        if (words.length > 0) throw new UsageError('give either command words or --json-command, not both');
        return { op: parseJsonCommand(flags['json-command']) };
      }
      const learned = await this.wordParser(client, flags);
      return 'outcome' in learned ? learned : { op: learned.parse(words) };
    } catch (error) {
      if (error instanceof UsageError) this.usageFailure(error.message, flags.json);
      throw error;
    }
  }

  /**
   * The built-in store's verbs are checked before anything is sent (a mistake
   * exits 2); a user state machine gets the words as they are. Which one runs
   * comes from the first node's welcome. When no node answers, the words
   * cannot be read at all: the outcome (no node reachable, with the addresses
   * tried and why) is what the user needs, not a guess at a usage error.
   */
  private async wordParser(client: ClusterClient, flags: SubmitFlags): Promise<{ parse: WordParser } | { outcome: SubmitOutcome }> {
    const probe = await client.probe();
    if (!probe.reached) return { outcome: probe.outcome };
    const machine = probe.stateMachine;
    this.builtin = isBuiltinStateMachine(machine);
    if (this.builtin) {
      return {
        parse: (words) => {
          const op = parseKeyValueWords(words, { jsonValue: flags['json-value'] });
          if (flags.query && op[0] !== 'get') throw new UsageError(`--query takes a read, and the built-in store has one: get KEY (${String(op[0])} changes the store; submit it without --query)`);
          return op;
        },
      };
    }
    if (flags['json-value']) {
      this.usageFailure(`--json-value applies to the built-in key-value store, but the cluster runs ${machine}: use --json-command`, flags.json);
    }
    return {
      parse: (words) => {
        if (words.length === 0) throw new UsageError(`usage: paxos submit WORD... (the cluster runs ${machine}, which gets the words as an array of strings), or --json-command JSON`);
        return words;
      },
    };
  }

  private finishOne(outcome: SubmitResult, json: boolean): void {
    if (json) this.log(jsonLine(submitJson(outcome)));
    else this.reportText(outcome);
    if (outcome.status === 'not_applied' && outcome.code === 'no_node_reachable') this.logToStderr(`hint: ${unreachableHint}`);
    const code = verifiedExitCode(outcome);
    if (code !== submitExitCodes.applied) this.exit(code);
  }

  /** Some --verify vote disagreed; with --stdin the exit code says so at the end. */
  private disagreed = false;

  /** A vote's report goes to stderr; a disagreement always, however quiet the output is meant to be. */
  private reportVote(result: SubmitResult, json: boolean): void {
    const verification = result.verification;
    if (verification === undefined) return;
    if (verification.verdict === 'disagree') this.disagreed = true;
    else if (json) return;
    const answeredBy = result.status === 'applied' || result.status === 'refused' ? result.address : undefined;
    for (const line of verificationLines(verification, answeredBy)) this.logToStderr(line);
  }

  private reportText(outcome: SubmitOutcome): void {
    switch (outcome.status) {
      case 'applied':
        this.log(renderResult(outcome.result));
        if (outcome.read?.consistency === 'local') this.logToStderr(localReadNote(outcome.address, outcome.read.appliedSlot, outcome.read.knownChosenSlot));
        break;
      case 'refused': this.logToStderr(outcome.error); break;
      case 'not_applied': this.logToStderr(`error: ${outcome.error}`); break;
      case 'unknown': this.logToStderr(`error: ${outcome.error}`); break;
    }
  }

  private async submitStdin(submit: Submitter, flags: SubmitFlags, words: string[], client: ClusterClient): Promise<void> {
    if (words.length > 0) this.usageFailure('give either command words or --stdin, not both', flags.json);
    if (process.stdin.isTTY) this.logToStderr('reading commands from the terminal, one per line; end with Ctrl-D');
    const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
    // Learned at the first line a node answers for; until then each line reports why none did.
    let parse: WordParser | null = null;
    const prepare = async (): Promise<SubmitOutcome | null> => {
      if (parse !== null) return null;
      const learned = await this.wordParser(client, flags);
      if ('outcome' in learned) return learned.outcome;
      parse = learned.parse;
      return null;
    };
    try {
      await submitLines({
        lines,
        submit,
        prepare,
        toOp: (lineWords) => (parse as WordParser)(lineWords),
        json: flags.json,
        print: (line) => this.log(line),
        warn: (line) => this.logToStderr(`hint: ${line}`),
      });
    } catch (error) {
      const what = error instanceof HistoryWriteError ? 'recording the history failed' : 'reading stdin failed';
      this.logToStderr(`error: ${what}: ${error instanceof Error ? error.message : String(error)}`);
      this.exit(submitExitCodes.failed);
    } finally {
      lines.close();
    }
    if (this.disagreed) this.exit(submitExitCodes.disagreement);
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

/** Said on stderr after a local read's result: it may be stale, and by how much this replica knew. */
export function localReadNote(address: string, appliedSlot: number, knownChosenSlot: number): string {
  const behind = knownChosenSlot - appliedSlot;
  const lag = behind > 0 ? `${behind} slot${behind === 1 ? '' : 's'} behind the ${knownChosenSlot} it knew chosen` : `the highest slot it knew chosen`;
  return `note: a local read of ${address}, which may be stale: its state at applied slot ${appliedSlot} (${lag}; the leader may know more)`;
}

function parseJsonCommand(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`--json-command is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}
