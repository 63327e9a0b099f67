// The one number a session's window and a leader's per-session admission
// share. Its own file with no imports, so src/node/config.ts (which must pull
// in nothing that opens a file or a socket) can take it as a default.

/**
 * Commands of one session whose outcomes the replicated state keeps, counted
 * back from the session's highest seq (see ReplicatedService): a retry of any
 * of them gets its original outcome. A client keeps at most this many seqs
 * open at once (the highest it sends is below its lowest unanswered seq plus
 * this), and a leader lets one session have at most this many commands
 * waiting (`--session-commands-in-flight`), so a retry of an unanswered
 * command is always inside the window. Each session keeps this many outcomes.
 */
export const sessionWindow = 64;
