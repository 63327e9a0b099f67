// How the user runs this CLI, for the hints that tell them what to type next.
import { existsSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: this file is dist/cli/invocation.js (src/cli/invocation.ts under tsx). */
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * `npx paxos` in a directory of the checkout (npx runs a checkout's own bin,
 * and `paxos` is on no PATH there), `paxos` anywhere else: an installed
 * package has no tsconfig.json, and outside the checkout `npx paxos` would
 * fetch the registry's unrelated package of that name.
 */
export function cliCommand(cwd: string = process.cwd(), root: string = packageRoot): string {
  const checkout = existsSync(join(root, 'tsconfig.json'));
  const inside = cwd === root || cwd.startsWith(root + sep);
  return checkout && inside ? 'npx paxos' : 'paxos';
}
