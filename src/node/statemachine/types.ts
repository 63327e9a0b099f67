// The contract between a replica and the service it replicates. The built-in
// key-value store implements it, and so does a user's module loaded with
// `paxos node start --state-machine PATH`.

/**
 * A deterministic service that Paxos keeps identical on every replica.
 *
 * Every replica calls `apply` with the same commands in the same order, so
 * `apply` must depend only on the current state and the command: no clocks,
 * no randomness, no I/O, no iteration order that could differ between runs.
 * If it is not deterministic, the replicas silently drift apart.
 */
export interface StateMachine {
  /**
   * Executes one command and returns its result, which must be msgpack-able
   * (it is sent to the client and kept in the client's session for retries).
   *
   * Throwing refuses the command: the client gets the error's message and the
   * node goes on. Validate before changing anything, because a refused command
   * must leave the state as it was; throw {@link CommandRefused} for a refusal
   * the user should read.
   */
  apply(command: unknown): unknown;

  /**
   * Optional: answers a read-only `command` from the current state, for the
   * read path (`paxos submit --query`, and the built-in store's `get`), which
   * never writes it to the log. It must not change the state in any way: it
   * runs on one replica only (the leader, or the replica a `local` read
   * contacted), at a moment no other replica shares, so a change here would
   * make the replicas drift apart. Its result must be msgpack-able, as
   * apply's; throwing refuses the read (the client gets the message). Without
   * it, queries are refused and reads go through the log as commands.
   */
  query?(command: unknown): unknown;

  /**
   * Serialises the whole state. Equal states should give identical bytes, so
   * that replicas can be compared by a digest of their snapshots.
   */
  snapshot(): Uint8Array;

  /**
   * Replaces the whole state with one that `snapshot` produced. Validate the
   * bytes before replacing anything; throw {@link SnapshotInvalid} on bad input.
   */
  restore(bytes: Uint8Array): void;
}

/**
 * Makes a fresh, empty state machine. A user module's default export has this
 * type; a replica calls it once at start and restores a snapshot into it.
 */
export type StateMachineFactory = () => StateMachine;

/**
 * Thrown by {@link StateMachine.apply} to refuse a command, such as a `cas`
 * whose expected value did not match. The command was ordered and applied,
 * and changed nothing. Because `apply` is deterministic, every replica refuses
 * with the same message. (Throwing any other error refuses the command too.)
 */
export class CommandRefused extends Error {
  /** Stable code for `--json` output and for matching in code. */
  readonly code = 'COMMAND_REFUSED' as const;

  constructor(message: string) {
    super(message);
    this.name = 'CommandRefused';
  }
}

/**
 * Thrown by `restore` when the bytes are not a snapshot it can read: wrong
 * format, wrong version, or contents that break the state's own rules.
 */
export class SnapshotInvalid extends Error {
  /** Stable code for logs and `--json` output. */
  readonly code = 'SNAPSHOT_INVALID' as const;

  constructor(message: string) {
    super(message);
    this.name = 'SnapshotInvalid';
  }
}
