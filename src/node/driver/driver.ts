// The driver: acts on the pure core's Ready through a disk, a network and a
// clock (ports.ts), in the order the core demands: send what may leave at
// once, queue the records with the messages that vouch for them, write and
// fsync (group commit), then send those; apply chosen slots and answer the
// clients waiting on them; take snapshots, compact the log, fetch and install
// a peer's snapshot. It is the one piece both the runtime (real sockets, disk
// and clock) and the simulation (simulated ones, from a seed) run, so the code
// that orders fsync before send is the code the simulation checks.
import { createHash } from 'node:crypto';
import type { ChangeOutcome, PaxosNode } from '../core/node.js';
import type { Command, CoreEvent, FailedRead, NodeId, PeerMessage, ReadId, Ready, Slot, TransferFailure, Value, WalRecord } from '../core/messages.js';
import { ballotToString } from '../core/messages.js';
import { commandBytes } from '../core/size.js';
import { configurationAt, isMembershipCommand, membershipClient, type MembershipChange } from '../core/membership.js';
import { encodeSnapshot, type Snapshot } from '../storage/snapshot-codec.js';
import { describeThrown, registrationSeq, ReplicatedService, sessionErrors, type CommandOutcome, type ReplicatedServiceOptions } from '../statemachine/sessions.js';
import type { StateMachineFactory } from '../statemachine/types.js';
import { storedValueRefusal } from '../statemachine/verbs.js';
import type { QueryRequest, SnapshotFetchRequest, SlotOutcomeRequest, SlotOutcomeResponse, SubmitRequest, TransferMessage } from '../../wire/protocol.js';
import { BackupHold } from './backup.js';
import type { Logger } from './log.js';
import { SlotOutcomes } from './outcomes.js';
import type { ClientLink, DriverClock, DriverDisk, DriverNetwork, DriverObserver } from './ports.js';
import { SnapshotTransfer, type HeldSnapshot } from './transfer.js';
import { proposedRegistrations, readLocally } from './unsafe.js';

/** The limits the driver enforces; resolved and checked before it is made (see startNode). */
export interface DriverLimits {
  /** Applied slots between snapshots; 0 never snapshots. */
  snapshotEvery: number;
  /** Bytes appended to the log since the last snapshot that also trigger one; 0 turns it off. */
  snapshotLogBytes: number;
  /** Client commands waiting for their slot to apply; beyond it submits are refused as overloaded. */
  clientsWaitingMax: number;
  /** Commands one session may have waiting for their slot at this leader. */
  sessionCommandsInFlightMax: number;
  /** Largest command the leader proposes. */
  commandBytesMax: number;
  /** For the built-in store: the largest value a set, cas or append may store; null for a user state machine. */
  valueBytesMax: number | null;
  snapshotChunkBytes: number;
  snapshotTransferIdleMsMax: number;
  snapshotBytesMax: number;
  snapshotsHeldForTransfersMax: number;
  compactionHoldSlotsMax: number;
  /** After a peer's snapshot could not be restored, the next fetch waits this long. */
  snapshotRefetchMsMin: number;
}

/**
 * Deliberately broken behaviour, only to show that the tests catch it.
 * `sendBeforeDurable`: messages that vouch for records leave before those
 * records are durable (an accepted before its fsync). `localReads`: a leader
 * answers `get` (submitted, or a linearizable query) from its own state at
 * once, neither through the log nor after a heartbeat round, and a session
 * registration once it has proposed it, before it is chosen.
 */
export interface DriverSabotage {
  sendBeforeDurable?: boolean;
  localReads?: boolean;
}

export interface NodeDriverOptions {
  id: NodeId;
  core: PaxosNode;
  disk: DriverDisk;
  network: DriverNetwork;
  clock: DriverClock;
  log: Logger;
  stateMachine: StateMachineFactory;
  stateMachineIdentity: string;
  serviceOptions?: ReplicatedServiceOptions;
  /** This node's own newest durable snapshot, which its state machine starts from; null when none. */
  snapshot: (Snapshot & { bytes: Uint8Array }) | null;
  limits: DriverLimits;
  /** The address a client is redirected to for a node, as this node knows it. */
  addressOf: (id: NodeId) => string | null;
  observer?: DriverObserver;
  /** Called when the node cannot go on (a failed write or fsync); it has stopped serving. */
  onFatal?: (error: Error) => void;
  /**
   * What becomes of a message to this node itself: `step` (the default) steps
   * it in at once; `network` hands it to the network like any other, so a
   * scripted test decides when it arrives (never before it may leave).
   */
  loopback?: 'step' | 'network';
  sabotage?: DriverSabotage;
}

/**
 * Rounds of one flush: a self-delivered message makes more work for the same
 * turn, and each round's self messages answer the previous round's, so two
 * or three rounds settle; the bound keeps a bug from spinning the event loop.
 */
const flushRoundsMax = 4;

interface Waiter {
  link: ClientLink;
  requestId: number;
}

/** A linearizable read the leader holds: in the core until confirmed, then until its slot is applied. */
interface ReadWaiter {
  link: ClientLink;
  requestId: number;
  op: unknown;
  /** Set once the core confirmed it: answer once this slot is applied. */
  slot: Slot | null;
  /** A `snapshot_fetch` starting a backup, not a query: answered with the backup's first chunk. */
  backup?: true;
}

/**
 * How a leadership transfer ended, as `paxos leader transfer` reports it:
 * done (the target leads at `ballot`), redirect (ask the leader), or failed
 * with a code; `certain` says nothing will move (exit 4) rather than maybe (5).
 */
export type TransferResult =
  | { status: 'done'; from: NodeId; to: NodeId; ballot: string }
  | { status: 'redirect'; leader: NodeId | null; address: string | null }
  | { status: 'failed'; code: TransferFailure | 'shutting_down'; message: string; certain: boolean };

interface QueuedWrite {
  readyNumber: number;
  records: WalRecord[];
  mustSync: boolean;
  messages: PeerMessage[];
}

export class NodeDriver {
  readonly id: NodeId;
  private readonly core: PaxosNode;
  private readonly disk: DriverDisk;
  private readonly network: DriverNetwork;
  private readonly clock: DriverClock;
  private readonly log: Logger;
  private readonly options: NodeDriverOptions;
  private readonly limits: DriverLimits;
  private readonly observer: DriverObserver;
  private readonly transfer: SnapshotTransfer;
  private service: ReplicatedService;
  private digest: string;
  /** Recent slots' outcome digests, for clients' votes (`paxos submit --verify`). */
  private readonly outcomes = new SlotOutcomes();
  private readonly waiters = new Map<string, Waiter>();
  /** How many of the waiters belong to each client id (session). */
  private readonly waitingPerClient = new Map<string, number>();
  /** Checks a command before the leader proposes it (the built-in store's value limit); null when it may go. */
  private readonly commandRefusal: (op: unknown) => string | null;
  /** The newest durable snapshot, kept in memory to serve transfers. */
  private heldSnapshot: HeldSnapshot | null;
  /**
   * A snapshot restored from a backup (`paxos snapshot restore`) carries no
   * membership, so no peer would install it; once this node belongs to the
   * new cluster it is written again with the membership as of its slot.
   */
  private unsealedSnapshot: Snapshot | null;
  private snapshotting = false;
  /** The slot of the last snapshot the state machine failed to take; 0 after a success. */
  private snapshotFailedSlot: Slot = 0;
  /** The disk's appended-bytes counter when the last snapshot was tried (see snapshotLogBytes). */
  private logBytesAtSnapshot = 0;
  /** A peer's snapshot this state machine could not restore is not fetched again before this time. */
  private snapshotFetchNotBeforeMs = 0;
  private flushScheduled = false;
  /** Records (and the messages that vouch for them) waiting for the write in progress. */
  private readonly writeQueue: QueuedWrite[] = [];
  /** Appends given to the disk and not yet done: at most one unless the disk gathers appends (--fsync batch). */
  private writesInFlight = 0;
  private readonly settledWaiters: (() => void)[] = [];
  /** Linearizable reads this node holds, by the id the core knows them by (at most the core's readsWaitingMax). */
  private readonly readWaiters = new Map<ReadId, ReadWaiter>();
  /** Reads confirmed and waiting for their slot to be applied, in confirmation order (their slots never go down). */
  private confirmedReads: ReadId[] = [];
  private nextReadId = 1;
  /** Who waits for the transfer in progress (the core runs one at a time, so at most one). */
  private transferWaiter: { to: NodeId; done: (result: TransferResult) => void } | null = null;
  /** The backup `paxos snapshot save` is fetching from this node (backup.ts). */
  private readonly backups: BackupHold;
  private stopped = false;
  private fatal: Error | null = null;

  constructor(options: NodeDriverOptions) {
    this.options = options;
    this.id = options.id;
    this.core = options.core;
    this.disk = options.disk;
    this.network = options.network;
    this.clock = options.clock;
    this.log = options.log;
    this.limits = options.limits;
    this.observer = options.observer ?? {};
    const snapshot = options.snapshot;
    this.service = snapshot === null ? new ReplicatedService(options.stateMachine(), options.serviceOptions) : this.restoreOwnSnapshot(snapshot);
    this.digest = snapshot?.appliedDigest ?? '';
    this.heldSnapshot = snapshot === null ? null : { slot: snapshot.slot, bytes: Buffer.from(snapshot.bytes) };
    this.unsealedSnapshot = snapshot !== null && snapshot.membership === null ? snapshot : null;
    this.backups = new BackupHold({ chunkBytes: this.limits.snapshotChunkBytes, idleMsMax: this.limits.snapshotTransferIdleMsMax }, () => this.clock.nowMs());
    const valueBytesMax = this.limits.valueBytesMax;
    this.commandRefusal = valueBytesMax === null ? () => null : (op) => storedValueRefusal(op, valueBytesMax);
    this.transfer = new SnapshotTransfer({
      self: this.id,
      chunkBytes: this.limits.snapshotChunkBytes,
      idleMsMax: this.limits.snapshotTransferIdleMsMax,
      snapshotBytesMax: this.limits.snapshotBytesMax,
      snapshotsHeldForTransfersMax: this.limits.snapshotsHeldForTransfersMax,
      compactionHoldSlotsMax: this.limits.compactionHoldSlotsMax,
      send: (message: TransferMessage) => this.sendRemote([message]),
      latest: () => this.heldSnapshot,
      onComplete: (incoming, bytes, from, installed) => this.installSnapshot(incoming, bytes, from, installed),
      log: this.log,
      now: () => this.clock.nowMs(),
    });
  }

  /** Replays the recovered chosen log into the state machine; call once, after wiring. */
  start(): void {
    this.flush();
    this.sealRestoredSnapshot();
  }

  // ---- queries -----------------------------------------------------------

  get lastApplied(): Slot {
    return this.service.lastAppliedSlot;
  }

  /** The hash chain over applied values (NodeStatus.appliedDigest). */
  get appliedDigest(): string {
    return this.digest;
  }

  get lastSnapshotSlot(): Slot {
    return this.heldSnapshot?.slot ?? 0;
  }

  /** The failure that stopped this node, or null while it serves. */
  get fatalError(): Error | null {
    return this.fatal;
  }

  /** The replicated service (sessions and state machine) as applied so far. */
  get replicatedService(): ReplicatedService {
    return this.service;
  }

  slotOutcome(request: SlotOutcomeRequest): SlotOutcomeResponse {
    return this.outcomes.reply(request, this.service.lastAppliedSlot);
  }

  // ---- inputs ------------------------------------------------------------

  tick(): void {
    if (this.stopped || this.fatal !== null) return;
    this.transfer.abandonIfIdle();
    this.input(() => this.core.tick());
  }

  onPeerMessage(message: PeerMessage): void {
    // A peer catching up after a snapshot we sent: keep our log from where it is.
    if (message.type === 'chosen_request') this.transfer.onCatchupRequest(message.from, message.fromSlot);
    this.input(() => this.core.step(message));
  }

  onTransferMessage(message: TransferMessage): void {
    if (this.stopped || this.fatal !== null) return;
    this.transfer.onMessage(message);
  }

  submit(request: SubmitRequest, link: ClientLink): void {
    const refuse = (code: string, message: string) => link.reply({ type: 'error', id: request.id, code, message, indeterminate: false });
    if (this.stopped || this.fatal !== null) return refuse('shutting_down', 'the node is stopping; retry on another node');
    if (request.client.startsWith(membershipClient.slice(0, 1))) return refuse('bad_request', 'a client id must not start with a NUL character (reserved for membership changes)');
    const cached = this.service.cachedOutcome(request.client, request.seq);
    if (cached !== null) return this.answer({ link, requestId: request.id }, cached);
    if (this.options.sabotage?.localReads === true && this.core.currentRole === 'leader') {
      const local = readLocally(this.service, this.options.stateMachine, request);
      if (local !== null) return this.answer({ link, requestId: request.id }, local);
    }
    const key = waiterKey(request.client, request.seq);
    const alreadyWaiting = this.waiters.has(key);
    if (!alreadyWaiting && this.waiters.size >= this.limits.clientsWaitingMax) {
      return refuse('overloaded', `${this.limits.clientsWaitingMax} commands are already waiting (--commands-waiting-max); retry later`);
    }
    const command: Command = { client: request.client, seq: request.seq, op: request.op };
    // On the leader, measured once: for the limit here and for the core's batch and window bounds.
    const bytes = this.core.currentRole === 'leader' ? commandBytes(command) : undefined;
    const refusal = bytes === undefined ? null : this.admission(request, alreadyWaiting, bytes);
    if (refusal !== null) return refuse(refusal.code, refusal.message);
    const outcome = this.core.propose(command, bytes);
    if (outcome.status === 'redirect') {
      const address = outcome.leader === null ? null : this.options.addressOf(outcome.leader);
      return link.reply({ type: 'redirect', id: request.id, leader: outcome.leader, address });
    }
    if (outcome.status === 'busy') return refuse('overloaded', `${outcome.pendingCommandsMax} commands are queued; retry later`);
    if (!alreadyWaiting) this.waitingPerClient.set(request.client, (this.waitingPerClient.get(request.client) ?? 0) + 1);
    this.waiters.set(key, { link, requestId: request.id });
    this.observer.onCommandProposed?.(key);
    this.scheduleFlush();
  }

  /** Offers a membership change (the leader proposes it alone in a slot, one at a time); see PaxosNode.proposeMembershipChange. */
  changeMembership(change: MembershipChange): ChangeOutcome {
    if (this.stopped || this.fatal !== null) return { status: 'refused', reason: 'the node is stopping' };
    const outcome = this.core.proposeMembershipChange(change);
    this.scheduleFlush();
    return outcome;
  }

  /**
   * Moves leadership to `to` (null: the most caught-up voter); `done` is
   * called once, when the target leads or the transfer failed (within the
   * core's bound, an election timeout), or at once when refused here.
   */
  transferLeadership(to: NodeId | null, done: (result: TransferResult) => void): void {
    if (this.stopped || this.fatal !== null) return done({ status: 'failed', code: 'shutting_down', message: 'the node is stopping; retry on another node', certain: true });
    const outcome = this.core.transferLeadership(to);
    this.scheduleFlush();
    if (outcome.status === 'redirect') return done({ status: 'redirect', leader: outcome.leader, address: outcome.leader === null ? null : this.options.addressOf(outcome.leader) });
    if (outcome.status === 'refused') return done({ status: 'failed', code: outcome.code, message: outcome.message, certain: true });
    if (outcome.status === 'already') return done({ status: 'done', from: this.id, to: this.id, ballot: ballotToString(outcome.ballot) });
    this.transferWaiter = { to: outcome.to, done };
  }

  /**
   * A read-only query, never written to the log. `local`: answered at once
   * from this replica's applied state, saying how far it knows the chosen log
   * goes. `linearizable`: only the leader takes it (others redirect, as for a
   * submit); the core confirms it with a heartbeat round, and it is answered
   * once this replica has applied the slot the core stamped it with (see
   * answerReads). No fsync is waited for.
   */
  query(request: QueryRequest, link: ClientLink): void {
    const refuse = (code: string, message: string) => link.reply({ type: 'error', id: request.id, code, message, indeterminate: false });
    if (this.stopped || this.fatal !== null) return refuse('shutting_down', 'the node is stopping; retry on another node');
    if (request.consistency === 'local') return this.answerRead({ link, requestId: request.id, op: request.op, slot: null }, 'local');
    // --unsafe-local-reads: the leader answers at once, without confirming it still leads (chaos must catch it).
    if (this.options.sabotage?.localReads === true && this.core.currentRole === 'leader') {
      return this.answerRead({ link, requestId: request.id, op: request.op, slot: null }, 'linearizable');
    }
    this.confirmRead({ link, requestId: request.id, op: request.op, slot: null }, refuse);
  }

  /** Asks the core to confirm a read (ReadIndex); the waiter is answered once its slot is applied. */
  private confirmRead(waiter: ReadWaiter, refuse: (code: string, message: string) => void): void {
    const readsMax = this.core.limits.readsWaitingMax;
    if (this.readWaiters.size >= readsMax) return refuse('overloaded', `${readsMax} reads are already waiting; retry later`);
    const id = this.nextReadId;
    const outcome = this.core.read(id);
    if (outcome.status === 'redirect') {
      const address = outcome.leader === null ? null : this.options.addressOf(outcome.leader);
      return waiter.link.reply({ type: 'redirect', id: waiter.requestId, leader: outcome.leader, address });
    }
    if (outcome.status === 'busy') return refuse('overloaded', `${outcome.readsWaitingMax} reads are already waiting; retry later`);
    this.nextReadId += 1;
    this.readWaiters.set(id, waiter);
    this.scheduleFlush();
  }

  /**
   * `paxos snapshot save`: slot 0 starts a backup through the same
   * confirmation as a linearizable read (only the leader takes it), so the
   * snapshot it is answered with (answerBackup) holds every write
   * acknowledged before the request arrived; later requests fetch its chunks.
   */
  snapshotFetch(request: SnapshotFetchRequest, link: ClientLink): void {
    const refuse = (code: string, message: string) => link.reply({ type: 'error', id: request.id, code, message, indeterminate: false });
    if (this.stopped || this.fatal !== null) return refuse('shutting_down', 'the node is stopping; retry on another node');
    if (request.slot !== 0) {
      const chunk = this.backups.chunk(request);
      return 'reply' in chunk ? link.reply(chunk.reply) : refuse(chunk.code, chunk.message);
    }
    const busy = this.backups.startRefusal();
    if (busy !== null) return refuse('overloaded', busy);
    this.confirmRead({ link, requestId: request.id, op: null, slot: null, backup: true }, refuse);
  }

  /** A confirmed backup: snapshot the applied state (at or past the read's slot) and answer the first chunk. */
  private answerBackup(waiter: ReadWaiter): void {
    const refuse = (code: string, message: string) => waiter.link.reply({ type: 'error', id: waiter.requestId, code, message, indeterminate: false });
    const slot = this.service.lastAppliedSlot;
    if (slot === 0) return refuse('nothing_applied', 'nothing is applied yet: there is no state to back up');
    const busy = this.backups.startRefusal();
    if (busy !== null) return refuse('overloaded', busy);
    let bytes: Buffer;
    const membership = this.core.membershipAsOfApplied(slot);
    try {
      bytes = encodeSnapshot({ slot, appliedDigest: this.digest, state: this.service.snapshot(), membership });
    } catch (thrown) {
      return refuse('snapshot_failed', `state machine ${this.options.stateMachineIdentity} failed to take a snapshot at slot ${slot}: ${describeThrown(thrown)}`);
    }
    if (bytes.length > this.limits.snapshotBytesMax) return refuse('snapshot_too_large', `the snapshot at slot ${slot} is ${bytes.length} bytes, more than the ${this.limits.snapshotBytesMax} a node accepts`);
    const config = membership === null ? null : configurationAt(membership, slot + 1);
    const chunk = this.backups.start({ slot, bytes, voters: config?.voters.map((m) => m.id) ?? [], learners: config?.learners.map((m) => m.id) ?? [] }, waiter.requestId);
    if ('reply' in chunk) waiter.link.reply(chunk.reply);
    else refuse(chunk.code, chunk.message);
    this.log.info('serving a backup snapshot', { slot, bytes: bytes.length });
  }

  /** Stops acting: waiting clients are told to retry elsewhere; writes already given to the disk finish. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.failWaiters('shutting_down', 'the node is stopping; retry on another node');
    this.failReads([...this.readWaiters.keys()], 'shutting_down', 'the node is stopping; retry on another node');
    this.endTransferWait({ status: 'failed', code: 'shutting_down', message: 'the node stopped before the transfer ended; the target may still take over', certain: false });
  }

  private endTransferWait(result: TransferResult): void {
    const waiter = this.transferWaiter;
    this.transferWaiter = null;
    waiter?.done(result);
  }

  /** Resolves once no write is in progress or queued (after stop: everything handed to the disk is done). */
  writesSettled(): Promise<void> {
    if (this.writesInFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  private input(change: () => void): void {
    if (this.stopped || this.fatal !== null) return;
    change();
    this.scheduleFlush();
  }

  /**
   * The leader's checks before it proposes: limits an operator sets per node.
   * They are safe to differ between nodes (unlike anything apply checks),
   * because a refused command never reaches the log.
   */
  private admission(request: SubmitRequest, alreadyWaiting: boolean, bytes: number): { code: string; message: string } | null {
    const waiting = this.waitingPerClient.get(request.client) ?? 0;
    const inFlightMax = this.limits.sessionCommandsInFlightMax;
    if (!alreadyWaiting && waiting >= inFlightMax) {
      return {
        code: 'session_busy',
        message:
          `client ${request.client} already has ${waiting} commands waiting for their slot (--session-commands-in-flight ${inFlightMax}); ` +
          'this one was not proposed: wait for their answers',
      };
    }
    if (bytes > this.limits.commandBytesMax) {
      return { code: 'command_too_large', message: `the command is ${bytes} bytes, more than this node's limit of ${this.limits.commandBytesMax} bytes (--command-bytes-max); it was not proposed` };
    }
    const valueRefusal = this.commandRefusal(request.op);
    return valueRefusal === null ? null : { code: 'value_too_large', message: valueRefusal };
  }

  // ---- acting on Ready ---------------------------------------------------

  /** Inputs that arrive before the deferred flush runs share one Ready. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.clock.defer(() => this.flush());
  }

  /**
   * Acts on the core's Ready: its `messages` go out at once and chosen slots
   * are applied at once (chosen means a majority made it durable); its records
   * and `messagesAfterAppend` join the write queue, and those messages leave
   * only once the records are durable.
   */
  private flush(): void {
    this.flushScheduled = false;
    // Messages to this node itself (a leader's accept to its own acceptor) are
    // stepped in at once; their effects go in a second round of the same flush,
    // so the leader's own accept record starts its fsync without waiting a turn.
    for (let round = 0; round < flushRoundsMax; round += 1) {
      if (this.fatal !== null || this.stopped) return;
      const ready = this.core.takeReady();
      if (isEmpty(ready)) return;
      this.observer.onReady?.(ready);
      if (this.options.sabotage?.localReads === true) this.answerProposedRegistrations(ready.messages);
      let steppedSelf = this.deliver(ready.messages);
      if (this.options.sabotage?.sendBeforeDurable === true) {
        steppedSelf = this.deliver(ready.messagesAfterAppend) || steppedSelf;
        ready.messagesAfterAppend = [];
      }
      // The write goes before applying: a follower's fsync of this accept is on
      // the command's critical path, applying the slots it learned is not.
      this.queueWrite(ready);
      this.applyChosen(ready);
      if (!steppedSelf) return;
    }
    this.scheduleFlush();
  }

  /** A Ready with nothing to write and nothing before it in the queue is durable already. */
  private queueWrite(ready: Ready): void {
    const nothing = ready.records.length === 0 && ready.messagesAfterAppend.length === 0;
    if (nothing && this.writesInFlight === 0 && this.writeQueue.length === 0) return this.core.advance({ persisted: ready.number });
    this.writeQueue.push({ readyNumber: ready.number, records: ready.records, mustSync: ready.mustSync, messages: ready.messagesAfterAppend });
    this.writeNext();
  }

  /**
   * Writes everything queued as one append (group commit: one fsync covers
   * every Ready that arrived while the previous one ran), then sends the
   * messages that waited for it and tells the core those Readies are durable.
   * A disk that gathers appends itself (--fsync batch) gets each Ready at
   * once; it calls done in order, so a message still leaves only once every
   * earlier record is durable.
   */
  private writeNext(): void {
    if (this.writeQueue.length === 0 || this.fatal !== null) return;
    if (this.writesInFlight > 0 && this.disk.gathersAppends !== true) return;
    const batch = this.writeQueue.splice(0);
    const records = batch.flatMap((entry) => entry.records);
    const messages = batch.flatMap((entry) => entry.messages);
    const readyNumber = batch[batch.length - 1].readyNumber;
    const mustSync = batch.some((entry) => entry.mustSync);
    if (!mustSync && this.writesInFlight === 0) {
      // Learned chosen values only: written lazily, the next fsync makes them durable. Nothing earlier is unwritten.
      if (records.length > 0) this.disk.append(records, false, (error) => error !== null && this.die(error));
      this.core.advance({ persisted: readyNumber });
      this.deliver(messages);
      return;
    }
    // Behind an append in flight even a lazy one (or an empty one) is done only after it.
    this.writesInFlight += 1;
    this.disk.append(records, mustSync, (error) => {
      this.writesInFlight -= 1;
      if (error !== null) return this.die(error);
      this.core.advance({ persisted: readyNumber });
      this.deliver(messages);
      this.writeNext();
      if (this.writesInFlight === 0) for (const resolve of this.settledWaiters.splice(0)) resolve();
    });
  }

  /** Sends to peers; a message to this node itself is stepped in locally. Returns whether any was. */
  private deliver(messages: PeerMessage[]): boolean {
    if (messages.length === 0 || this.fatal !== null) return false;
    const remote: PeerMessage[] = [];
    let steppedSelf = false;
    const stepSelf = this.options.loopback !== 'network';
    for (const message of messages) {
      if (message.to === this.id && stepSelf) {
        if (this.stopped) continue;
        this.core.step(message);
        steppedSelf = true;
      } else remote.push(message);
    }
    this.sendRemote(remote);
    this.scheduleFlush();
    return steppedSelf;
  }

  private sendRemote(messages: (PeerMessage | TransferMessage)[]): void {
    if (messages.length > 0 && !this.stopped && this.fatal === null) this.network.send(messages);
  }

  private applyChosen(ready: Ready): void {
    for (const entry of ready.apply) {
      this.observer.onSlotApplied?.(entry.value.commands.length);
      // A membership change is the core's: the state machine and the session table
      // never see it, though it keeps its position in the value (sessions.ts, applyValue).
      const outcomes = this.outcomes.record(entry.slot, this.service.applyValue(entry.slot, entry.value, isMembershipCommand));
      this.digest = chainDigest(this.digest, entry.slot, entry.value, this.outcomes.digestOf(entry.slot) ?? '');
      this.observer.onApplied?.(entry, outcomes);
      for (const outcome of outcomes) this.resolveWaiter(outcome);
    }
    if (ready.apply.length > 0) this.core.advance({ applied: ready.apply[ready.apply.length - 1].slot });
    this.takeReads(ready);
    for (const event of ready.events) this.onCoreEvent(event);
    if (ready.snapshotNeeded !== null && this.clock.nowMs() >= this.snapshotFetchNotBeforeMs) this.transfer.fetch(ready.snapshotNeeded.from);
    this.maybeSnapshot();
    if (this.waiters.size > 0 && this.core.currentRole !== 'leader') {
      this.failWaiters('leader_changed', 'leadership changed before the command was chosen; retry');
    }
  }

  // ---- reads -------------------------------------------------------------

  /** The reads the core confirmed or gave up in this Ready; then answer every confirmed read whose slot is applied. */
  private takeReads(ready: Ready): void {
    for (const failed of ready.readsFailed) this.failRead(failed);
    for (const confirmed of ready.readsConfirmed) {
      const waiter = this.readWaiters.get(confirmed.id);
      if (waiter === undefined) continue;
      waiter.slot = confirmed.slot;
      this.confirmedReads.push(confirmed.id);
    }
    this.answerReads();
  }

  /**
   * Answers, from the state machine, the confirmed reads whose slot is
   * applied; a node no longer leading fails the rest (the client retries at
   * the new leader), so nothing waits on a follower's apply for long.
   */
  private answerReads(): void {
    if (this.confirmedReads.length === 0) return;
    const applied = this.service.lastAppliedSlot;
    const waiting: ReadId[] = [];
    for (const id of this.confirmedReads) {
      const waiter = this.readWaiters.get(id);
      if (waiter === undefined) continue;
      if (waiter.slot !== null && waiter.slot <= applied) {
        this.readWaiters.delete(id);
        if (waiter.backup === true) this.answerBackup(waiter);
        else this.answerRead(waiter, 'linearizable');
      } else waiting.push(id);
    }
    this.confirmedReads = waiting;
    if (waiting.length > 0 && this.core.currentRole !== 'leader') {
      this.failReads(waiting, 'leader_changed', 'leadership changed before the read could be answered; retry');
    }
  }

  private answerRead(waiter: ReadWaiter, consistency: 'linearizable' | 'local'): void {
    const appliedSlot = this.service.lastAppliedSlot;
    const knownChosenSlot = Math.max(appliedSlot, this.core.status().knownCommitIndex);
    const answered = this.service.query(waiter.op);
    if (answered === null) {
      const message = `state machine ${this.options.stateMachineIdentity} has no query: submit the command through the log (--consistency log)`;
      return waiter.link.reply({ type: 'error', id: waiter.requestId, code: 'query_unsupported', message, indeterminate: false });
    }
    const { ok } = answered;
    waiter.link.reply({
      type: 'query_reply',
      id: waiter.requestId,
      ok,
      result: ok ? answered.result : null,
      error: ok ? null : answered.error,
      appliedSlot,
      consistency,
      knownChosenSlot,
    });
  }

  private failRead(failed: FailedRead): void {
    const message =
      failed.reason === 'expired'
        ? 'no majority confirmed this leader in time to answer the read (it may be cut off); retry'
        : 'this node stopped leading before the read was confirmed; retry';
    this.failReads([failed.id], failed.reason === 'expired' ? 'read_expired' : 'leader_changed', message);
  }

  /** A read changes nothing, so a failed one is never indeterminate: the client simply asks again. */
  private failReads(ids: ReadId[], code: string, message: string): void {
    for (const id of ids) {
      const waiter = this.readWaiters.get(id);
      if (waiter === undefined) continue;
      this.readWaiters.delete(id);
      waiter.link.reply({ type: 'error', id: waiter.requestId, code, message, indeterminate: false });
    }
  }

  // ---- snapshots ---------------------------------------------------------

  /**
   * Every snapshotEvery applied slots, or snapshotLogBytes of log, whichever
   * comes first: write a snapshot durably, then let the core forget what it
   * covers and compact the log down to a checkpoint. A state machine whose
   * snapshot() throws does not stop the node (every replica would throw at the
   * same slot, and again on replay): that snapshot is skipped, logged, and
   * tried again an interval later; the log grows meanwhile.
   */
  private maybeSnapshot(): void {
    const every = this.limits.snapshotEvery;
    const slot = this.service.lastAppliedSlot;
    const since = Math.max(this.heldSnapshot?.slot ?? 0, this.snapshotFailedSlot);
    if (this.snapshotting || this.stopped || slot === since) return;
    // A restored snapshot that could not be sealed (see sealRestoredSnapshot) is replaced by one of our own as soon as there is one to take.
    const replacesUnsealed = this.unsealedSnapshot !== null && slot > this.unsealedSnapshot.slot && this.core.membershipAsOfApplied(slot) !== null;
    if (every === 0 && !replacesUnsealed) return;
    const logBytesMax = this.limits.snapshotLogBytes;
    const logBytes = this.disk.bytesWritten - this.logBytesAtSnapshot;
    if (!replacesUnsealed && slot - since < every && (logBytesMax === 0 || logBytes < logBytesMax)) return;
    this.logBytesAtSnapshot = this.disk.bytesWritten;
    let bytes: Buffer;
    let state: Uint8Array;
    try {
      state = this.service.snapshot();
      bytes = encodeSnapshot({ slot, appliedDigest: this.digest, state, membership: this.core.membershipForSnapshot(slot) });
    } catch (thrown) {
      return this.snapshotFailed(slot, every, thrown);
    }
    this.checkSnapshotRestores(slot, state);
    this.snapshotFailedSlot = 0;
    this.snapshotting = true;
    this.disk.writeSnapshot(slot, bytes, 'took', (error) => {
      if (error !== null) return this.die(error);
      this.heldSnapshot = { slot, bytes };
      this.unsealedSnapshot = null;
      this.observer.onSnapshotTaken?.(slot);
      this.compactLog(slot, bytes.length);
    });
  }

  /** See unsealedSnapshot: the restored snapshot again, with the membership as of its slot, once the core knows it. */
  private sealRestoredSnapshot(): void {
    const restored = this.unsealedSnapshot;
    if (restored === null || this.snapshotting || this.stopped || this.fatal !== null) return;
    if (this.heldSnapshot?.slot !== restored.slot) {
      this.unsealedSnapshot = null; // a later snapshot (taken or installed) carries its membership
      return;
    }
    if (this.core.configurationAt(restored.slot + 1) === null) return; // no cluster yet, or it knows only later slots
    const membership = this.core.membershipAsOfApplied(restored.slot);
    if (membership === null) return;
    const bytes = encodeSnapshot({ ...restored, membership });
    this.snapshotting = true;
    this.disk.writeSnapshot(restored.slot, bytes, 'took', (error) => {
      this.snapshotting = false;
      if (error !== null) return this.die(error);
      this.unsealedSnapshot = null;
      if (this.heldSnapshot?.slot === restored.slot) this.heldSnapshot = { slot: restored.slot, bytes };
      this.log.info('wrote the restored snapshot again with the new cluster\'s membership', { slot: restored.slot });
    });
  }

  /**
   * Lets the core forget the slots up to the snapshot, except those a peer
   * fetching a snapshot from us, or catching up after one, still needs (see
   * SnapshotTransfer.compactionFloor): without them it would need another snapshot.
   */
  private compactLog(snapshotSlot: Slot, bytes: number): void {
    const floor = this.transfer.compactionFloor(snapshotSlot);
    const done = () => {
      this.snapshotting = false;
      this.log.info('took a snapshot and compacted the log', { slot: snapshotSlot, bytes, compactedTo: this.core.status().compactedTo });
    };
    if (floor <= this.core.status().compactedTo || this.fatal !== null) return done(); // nothing more to forget yet
    this.disk.checkpoint(this.core.compact(floor), (error) => (error === null ? done() : this.die(error)));
  }

  /**
   * The state machine's self-check, once per snapshot (never on the apply
   * path): restore the snapshot into a fresh machine and take its snapshot
   * again. Different bytes mean restore() loses or changes something, so this
   * node would diverge from its peers after a restart or a snapshot transfer;
   * a throw means it could not restart from this snapshot at all. Logged
   * loudly; the node goes on (every replica runs the same code, and stopping
   * them all would not help), and `paxos sim` finds the cause before deploy.
   */
  private checkSnapshotRestores(slot: Slot, state: Uint8Array): void {
    const identity = this.options.stateMachineIdentity;
    let again: Uint8Array;
    try {
      again = ReplicatedService.fromSnapshot(this.options.stateMachine, state, this.options.serviceOptions).snapshot();
    } catch (thrown) {
      this.log.error(`state machine ${identity} cannot restore its own snapshot at slot ${slot}: a restart or a snapshot transfer would fail; fix its restore() (paxos sim --state-machine finds such bugs)`, {
        stateMachine: identity,
        slot,
        error: describeThrown(thrown),
      });
      this.observer.onSnapshotSelfCheck?.(slot, false);
      return;
    }
    const same = again.length === state.length && Buffer.compare(Buffer.from(again.buffer, again.byteOffset, again.byteLength), Buffer.from(state.buffer, state.byteOffset, state.byteLength)) === 0;
    if (same) return this.observer.onSnapshotSelfCheck?.(slot, true);
    this.log.warn(
      `state machine ${identity}: restore(snapshot()) gives a machine whose snapshot() differs at slot ${slot}: restore() loses or changes state, ` +
        'so a replica that restarts or installs a snapshot will diverge from the others; fix restore() (paxos sim --state-machine finds such bugs)',
      { stateMachine: identity, slot, snapshotBytes: state.length, restoredSnapshotBytes: again.length, firstDifferentByte: firstDifference(state, again) },
    );
    this.observer.onSnapshotSelfCheck?.(slot, false);
  }

  private snapshotFailed(slot: Slot, every: number, thrown: unknown): void {
    this.snapshotFailedSlot = slot;
    const identity = this.options.stateMachineIdentity;
    this.log.error(`state machine ${identity} failed to take a snapshot at slot ${slot}; skipped it`, {
      stateMachine: identity,
      slot,
      error: describeThrown(thrown),
      retryAtSlot: slot + every,
    });
    this.log.warn("the write-ahead log is not compacted until a snapshot succeeds, so it keeps growing (and so does restart time); fix the state machine's snapshot()", {
      lastSnapshot: this.heldSnapshot?.slot ?? 0,
    });
  }

  /** This node's own latest snapshot; a state machine that cannot restore it stops start-up with a message that says so. */
  private restoreOwnSnapshot(snapshot: Snapshot): ReplicatedService {
    try {
      return ReplicatedService.fromSnapshot(this.options.stateMachine, snapshot.state, this.options.serviceOptions);
    } catch (thrown) {
      throw new Error(
        `state machine ${this.options.stateMachineIdentity} could not restore this node's own snapshot at slot ${snapshot.slot}: ` +
          `${describeThrown(thrown)}; start the node with the state machine that wrote it, or fix its restore()`,
      );
    }
  }

  /**
   * A peer's snapshot arrived whole. Check it, make it durable, jump the core to
   * it, and swap the state machine: every slot the old one was due to apply has
   * been applied (apply is synchronous with taking a Ready), and the core hands
   * out only slots after the snapshot from here on. Settles once the log's
   * checkpoint after it is durable (no other transfer starts meanwhile).
   */
  private installSnapshot(snapshot: Snapshot, bytes: Buffer, from: NodeId, installed: () => void): void {
    if (this.stopped || this.fatal !== null) return installed();
    let service: ReplicatedService;
    try {
      service = ReplicatedService.fromSnapshot(this.options.stateMachine, snapshot.state, this.options.serviceOptions);
    } catch (thrown) {
      // Asking again at once would fetch the same bytes and fail the same way, in a loop.
      this.snapshotFetchNotBeforeMs = this.clock.nowMs() + this.limits.snapshotRefetchMsMin;
      this.log.error(`state machine ${this.options.stateMachineIdentity} could not restore a snapshot from a peer; refused it, and this node stays behind until one restores`, {
        peer: from,
        stateMachine: this.options.stateMachineIdentity,
        slot: snapshot.slot,
        error: describeThrown(thrown),
        retryInMs: this.limits.snapshotRefetchMsMin,
      });
      return installed();
    }
    if (snapshot.slot <= this.service.lastAppliedSlot) return installed();
    const membership = snapshot.membership;
    if (membership === null) {
      this.log.error('refused a snapshot from a peer: it carries no membership (written by an older version)', { peer: from, slot: snapshot.slot });
      return installed();
    }
    this.disk.writeSnapshot(snapshot.slot, bytes, 'installed', (error) => {
      if (error !== null) {
        this.die(error);
        return installed();
      }
      this.heldSnapshot = { slot: snapshot.slot, bytes };
      if (this.stopped || this.fatal !== null) return installed();
      const records = this.core.installSnapshot(snapshot.slot, membership);
      if (records === null) return installed();
      this.service = service;
      this.digest = snapshot.appliedDigest;
      this.observer.onSnapshotInstalled?.(snapshot.slot);
      this.log.info('installed a snapshot from a peer', { peer: from, slot: snapshot.slot, bytes: bytes.length });
      this.disk.checkpoint(records, (checkpointError) => {
        if (checkpointError !== null) this.die(checkpointError);
        installed();
      });
      this.scheduleFlush();
    });
  }

  // ---- clients -----------------------------------------------------------

  private resolveWaiter(outcome: CommandOutcome): void {
    const key = waiterKey(outcome.client, outcome.seq);
    const waiter = this.waiters.get(key);
    if (waiter === undefined) return;
    this.waiters.delete(key);
    const waiting = (this.waitingPerClient.get(outcome.client) ?? 1) - 1;
    if (waiting <= 0) this.waitingPerClient.delete(outcome.client);
    else this.waitingPerClient.set(outcome.client, waiting);
    this.observer.onCommandApplied?.(key);
    this.answer(waiter, outcome);
  }

  /**
   * A command that was not executed because of its session (expired, or its
   * seq below the window) is no refusal: it travels as an error, with
   * `indeterminate` from the one table of session errors.
   */
  /** Sabotage (`localReads`): registrations are acknowledged once proposed, before they are chosen. */
  private answerProposedRegistrations(messages: PeerMessage[]): void {
    for (const { nonce, session } of proposedRegistrations(messages)) {
      this.resolveWaiter({ client: nonce, seq: registrationSeq, slot: this.service.lastAppliedSlot, ok: true, result: { session } });
    }
  }

  private answer(waiter: Waiter, outcome: CommandOutcome): void {
    if (outcome.ok) return waiter.link.reply({ type: 'result', id: waiter.requestId, slot: outcome.slot, result: outcome.result });
    if (outcome.sessionError === undefined) return waiter.link.reply({ type: 'refused', id: waiter.requestId, slot: outcome.slot, error: outcome.error });
    const { indeterminate } = sessionErrors[outcome.sessionError];
    waiter.link.reply({ type: 'error', id: waiter.requestId, code: outcome.sessionError, message: outcome.error, indeterminate });
  }

  /** Commands proposed but not yet applied may still be chosen: the client must retry with the same seq. */
  private failWaiters(code: string, message: string): void {
    for (const waiter of this.waiters.values()) {
      waiter.link.reply({ type: 'error', id: waiter.requestId, code, message, indeterminate: true });
    }
    this.waiters.clear();
    this.waitingPerClient.clear();
    this.observer.onCommandsAbandoned?.();
  }

  private onCoreEvent(event: CoreEvent): void {
    this.observer.onCoreEvent?.(event);
    if (event.kind === 'leader') this.log.info('became leader', { ballot: ballotToString(event.ballot) });
    if (event.kind === 'candidate') this.log.info('starting phase 1', { ballot: ballotToString(event.ballot) });
    if (event.kind === 'preempted') {
      this.log.info('preempted by a higher ballot', { ballot: ballotToString(event.ballot), by: ballotToString(event.by) });
    }
    if (event.kind === 'follower') this.log.info('following', { leader: event.leader, promised: ballotToString(event.ballot) });
    if (event.kind === 'waiting') this.log.warn(event.why);
    if (event.kind === 'founded') this.log.info('founded a new cluster', { voters: event.voters });
    if (event.kind === 'founded' || event.kind === 'joined') this.sealRestoredSnapshot();
    if (event.kind === 'joined') {
      if (event.member === 'unbound') {
        this.log.info('joined a cluster that names this node id with no data dir yet: this one is bound to it once it has caught up', {
          configuration: event.configuration,
        });
      } else if (event.member === 'none') {
        this.log.warn('joined a cluster that does not name this data dir: not a member (run `paxos member add` or `paxos member replace`, or let the leader replace the old incarnation)', {
          configuration: event.configuration,
        });
      } else this.log.info('joined a cluster', { configuration: event.configuration, as: event.member });
    }
    if (event.kind === 'membership') this.log.info('membership change chosen', { slot: event.slot, effectiveFrom: event.effectiveFrom, change: event.change });
    if (event.kind === 'change_proposed') this.log.info('proposing a membership change', { slot: event.slot, change: event.change });
    if (event.kind === 'transfer_started') {
      this.log.info(`transferring leadership to node ${event.to}`, { ballot: ballotToString(event.ballot), why: event.why === 'removal' ? 'a chosen change removes this leader' : 'requested' });
    }
    if (event.kind === 'transfer_blessed') this.log.info(`node ${event.to} holds every chosen slot: told it to start phase 1 now`, { commitIndex: event.commitIndex });
    if (event.kind === 'transfer_done') {
      this.log.info('leadership transferred', { from: event.from, to: event.to, ballot: ballotToString(event.ballot) });
      this.endTransferWait({ status: 'done', from: event.from, to: event.to, ballot: ballotToString(event.ballot) });
    }
    if (event.kind === 'transfer_failed') {
      this.log.warn(`leadership transfer to node ${event.to} failed`, { code: event.code, reason: event.message });
      this.endTransferWait({ status: 'failed', code: event.code, message: event.message, certain: event.certain });
    }
  }

  /** A failed write or fsync: stop serving at once; nothing more may be acknowledged. */
  private die(error: Error): void {
    if (this.fatal !== null) return;
    this.fatal = error;
    this.log.error('node cannot go on', { error: error.message });
    this.failWaiters('node_failed', error.message);
    this.failReads([...this.readWaiters.keys()], 'node_failed', error.message);
    this.endTransferWait({ status: 'failed', code: 'shutting_down', message: error.message, certain: false });
    for (const resolve of this.settledWaiters.splice(0)) resolve();
    this.options.onFatal?.(error);
  }
}

function isEmpty(ready: Ready): boolean {
  const items =
    ready.records.length + ready.messages.length + ready.messagesAfterAppend.length + ready.apply.length + ready.events.length + ready.readsConfirmed.length + ready.readsFailed.length;
  return items === 0 && ready.snapshotNeeded === null;
}

/**
 * The applied digest after `slot`: a hash chain over every applied slot's
 * value AND what its commands came to (the outcomes digest of
 * `submit --verify`: each result or refusal), so replicas whose machines
 * computed different results at the same slot report different digests,
 * even while their states happen to stay equal.
 */
function chainDigest(previous: string, slot: Slot, value: Value, outcomesDigest: string): string {
  return createHash('sha256').update(`${previous}/${slot}/${JSON.stringify(value)}/${outcomesDigest}`).digest('hex').slice(0, 32);
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index += 1) if (a[index] !== b[index]) return index;
  return length;
}

function waiterKey(client: string, seq: number): string {
  return `${client}\u0000${seq}`;
}
