// Runs before every command: a client command with PAXOS_SECRET_FILE (or
// --secret-file, read by the commands that declare it) authenticates every
// connection it opens, whichever part of the client library opens it; with
// PAXOS_TLS_CA (and optionally PAXOS_TLS_CERT/PAXOS_TLS_KEY) every connection
// is TLS, likewise. Nodes read their TLS files from flags only (see node start).
import type { Hook } from '@oclif/core';
import { setProcessSecret, setProcessTls } from '../client/connection.js';
import { loadSecret } from '../net/secret.js';
import { loadClientTls } from '../net/tls.js';

const hook: Hook<'init'> = async function () {
  try {
    setProcessSecret(await loadSecret(undefined, { warn: (message) => process.stderr.write(`warning: ${message}\n`) }));
    setProcessTls(loadClientTls());
  } catch (error) {
    this.error((error as Error).message, { exit: 2 });
  }
};

export default hook;
