// Errors of the checker room, each with a stable `code` for `--json` output.

/** A history line that does not follow SPEC's history format; `line` counts from 1. */
export class HistoryParseError extends Error {
  readonly code = 'history_parse' as const;
  readonly line: number;

  constructor(line: number, reason: string) {
    super(`line ${line}: ${reason}`);
    this.name = 'HistoryParseError';
    this.line = line;
  }
}

/** The history file could not be read (missing, a directory, no permission). */
export class HistoryReadError extends Error {
  readonly code = 'history_read' as const;

  constructor(path: string, cause: NodeJS.ErrnoException) {
    super(`cannot read history ${path}: ${cause.code === 'ENOENT' ? 'no such file' : cause.message}`, { cause });
    this.name = 'HistoryReadError';
  }
}
