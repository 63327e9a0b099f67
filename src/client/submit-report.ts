// How `paxos submit` reports an outcome: exit codes, the JSON object of SPEC's
// `--stdin` format, the text a person reads, and the `--stdin` loop itself.
// Pure apart from the callbacks it is given, so it is tested without oclif.
import { UsageError, renderResult } from '../node/statemachine/parse.js';
import { renderJson } from '../node/statemachine/values.js';
import type { SubmitResult } from './api.js';
import type { SubmitOutcome } from './client.js';
import { cliCommand } from '../cli/invocation.js';

/** Exit codes of `paxos submit` (SPEC: `paxos submit`). */
export const submitExitCodes = Object.freeze({
  applied: 0,
  /** Reading stdin failed in --stdin mode; per-line outcomes are in the output. */
  failed: 1,
  usage: 2,
  refused: 3,
  notApplied: 4,
  unknown: 5,
  /** --verify: replicas computed different outcomes for the command's slot (a non-deterministic state machine). */
  disagreement: 6,
  /** --verify: applied, but fewer than a majority of replicas could confirm the outcome. */
  unverified: 7,
});

/**
 * Said whenever no node at all could be reached (the error itself lists the
 * addresses tried): the usual cause is that no cluster was started.
 */
export const unreachableHint = `Is the cluster running? Start a local one with \`${cliCommand()} cluster start\`, `
  + 'or point --cluster (or PAXOS_CLUSTER) at a running cluster.';

export function submitExitCode(outcome: SubmitOutcome): number {
  switch (outcome.status) {
    case 'applied': return submitExitCodes.applied;
    case 'refused': return submitExitCodes.refused;
    case 'not_applied': return submitExitCodes.notApplied;
    case 'unknown': return submitExitCodes.unknown;
  }
}

/**
 * The exit code of one command with its vote: a disagreement trumps
 * everything; an inconclusive vote only turns "applied" into 7.
 */
export function verifiedExitCode(outcome: SubmitResult): number {
  const code = submitExitCode(outcome);
  const verdict = outcome.verification?.verdict;
  if (verdict === 'disagree') return submitExitCodes.disagreement;
  if (verdict === 'inconclusive' && code === submitExitCodes.applied) return submitExitCodes.unverified;
  return code;
}

/**
 * The JSON object SPEC gives for one command, plus `code` (and `tried`) so
 * scripts can branch, and `verify` (the Verification) under `--verify`.
 */
export function submitJson(outcome: SubmitResult): Record<string, unknown> {
  const json = outcomeJson(outcome);
  return outcome.verification === undefined ? json : { ...json, verify: outcome.verification };
}

function outcomeJson(outcome: SubmitOutcome): Record<string, unknown> {
  switch (outcome.status) {
    case 'applied':
      return { ok: true, result: outcome.result, slot: outcome.slot, ...readJson(outcome) };
    case 'refused':
      return { ok: false, refused: true, indeterminate: false, error: outcome.error, slot: outcome.slot, ...readJson(outcome) };
    case 'not_applied':
      return { ok: false, error: outcome.error, indeterminate: false, code: outcome.code, tried: outcome.tried };
    case 'unknown':
      return { ok: false, error: outcome.error, indeterminate: true, code: outcome.code, tried: outcome.tried };
  }
}

/**
 * For a read without the log: how it was answered. `slot` is then the applied
 * slot it read; a local read adds that it may be stale and the highest slot
 * its replica knew chosen.
 */
function readJson(outcome: Extract<SubmitOutcome, { status: 'applied' | 'refused' }>): Record<string, unknown> {
  const read = outcome.read;
  if (read === undefined) return {};
  if (read.consistency === 'linearizable') return { consistency: read.consistency };
  return { consistency: read.consistency, stale: true, appliedSlot: read.appliedSlot, knownChosenSlot: read.knownChosenSlot, address: outcome.address };
}

/** The JSON object for a command line that could not become a command: nothing was sent. */
export function usageJson(message: string): Record<string, unknown> {
  return { ok: false, error: message, indeterminate: false, code: 'usage' };
}

/** One line of JSON; tolerates what msgpack carries and JSON cannot (bigint). */
export function jsonLine(value: Record<string, unknown>): string {
  return renderJson(value);
}

/**
 * One line of text per command for `--stdin` without `--json`: the rendered
 * result, or the reason in parentheses-tagged form, so output lines stay in
 * step with input lines.
 */
export function submitTextLine(outcome: SubmitOutcome): string {
  switch (outcome.status) {
    case 'applied': return renderResult(outcome.result);
    case 'refused': return `(refused) ${oneLine(outcome.error)}`;
    case 'not_applied': return `(error) ${oneLine(outcome.error)}`;
    case 'unknown': return `(unknown) ${oneLine(outcome.error)}`;
  }
}

export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, '; ');
}

/**
 * Splits one `--stdin` line into words: a line starting with `[` is a JSON
 * array of strings (for values with spaces), anything else splits on
 * whitespace. Throws UsageError.
 */
export function splitCommandLine(line: string): string[] {
  const text = line.trim();
  if (!text.startsWith('[')) return text.split(/\s+/);
  let words: unknown;
  try {
    words = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`a line starting with [ must be a JSON array of strings: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!Array.isArray(words) || !words.every((word): word is string => typeof word === 'string')) {
    throw new UsageError('a line starting with [ must be a JSON array of strings');
  }
  return words;
}

/** What the `--stdin` loop needs; the command passes the real ones, tests fakes. */
export interface SubmitLinesOptions {
  lines: AsyncIterable<string>;
  submit(op: unknown): Promise<SubmitOutcome>;
  /**
   * Runs before each line: null to go on, or the outcome to report for the
   * line instead (e.g. no node reachable, so which state machine the words
   * are for is not known). Absent: always go on.
   */
  prepare?(): Promise<SubmitOutcome | null>;
  /** Words to the state machine's op; throws UsageError for a bad command. */
  toOp(words: string[]): unknown;
  json: boolean;
  /** Prints one line on stdout, as soon as its command completes. */
  print(line: string): void;
  /** Prints a diagnostic on stderr. */
  warn(line: string): void;
}

/**
 * Runs one command per line, in order, one at a time; blank lines are
 * skipped; a bad line gets an error line and the loop goes on. Resolves when
 * the input ends; rejects only if reading the input fails.
 */
export async function submitLines(options: SubmitLinesOptions): Promise<void> {
  let hinted = false;
  for await (const line of options.lines) {
    if (line.trim() === '') continue;
    const outcome = (await options.prepare?.()) ?? (await submitLine(options, line));
    if (outcome === null) continue;
    options.print(options.json ? jsonLine(submitJson(outcome)) : submitTextLine(outcome));
    if (!hinted && outcome.status === 'not_applied' && outcome.code === 'no_node_reachable') {
      hinted = true;
      options.warn(unreachableHint);
    }
  }
}

/** Parses and submits one line; a bad line gets its error line here, and null. */
async function submitLine(options: SubmitLinesOptions, line: string): Promise<SubmitOutcome | null> {
  let op: unknown;
  try {
    op = options.toOp(splitCommandLine(line));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    options.print(options.json ? jsonLine(usageJson(error.message)) : `(error) ${oneLine(error.message)}`);
    return null;
  }
  return options.submit(op);
}
