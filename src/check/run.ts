// Reads a history from a file or stdin, checks it and times the whole run:
// what `paxos check` does, without oclif.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { checkHistory, type CheckOptions, type CheckResult } from './check.js';
import { HistoryParseError, HistoryReadError } from './errors.js';
import { parseHistoryLines, type Operation } from './history.js';

export interface CheckRun {
  result: CheckResult;
  /** The history as parsed, in invocation order (what an HTML report draws). */
  operations: Operation[];
  /** Reading, parsing and checking, in milliseconds. */
  elapsedMs: number;
}

/** Checks the history at `path` (`-` reads `stdin`). Throws HistoryReadError or HistoryParseError. */
export async function checkHistoryFile(path: string, options: CheckOptions & { stdin?: Readable } = {}): Promise<CheckRun> {
  const started = performance.now();
  const input = path === '-' ? (options.stdin ?? process.stdin) : createReadStream(path, { encoding: 'utf8' });
  const operations = await readOperations(path, input);
  const result = checkHistory(operations, options);
  return { result, operations, elapsedMs: performance.now() - started };
}

async function readOperations(path: string, input: Readable): Promise<Operation[]> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    return await parseHistoryLines(lines);
  } catch (error) {
    if (error instanceof HistoryParseError || !isSystemError(error)) throw error;
    throw new HistoryReadError(path, error);
  } finally {
    lines.close();
  }
}

function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}
