// What to do about a node that could not listen, from the code of the system
// error: one wording for `paxos node start` and `paxos cluster start`, each
// naming the flags that set the port and host in that command. (Data dir
// errors carry their own advice: see src/node/storage/errors.ts.)

/** How one command lets the user choose where a node listens. */
export interface ListenFlags {
  /** What sets the port, after "choose another": `--base-port`, or `port in --listen (or ...)`. */
  port: string;
  /** What sets the host, as a noun: `--host address`. */
  host: string;
}

/** `paxos node start`: the port and host come from --listen, else from this node's entry in --peers. */
export const nodeListenFlags: ListenFlags = {
  port: "port in --listen (or in this node's entry in every node's --peers)",
  host: "host in --listen (or in this node's entry in --peers)",
};

/** `paxos node start --metrics-port`: the metrics listener shares the node's host. */
export const metricsListenFlags: ListenFlags = { port: '--metrics-port', host: nodeListenFlags.host };

/** Advice for a listen that failed with `code`, or null when the code is not a listen failure we can explain. */
export function listenAdvice(code: string | null | undefined, port: number, flags: ListenFlags): string | null {
  switch (code) {
    case 'EADDRINUSE':
      return `Port ${port} is in use (another node or cluster, or another program): stop it, or choose another ${flags.port}.`;
    case 'EADDRNOTAVAIL':
      return `The ${flags.host} is not one of this machine's addresses: use 127.0.0.1, 0.0.0.0 (every interface), or an address of this machine.`;
    case 'EACCES':
      return `Port ${port} may not be used by this user (ports below 1024 need privileges): choose another ${flags.port}, above 1024.`;
    default:
      return null;
  }
}

/** What startNode rejected with, as far as advice needs it (a Node.js system error has code, syscall and port). */
export interface StartError {
  message: string;
  code?: unknown;
  syscall?: unknown;
  port?: unknown;
}

/**
 * The message `paxos node start` ends with when its node could not start: the
 * error, and what to do when it is a listen failure (EADDRINUSE, EACCES,
 * EADDRNOTAVAIL), naming the listener that failed: the node's or the metrics one.
 */
export function nodeStartFailure(id: number, error: StartError, where: { listenPort: number; metricsPort?: number }): string {
  const head = `node ${id} cannot start: ${error.message}`;
  if (error.syscall !== 'listen' || typeof error.code !== 'string') return head;
  const port = typeof error.port === 'number' ? error.port : where.listenPort;
  const flags = port === where.metricsPort && port !== where.listenPort ? metricsListenFlags : nodeListenFlags;
  const advice = listenAdvice(error.code, port, flags);
  return advice === null ? head : `${head}. ${advice}`;
}
