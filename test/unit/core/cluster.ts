// A little cluster of real PaxosNode cores, each acted on by the real driver
// (src/node/driver), driven by hand: the test decides which message is
// delivered when, which is dropped and which is held back. The disk here is
// durable at once; messages a node sends itself go through the test's network
// too (the driver's loopback: 'network'), so a test orders those as well. The
// helper also watches the rules a test may want to check: nothing that vouches
// for a record leaves before the record is on disk.
import { PaxosNode, recoverState, type BootstrapMode, type ChangeOutcome, type CoreSabotage } from '../../../src/node/core/node.js';
import { foundingState, isVoter, type Incarnation, type MembershipChange, type MembershipState } from '../../../src/node/core/membership.js';
import { NodeDriver, type DriverLimits, type TransferResult } from '../../../src/node/driver/driver.js';
import { silentLogger } from '../../../src/node/driver/log.js';
import { createKeyValueStore } from '../../../src/node/statemachine/kv.js';
import type { ClientResponse } from '../../../src/wire/protocol.js';
import type { CoreLimits } from '../../../src/node/core/limits.js';
import { majority } from '../../../src/node/core/quorum.js';
import {
  ballotToString,
  compareBallots,
  type Ballot,
  type ChosenEntry,
  type Command,
  type CoreEvent,
  type NodeId,
  type PeerMessage,
  type PeerMessageType,
  type Ready,
  type Slot,
  type Value,
  type WalRecord,
} from '../../../src/node/core/messages.js';

/** Small numbers so that scenarios need few ticks; they satisfy checkCoreLimits. */
export const testLimits: Partial<CoreLimits> = {
  heartbeatTicks: 2,
  electionTimeoutTicksMin: 10,
  electionTimeoutTicksMax: 20,
  resendTicks: 4,
};

export type MessageFilter = (message: PeerMessage) => boolean;

const oneOrMany = <T>(value: T | T[] | undefined, actual: T | undefined): boolean =>
  value === undefined || (Array.isArray(value) ? value.includes(actual as T) : value === actual);

/** Matches messages by type, sender, receiver and (for accept/accepted) slot. */
export function where(pattern: {
  type?: PeerMessageType | PeerMessageType[];
  from?: NodeId | NodeId[];
  to?: NodeId | NodeId[];
  slot?: Slot | Slot[];
}): MessageFilter {
  return (message) =>
    oneOrMany(pattern.type, message.type) &&
    oneOrMany(pattern.from, message.from) &&
    oneOrMany(pattern.to, message.to) &&
    oneOrMany(pattern.slot, 'slot' in message ? message.slot : undefined);
}

export const not =
  (filter: MessageFilter): MessageFilter =>
  (message) =>
    !filter(message);

export const everything: MessageFilter = () => true;

export function ballot(round: number, node: NodeId): Ballot {
  return { round, node };
}

export function command(client: string, seq: number, op: unknown = ['set', client, String(seq)]): Command {
  return { client, seq, op };
}

export function valueOf(...commands: Command[]): Value {
  return { commands };
}

/** Equal keys mean the same value (the session table's notion of identity). */
export function valueKey(value: Value): string {
  return value.commands.map((c) => `${c.client}#${c.seq}`).join('|') || 'noop';
}

export interface ClusterOptions {
  size: number;
  limits?: Partial<CoreLimits>;
  /** Seeds node i with seed + i. */
  seed?: number;
  /** Records already on a node's disk when it starts (rebuilt with recoverState). */
  disks?: Record<NodeId, WalRecord[]>;
  /**
   * The membership window W of the founding configuration (default: the
   * limits' slotsInFlightMax, else 256).
   */
  window?: number;
  /**
   * How the nodes first get a membership: `founded` (the default) hands every
   * node the founding configuration of all `size` nodes at once, as if the
   * bootstrap exchange had run; a bootstrap mode runs the real exchange
   * (join_query / join_reply), delivered by the test.
   */
  start?: 'founded' | BootstrapMode;
  /** The founding voters (default: every node); the others start on empty disks and join. */
  voters?: NodeId[];
  /** A deliberately broken core on every node (to show a scenario needs what it checks). */
  sabotage?: CoreSabotage;
}

/** A node's incarnation in these scenarios: its id and how many times its disk was replaced. */
export function incarnationOf(id: NodeId, generation = 0): Incarnation {
  return `n${id}.${generation}`;
}

/** Driver limits for scripted scenarios: no snapshots unless a test asks. */
const driverLimits: DriverLimits = {
  snapshotEvery: 0,
  snapshotLogBytes: 0,
  clientsWaitingMax: 10_000,
  sessionCommandsInFlightMax: 1_000,
  commandBytesMax: 1024 * 1024,
  valueBytesMax: null,
  snapshotChunkBytes: 64 * 1024,
  snapshotTransferIdleMsMax: 1_000,
  snapshotBytesMax: 64 * 1024 * 1024,
  snapshotsHeldForTransfersMax: 2,
  compactionHoldSlotsMax: 0,
  snapshotRefetchMsMin: 0,
};

export class Cluster {
  readonly ids: NodeId[];
  readonly disks = new Map<NodeId, WalRecord[]>();
  /** Every accept record any incarnation ever made durable, kept when its disk is replaced. */
  readonly acceptLog: { id: NodeId; incarnation: Incarnation; record: WalRecord }[] = [];
  /** What each node's current incarnation applied, in order. */
  readonly applied = new Map<NodeId, ChosenEntry[]>();
  readonly events = new Map<NodeId, CoreEvent[]>();
  /** Sent and not yet delivered, in send order. */
  inFlight: PeerMessage[] = [];
  /** Breaches of the Ready contract seen so far ("records before messages"). */
  readonly orderViolations: string[] = [];
  /** Accepted/promise messages whose durability was checked. */
  checkedMessages = 0;
  private readonly cores = new Map<NodeId, PaxosNode>();
  private readonly drivers = new Map<NodeId, NodeDriver>();
  /** The Readies each node's driver took since the last look, to show a test what a step caused. */
  private readonly readies = new Map<NodeId, Ready[]>();
  /** The drivers' deferred flushes, run before any call returns. */
  private readonly deferred: (() => void)[] = [];
  private readonly limits: Partial<CoreLimits>;
  private readonly seed: number;
  private readonly window: number;
  private readonly startMode: 'founded' | BootstrapMode;
  private readonly founders: NodeId[];
  private readonly sabotage: CoreSabotage | undefined;
  /** How many times each node's disk was replaced (its incarnation). */
  readonly generations = new Map<NodeId, number>();
  private clientRequests = 0;
  private readonly stalled = new Set<NodeId>();
  private readonly stalledAppendCounts = new Map<NodeId, number>();

  constructor(options: ClusterOptions) {
    this.ids = Array.from({ length: options.size }, (_, i) => i + 1);
    this.limits = options.limits ?? testLimits;
    this.seed = options.seed ?? 1;
    this.window = options.window ?? this.limits.slotsInFlightMax ?? 256;
    this.startMode = options.start ?? 'founded';
    this.founders = options.voters ?? this.ids;
    this.sabotage = options.sabotage;
    for (const id of this.ids) {
      this.disks.set(id, [...(options.disks?.[id] ?? [])]);
      this.start(id);
    }
    this.settle();
  }

  node(id: NodeId): PaxosNode {
    const core = this.cores.get(id);
    if (core === undefined) throw new Error(`node ${id} is down`);
    return core;
  }

  isUp(id: NodeId): boolean {
    return this.cores.has(id);
  }

  /** Runs what the drivers deferred, and returns each node's Readies since the last look, merged. */
  collect(ids: NodeId[] = this.ids): Map<NodeId, Ready> {
    this.settle();
    const readies = new Map<NodeId, Ready>();
    for (const id of ids) if (this.isUp(id)) readies.set(id, this.takeReadies(id));
    return readies;
  }

  /** Delivers the first in-flight message that matches; returns the receiver's Ready. */
  deliver(filter: MessageFilter = everything): Ready | undefined {
    const index = this.inFlight.findIndex(filter);
    if (index < 0) return undefined;
    const [message] = this.inFlight.splice(index, 1);
    return this.step(message);
  }

  /**
   * Delivers matching messages (and whatever they cause that also matches) until
   * none is left. `pick` chooses which matching message goes next (default: the oldest).
   */
  deliverAll(filter: MessageFilter = everything, pick: (count: number) => number = () => 0, stepsMax = 10_000): PeerMessage[] {
    const delivered: PeerMessage[] = [];
    for (let steps = 0; steps < stepsMax; steps += 1) {
      const matching = this.inFlight.filter(filter);
      if (matching.length === 0) return delivered;
      const message = matching[pick(matching.length)];
      this.inFlight.splice(this.inFlight.indexOf(message), 1);
      delivered.push(message);
      this.step(message);
    }
    throw new Error(`deliverAll did not settle in ${stepsMax} steps`);
  }

  /** Removes matching messages from the network (lost, or held back to be put back later). */
  take(filter: MessageFilter): PeerMessage[] {
    const taken: PeerMessage[] = [];
    const kept: PeerMessage[] = [];
    for (const message of this.inFlight) (filter(message) ? taken : kept).push(message);
    this.inFlight = kept;
    return taken;
  }

  /** Puts messages (back) on the network, to be delivered after those already there. */
  send(...messages: PeerMessage[]): void {
    this.inFlight.push(...messages);
  }

  /** Steps one message into its receiver's driver and returns what that caused there. */
  step(message: PeerMessage): Ready | undefined {
    const driver = this.drivers.get(message.to);
    if (driver === undefined) return undefined;
    this.takeReadies(message.to);
    driver.onPeerMessage(message);
    this.settle();
    return this.takeReadies(message.to);
  }

  tick(id: NodeId, times = 1): Ready[] {
    const readies: Ready[] = [];
    for (let i = 0; i < times; i += 1) {
      this.takeReadies(id);
      this.driver(id).tick();
      this.settle();
      readies.push(this.takeReadies(id));
    }
    return readies;
  }

  /**
   * Ticks `id` until it starts phase 1; returns its ballot. Only pre-vote
   * messages are delivered (a node asks before it raises its ballot).
   */
  campaign(id: NodeId): Ballot {
    const ticksMax = (this.limits.electionTimeoutTicksMax ?? 60) + 1;
    const preVote = (m: PeerMessage) => m.type === 'prevote' || m.type === 'prevote_reply';
    for (let i = 0; i < ticksMax; i += 1) {
      this.tick(id);
      this.deliverAll(preVote);
      if (this.node(id).status().role === 'candidate') return this.node(id).status().ballot;
    }
    throw new Error(`node ${id} did not campaign within ${ticksMax} ticks`);
  }

  /** Campaigns at `id` and delivers everything; `id` must end up leading. */
  elect(id: NodeId): Ballot {
    const ballotOfLeader = this.campaign(id);
    this.deliverAll();
    if (this.node(id).status().role !== 'leader') throw new Error(`node ${id} did not become leader`);
    return ballotOfLeader;
  }

  /** Offers a membership change at `id`'s driver, as `paxos member` does. */
  changeMembership(id: NodeId, change: MembershipChange): ChangeOutcome {
    const outcome = this.driver(id).changeMembership(change);
    this.settle();
    return outcome;
  }

  /** Asks `id`'s driver to transfer leadership, as `paxos leader transfer` does; the list fills with the one answer. */
  transferLeadership(id: NodeId, to: NodeId | null): TransferResult[] {
    const results: TransferResult[] = [];
    this.driver(id).transferLeadership(to, (result) => results.push(result));
    this.settle();
    return results;
  }

  /** Submits commands at `id` as clients would; the driver moves them into slots. */
  propose(id: NodeId, ...commands: Command[]): void {
    for (const c of commands) {
      this.clientRequests += 1;
      let refused: ClientResponse | null = null;
      // Only an answer given at once means the command was not queued; later ones (leadership lost) are the test's business.
      let answeredAtOnce = true;
      this.driver(id).submit(
        { type: 'submit', id: this.clientRequests, client: c.client, seq: c.seq, op: c.op },
        { reply: (response) => (answeredAtOnce && (response.type === 'redirect' || response.type === 'error') ? (refused = response) : undefined) },
      );
      answeredAtOnce = false;
      if (refused !== null) throw new Error(`propose at node ${id}: ${JSON.stringify(refused)}`);
    }
    this.collect([id]);
  }

  /**
   * Sends a read-only query at `id` as a client would, without settling (so
   * several share a Ready until the test collects); the returned list fills
   * with the node's answers as they come.
   */
  query(id: NodeId, op: unknown, consistency: 'linearizable' | 'local' = 'linearizable'): ClientResponse[] {
    this.clientRequests += 1;
    const replies: ClientResponse[] = [];
    this.driver(id).query({ type: 'query', id: this.clientRequests, op, consistency }, { reply: (response) => replies.push(response) });
    return replies;
  }

  /** Appends at `id` from now on never complete: nothing more becomes durable there (a disk stuck in fsync). */
  stallDisk(id: NodeId): void {
    this.stalled.add(id);
  }

  /** Appends a stalled disk was given and never finished. */
  stalledAppends(id: NodeId): number {
    return this.stalledAppendCounts.get(id) ?? 0;
  }

  /** The leader says what is chosen (heartbeat), followers catch up; everything is delivered. */
  spreadCommitIndex(leader: NodeId): void {
    this.tick(leader, this.limits.heartbeatTicks ?? 5);
    this.deliverAll();
    for (const id of this.ids) if (id !== leader && this.isUp(id)) this.tick(id);
    this.deliverAll();
  }

  /** The node stops: what it did not persist is gone, and so is every message on its way to it. */
  crash(id: NodeId): void {
    this.drivers.get(id)?.stop();
    this.cores.delete(id);
    this.drivers.delete(id);
    this.inFlight = this.inFlight.filter((m) => m.to !== id);
  }

  /** A new incarnation built from the node's disk alone (a node on an empty disk with no membership bootstraps in `mode`). */
  restart(id: NodeId, mode?: BootstrapMode): Ready {
    this.crash(id);
    this.start(id, mode);
    this.settle();
    return this.takeReadies(id);
  }

  /**
   * The node's disk is replaced: it crashes and comes back on an empty data
   * dir with a new incarnation, which joins (join_query) and is not a voter
   * until a membership change names it.
   */
  wipe(id: NodeId, mode: BootstrapMode = 'join', options: { up?: boolean } = {}): Ready {
    this.crash(id);
    this.disks.set(id, []);
    this.generations.set(id, (this.generations.get(id) ?? 0) + 1);
    if (options.up === false) return this.takeReadies(id);
    this.start(id, mode);
    this.settle();
    return this.takeReadies(id);
  }

  incarnation(id: NodeId): Incarnation {
    return incarnationOf(id, this.generations.get(id) ?? 0);
  }

  /** The founding membership every node of a `founded` cluster starts with. */
  foundingMembership(): MembershipState {
    return foundingState(this.founders.map((id) => ({ id, incarnation: incarnationOf(id, 0) })), this.window);
  }

  /** For every slot, the one value any node learned chosen; throws if two nodes disagree. */
  chosen(): Map<Slot, string> {
    const bySlot = new Map<Slot, string>();
    for (const [id, disk] of this.disks) {
      for (const record of disk) {
        if (record.type !== 'chosen') continue;
        const key = valueKey(record.value);
        const known = bySlot.get(record.slot);
        if (known !== undefined && known !== key) {
          throw new Error(`slot ${record.slot} chosen twice: [${known}] and, at node ${id}, [${key}]`);
        }
        bySlot.set(record.slot, key);
      }
    }
    return bySlot;
  }

  /**
   * Values that a majority of the founding voters accepted at one ballot
   * (chosen, whatever the learners know), by slot, counting each vote for the
   * incarnation that cast it: every accept record ever written is kept in
   * `acceptLog`, also those a replaced disk lost.
   */
  chosenByAcceptors(): Map<Slot, Set<string>> {
    const votes = new Map<string, { slot: Slot; value: string; nodes: Set<NodeId> }>();
    const founding = this.foundingMembership().epochs[0].config;
    for (const { id, incarnation, record } of this.acceptLog) {
      if (record.type !== 'accept' || !isVoter(founding, id, incarnation)) continue;
      const key = `${record.slot}@${ballotToString(record.ballot)}:${valueKey(record.value)}`;
      const vote = votes.get(key) ?? { slot: record.slot, value: valueKey(record.value), nodes: new Set<NodeId>() };
      vote.nodes.add(id);
      votes.set(key, vote);
    }
    const bySlot = new Map<Slot, Set<string>>();
    for (const vote of votes.values()) {
      if (vote.nodes.size < majority(this.ids.length)) continue;
      bySlot.set(vote.slot, (bySlot.get(vote.slot) ?? new Set()).add(vote.value));
    }
    return bySlot;
  }

  appliedKeys(id: NodeId): string[] {
    return (this.applied.get(id) ?? []).map((e) => `${e.slot}:${valueKey(e.value)}`);
  }

  private driver(id: NodeId): NodeDriver {
    const driver = this.drivers.get(id);
    if (driver === undefined) throw new Error(`node ${id} is down`);
    return driver;
  }

  private start(id: NodeId, mode: 'founded' | BootstrapMode = this.startMode): void {
    const disk = this.disks.get(id) ?? [];
    const incarnation = this.incarnation(id);
    const core = new PaxosNode({
      id,
      incarnation,
      seed: this.seed + id,
      limits: this.limits,
      recovered: recoverState(disk),
      sabotage: this.sabotage,
      ...(mode === 'founded' && this.founders.includes(id) ? { founding: this.foundingMembership() } : { bootstrap: { mode: mode === 'founded' ? 'join' : mode, peers: this.ids, window: this.window } }),
    });
    this.cores.set(id, core);
    this.applied.set(id, []);
    this.readies.set(id, []);
    const driver = new NodeDriver({
      id,
      core,
      disk: {
        append: (records, _sync, done) => {
          if (this.stalled.has(id)) {
            this.stalledAppendCounts.set(id, (this.stalledAppendCounts.get(id) ?? 0) + 1);
            return;
          }
          disk.push(...records);
          for (const record of records) if (record.type === 'accept') this.acceptLog.push({ id, incarnation, record });
          done(null);
        },
        writeSnapshot: (_slot, _bytes, _origin, done) => done(null),
        checkpoint: (records, done) => {
          disk.splice(0, disk.length, ...records);
          done(null);
        },
        bytesWritten: 0,
      },
      network: {
        send: (messages) => {
          for (const message of messages) {
            if (!('ballot' in message) && !('type' in message)) continue;
            this.checkDurableBeforeSend(id, message as PeerMessage, disk);
            this.inFlight.push(message as PeerMessage);
          }
        },
      },
      clock: { nowMs: () => 0, defer: (work) => this.deferred.push(work) },
      log: silentLogger,
      stateMachine: createKeyValueStore,
      stateMachineIdentity: 'builtin:kv@1',
      snapshot: null,
      limits: driverLimits,
      addressOf: () => null,
      observer: {
        onReady: (ready) => this.readies.get(id)?.push(ready),
        onApplied: (entry) => this.applied.get(id)?.push(entry),
        onCoreEvent: (event) => this.events.set(id, [...(this.events.get(id) ?? []), event]),
      },
      loopback: 'network',
    });
    this.drivers.set(id, driver);
    driver.start();
  }

  /** Runs the drivers' deferred flushes (and whatever they defer in turn) until there are none. */
  private settle(): void {
    for (let rounds = 0; this.deferred.length > 0; rounds += 1) {
      if (rounds > 10_000) throw new Error('the drivers keep deferring work');
      this.deferred.shift()?.();
    }
  }

  /** One node's Readies since the last look, merged into one (messages of both kinds together). */
  private takeReadies(id: NodeId): Ready {
    const taken = this.readies.get(id)?.splice(0) ?? [];
    return {
      number: taken[taken.length - 1]?.number ?? 0,
      records: taken.flatMap((ready) => ready.records),
      mustSync: taken.some((ready) => ready.mustSync),
      messages: taken.flatMap((ready) => [...ready.messages, ...ready.messagesAfterAppend]),
      messagesAfterAppend: [],
      apply: taken.flatMap((ready) => ready.apply),
      events: taken.flatMap((ready) => ready.events),
      snapshotNeeded: taken.reduce<Ready['snapshotNeeded']>((last, ready) => ready.snapshotNeeded ?? last, null),
      readsConfirmed: taken.flatMap((ready) => ready.readsConfirmed),
      readsFailed: taken.flatMap((ready) => ready.readsFailed),
    };
  }

  /** What vouches for a record may leave only once the record is on this node's disk. */
  private checkDurableBeforeSend(id: NodeId, message: PeerMessage, disk: WalRecord[]): void {
    if (message.type === 'accepted') {
      this.checkedMessages += 1;
      const recorded = disk.some((r) => r.type === 'accept' && r.slot === message.slot && compareBallots(r.ballot, message.ballot) === 0);
      if (!recorded) this.orderViolations.push(`node ${id} sent accepted(${message.slot}@${ballotToString(message.ballot)}) before its accept record was on disk`);
    }
    if (message.type === 'promise') {
      this.checkedMessages += 1;
      let promised: Ballot = { round: 0, node: 0 };
      for (const record of disk) {
        if ((record.type === 'promise' || record.type === 'accept') && compareBallots(record.ballot, promised) > 0) promised = record.ballot;
      }
      if (compareBallots(promised, message.ballot) < 0) {
        this.orderViolations.push(`node ${id} sent promise(${ballotToString(message.ballot)}) while its disk holds only ${ballotToString(promised)}`);
      }
    }
  }
}
