// From the words of `paxos submit set x 1` to the op array a replica applies,
// and from a result back to text. Validation here is the store's own
// (verbs.ts), run early so a mistake is a usage error (exit 2) before anything
// is proposed, with the same message the store would have refused it with.
import { CommandRefused } from './types.js';
import { type KeyValueVerb, checkArity, checkKeyValueOp, keyValueVerbs, lookupVerb, unknownVerbMessage } from './verbs.js';
import { renderResult, truncateText } from './values.js';

export { renderResult };

/** A command line that cannot become a command; `paxos submit` exits 2 with its message. */
export class UsageError extends Error {
  /** Stable code for `--json` output and for matching in code. */
  readonly code = 'USAGE' as const;

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** How {@link parseKeyValueWords} reads value words. */
export interface ParseOptions {
  /** Parse value words (set's VALUE, cas's EXPECTED and NEW, append's VALUE) as JSON. */
  jsonValue: boolean;
}

/** Every verb's usage line, one per line, for help and for an empty command. */
export const keyValueUsage = Object.values(keyValueVerbs)
  .map((shape) => shape.usage)
  .join('\n');

/**
 * Turns `["set","x","1"]` (the words after `paxos submit`) into the op array
 * the key-value store applies. The verb is case-insensitive. Throws
 * {@link UsageError} with a message such as `usage: cas KEY EXPECTED NEW`.
 */
export function parseKeyValueWords(words: readonly string[], options: ParseOptions): unknown[] {
  if (words.length === 0) throw new UsageError(`usage: COMMAND [ARG...], one of:\n${keyValueUsage}`);
  const verb = lookupVerb(words[0].toLowerCase());
  if (verb === undefined) throw new UsageError(unknownVerbMessage(words[0]));
  const arityMessage = checkArity(verb, words.length - 1);
  if (arityMessage !== undefined) throw new UsageError(arityMessage);
  const valuePositions = options.jsonValue ? keyValueVerbs[verb].valuePositions : [];
  const op: unknown[] = [verb, ...words.slice(1)];
  for (const position of valuePositions) op[position] = parseJsonWord(words[position], verb, position);
  return checkAsUsage(op);
}

function parseJsonWord(word: string, verb: KeyValueVerb, position: number): unknown {
  try {
    return JSON.parse(word);
  } catch (error) {
    // The usage line names each position: "cas KEY EXPECTED NEW".
    const name = keyValueVerbs[verb].usage.split(' ')[position] ?? 'VALUE';
    const reason = error instanceof Error ? error.message : String(error);
    const hint = 'quote strings, e.g. \'"text"\'';
    const shown = JSON.stringify(truncateText(word, 64));
    throw new UsageError(`--json-value: ${name} ${shown} is not valid JSON (${reason}); ${hint}`);
  }
}

function checkAsUsage(op: unknown[]): unknown[] {
  try {
    checkKeyValueOp(op);
  } catch (error) {
    if (error instanceof CommandRefused) throw new UsageError(error.message);
    throw error;
  }
  return op;
}
