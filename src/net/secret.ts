// The cluster's shared secret on disk: `--secret-file PATH` or PAXOS_SECRET_FILE,
// for nodes and for every client command alike. The bytes go to wire/auth.ts;
// they are never logged and never sent.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { secretBytesMax, secretFromBytes } from '../wire/auth.js';

export const secretFileEnvironmentVariable = 'PAXOS_SECRET_FILE';

/** Random bytes in a generated secret (written as hex): 256 bits. */
const generatedSecretBytes = 32;

export class SecretFileError extends Error {
  readonly code = 'SECRET_FILE';
  constructor(message: string) {
    super(message);
    this.name = 'SecretFileError';
  }
}

/** The path to read: the flag, else the environment variable (ignored when empty), else none. */
export function secretFilePath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | null {
  if (flag !== undefined && flag !== '') return flag;
  const fromEnvironment = env[secretFileEnvironmentVariable];
  return fromEnvironment !== undefined && fromEnvironment.trim() !== '' ? fromEnvironment : null;
}

/**
 * Reads the secret, or returns null when none is configured. `warn` hears
 * about a file others may read (a secret anyone on the host can read protects
 * nothing from them), as ssh warns about a private key.
 */
export async function loadSecret(
  flag: string | undefined,
  options: { env?: NodeJS.ProcessEnv; warn?: (message: string) => void } = {},
): Promise<Uint8Array | null> {
  const path = secretFilePath(flag, options.env);
  if (path === null) return null;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new SecretFileError(`secret file ${path} is not a file`);
    if (info.size > secretBytesMax) throw new SecretFileError(`secret file ${path} is ${info.size} bytes; a secret is at most ${secretBytesMax}`);
    if ((info.mode & 0o077) !== 0) options.warn?.(`secret file ${path} can be read by other users; chmod 600 it`);
    return secretFromBytes(await readFile(path), `secret file ${path}`);
  } catch (error) {
    if (error instanceof SecretFileError) throw error;
    throw new SecretFileError(`cannot read secret file ${path}: ${(error as Error).message}`);
  }
}

/** Writes a new random secret readable only by its owner; keeps an existing one (a restart must not change it). */
export async function ensureSecretFile(path: string): Promise<{ created: boolean }> {
  try {
    await stat(path);
    return { created: false };
  } catch {
    await writeFile(path, `${randomBytes(generatedSecretBytes).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600); // the umask may have widened the mode given to writeFile
    return { created: true };
  }
}

/**
 * The secret file a local cluster's nodes get: --secret-file (or
 * PAXOS_SECRET_FILE) as given, else with --secret one generated into the
 * cluster's dir, else none. Returned absolute, for the clients' PAXOS_SECRET_FILE.
 */
export async function clusterSecretFile(options: { dir: string; generate: boolean; file?: string; env?: NodeJS.ProcessEnv }): Promise<string | null> {
  const given = secretFilePath(options.file, options.env);
  if (given !== null) return resolve(given);
  if (!options.generate) return null;
  await mkdir(options.dir, { recursive: true });
  const path = resolve(join(options.dir, 'secret'));
  await ensureSecretFile(path);
  return path;
}
