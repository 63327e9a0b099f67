// Assertions find programmer errors. A broken invariant in the core is a bug to
// find, not a state to survive: it throws, and the runtime exits.

export class InvariantError extends Error {
  readonly code = 'INVARIANT_BROKEN';
  constructor(message: string) {
    super(`invariant broken: ${message}`);
    this.name = 'InvariantError';
  }
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}
