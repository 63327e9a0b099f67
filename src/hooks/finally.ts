// Runs after every command, with the error it ended on before oclif prints
// it: a nonexistent flag gets the closest flag name the command has.
import type { Hook } from '@oclif/core';
import { withFlagSuggestions, type KnownFlag } from '../cli/suggest.js';

/** The parts of oclif's NonExistentFlagsError this hook reads (oclif does not export the class by name). */
interface NonexistentFlags extends Error {
  flags: string[];
  parse: { input: { flags: Record<string, KnownFlag> } };
}

function isNonexistentFlags(error: unknown): error is NonexistentFlags {
  if (!(error instanceof Error) || !error.message.startsWith('Nonexistent flag')) return false;
  const candidate = error as Partial<NonexistentFlags>;
  return Array.isArray(candidate.flags) && typeof candidate.parse?.input?.flags === 'object';
}

const hook: Hook<'finally'> = async function ({ error }) {
  if (!isNonexistentFlags(error)) return;
  error.message = withFlagSuggestions(error.message, error.flags, Object.values(error.parse.input.flags));
};

export default hook;
