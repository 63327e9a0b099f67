// Runs before every command: a client command with PAXOS_SECRET_FILE (or
// --secret-file, read by the commands that declare it) authenticates every
// connection it opens, whichever part of the client library opens it.
import type { Hook } from '@oclif/core';
import { setProcessSecret } from '../client/connection.js';
import { loadSecret } from '../node/runtime/secret.js';

const hook: Hook<'init'> = async function () {
  try {
    setProcessSecret(await loadSecret(undefined, { warn: (message) => process.stderr.write(`warning: ${message}\n`) }));
  } catch (error) {
    this.error((error as Error).message, { exit: 2 });
  }
};

export default hook;
