// What the driver needs from the world, as small interfaces: a disk, a network
// and a clock. The runtime wires real ones (the write-ahead log, TCP, the event
// loop); the simulation wires simulated ones from one seed. Every operation that
// waits reports back through a callback, never a Promise, so a simulation can
// run a whole cluster in one synchronous event loop.
import type { ChosenEntry, CoreEvent, PeerMessage, Ready, Slot, WalRecord } from '../core/messages.js';
import type { CommandOutcome } from '../statemachine/sessions.js';
import type { ClientResponse, TransferMessage } from '../../wire/protocol.js';

/** Called once when a disk operation is over: null when it did what it says, else why it failed. */
export type Done = (error: Error | null) => void;

export interface DriverDisk {
  /**
   * Appends `records` to the log, after everything appended before. With
   * `sync`, done is called once they (and everything before them) are durable;
   * without, once they are written (the next sync makes them durable).
   */
  append(records: WalRecord[], sync: boolean, done: Done): void;
  /**
   * Writes the snapshot of the state applied up to `slot` durably (temporary
   * file, fsync, rename): one this node `took`, or one it `installed` from a peer.
   */
  writeSnapshot(slot: Slot, bytes: Uint8Array, origin: 'took' | 'installed', done: Done): void;
  /**
   * Log compaction: `records` become the start of a fresh log, made durable,
   * and every older part of the log is then dropped. Ordered with appends.
   */
  checkpoint(records: WalRecord[], done: Done): void;
  /** Bytes appended since the log was opened (the snapshotLogBytes trigger). */
  readonly bytesWritten: number;
  /**
   * True when the disk gathers appends into one fsync itself (--fsync batch:
   * the log lingers for more) and calls done in the order they were made: the
   * driver then hands each Ready over at once instead of one write at a time.
   */
  readonly gathersAppends?: boolean;
}

export interface DriverNetwork {
  /** Sends to peers, best effort: a message may be lost, which the protocol tolerates. */
  send(messages: (PeerMessage | TransferMessage)[]): void;
}

export interface DriverClock {
  /** Milliseconds on a clock that only moves forward (transfers' idle limits, refetch backoff). */
  nowMs(): number;
  /** Runs `work` soon, after the inputs already waiting: everything that arrives meanwhile shares one Ready. */
  defer(work: () => void): void;
}

/** Where the answer to one client request goes. */
export interface ClientLink {
  reply(response: ClientResponse): void;
}

/** Counters the runtime's metrics keep; every hook is optional to implement. */
export interface DriverObserver {
  /** Each Ready as the core handed it out, before the driver acts on it (scripted tests look at them). */
  onReady?(ready: Ready): void;
  onSlotApplied?(commands: number): void;
  /** A slot was applied, with what each of its commands came to (the simulation checks them). */
  onApplied?(entry: ChosenEntry, outcomes: CommandOutcome[]): void;
  onCommandProposed?(key: string): void;
  onCommandApplied?(key: string): void;
  onCommandsAbandoned?(): void;
  onCoreEvent?(event: CoreEvent): void;
  onSnapshotTaken?(slot: Slot): void;
  /** A snapshot's self-check: whether restoring it into a fresh machine gave the same snapshot bytes. */
  onSnapshotSelfCheck?(slot: Slot, restoredAlike: boolean): void;
  onSnapshotInstalled?(slot: Slot): void;
}
