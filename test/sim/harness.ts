// Deterministic simulation of a whole cluster in one process (TigerBeetle's
// VOPR, FoundationDB's simulator): the real Paxos core, the real replicated
// key-value service, a simulated network that delays, drops, duplicates,
// reorders and partitions, simulated disks that keep only what was persisted,
// crashes and restarts, and a virtual clock. Every choice comes from one seed,
// so any failure reruns exactly with `SEED=<seed> npm run sim`.
import type { CoreLimits } from '../../src/node/core/limits.js';
import { rebuildsOnStart, recoverState, PaxosNode, type InitialClusterState } from '../../src/node/core/node.js';
import { Prng } from '../../src/node/core/prng.js';
import { majority } from '../../src/node/core/quorum.js';
import type { Command, NodeId, PeerMessage, Ready, Slot, Value, WalRecord } from '../../src/node/core/messages.js';
import { ballotToString, needsDurableState } from '../../src/node/core/messages.js';
import { createKeyValueStore } from '../../src/node/statemachine/kv.js';
import { ReplicatedService, type ReplicatedServiceOptions } from '../../src/node/statemachine/sessions.js';
import type { StateMachine, StateMachineFactory } from '../../src/node/statemachine/types.js';
import { EventHeap } from './heap.js';

/**
 * A deliberately broken node, to show the harness catches what it should: an
 * acceptor that forgets its promises and accepted values when it restarts; a
 * node whose disk was wiped that votes at once instead of rebuilding (an
 * operator restarting a replaced disk with --initial-cluster-state new); or
 * session de-duplication that forgets (a session table of one client, so a
 * retry chosen in a second slot runs again; every replica agrees on it).
 */
export type Sabotage = 'none' | 'acceptor-forgets-on-restart' | 'wiped-node-votes-at-once' | 'dedup-forgets-sessions';

export interface SimOptions {
  seed: number;
  nodes?: number;
  /** Virtual milliseconds of faults, then of calm in which everything must converge. */
  faultMs?: number;
  settleMs?: number;
  clients?: number;
  sabotage?: Sabotage;
  /** Applied slots between snapshots (0: never compact); by default drawn from the seed. */
  snapshotEvery?: number;
  /** Replaced disks per second during the fault phase; by default drawn from the seed. */
  wipesPerSecond?: number;
  /**
   * How every node first starts (on its empty disk): `new` votes at once,
   * `existing` rebuilds first. A restart is always `existing`. Default: drawn from the seed.
   */
  initialClusterState?: InitialClusterState;
  /** Overrides of the core's limits for every node (say, tiny byte bounds). */
  limits?: Partial<CoreLimits>;
}

export interface SimStats {
  seed: number;
  nodes: number;
  acknowledged: number;
  crashes: number;
  wipes: number;
  snapshots: number;
  snapshotsInstalled: number;
  partitions: number;
  messagesSent: number;
  messagesDropped: number;
  leaderChanges: number;
  lastApplied: Slot;
  virtualMs: number;
}

export class SimulationFailure extends Error {
  constructor(
    readonly seed: number,
    message: string,
  ) {
    super(`${message}\n  reproduce with SEED=${seed} npm run sim`);
    this.name = 'SimulationFailure';
  }
}

const tickMs = 10;
/** SIM_TRACE=1 prints every core event and fault with its virtual time. */
const trace = process.env.SIM_TRACE === '1';

interface FaultProfile {
  dropRate: number;
  duplicateRate: number;
  delayMsMax: number;
  crashesPerSecond: number;
  partitionsPerSecond: number;
  wipesPerSecond: number;
}

type SimEvent =
  | { at: number; order: number; kind: 'tick'; node: NodeId; incarnation: number }
  | { at: number; order: number; kind: 'deliver'; message: PeerMessage }
  | { at: number; order: number; kind: 'client'; client: number }
  | { at: number; order: number; kind: 'restart'; node: NodeId }
  | { at: number; order: number; kind: 'durable'; node: NodeId; incarnation: number; batch: { records: WalRecord[]; messages: PeerMessage[] }[] }
  | { at: number; order: number; kind: 'transfer'; node: NodeId; incarnation: number; from: NodeId; slot: Slot }
  | { at: number; order: number; kind: 'fault' }
  | { at: number; order: number; kind: 'heal' };

interface SimNode {
  id: NodeId;
  core: PaxosNode | null;
  incarnation: number;
  /** What survived on disk: the log's records, in order, and the latest snapshot. */
  disk: WalRecord[];
  snapshot: { slot: Slot; bytes: Uint8Array } | null;
  service: ReplicatedService;
  /** The last slot this incarnation's state machine reflects (applied, or restored from a snapshot). */
  appliedUpTo: Slot;
  /** Wiped and not yet rebuilt: no second disk may be lost meanwhile (that is beyond f failures). */
  lostState: boolean;
  transferring: boolean;
  /** Records (and the messages that wait for them) not yet fsynced: a crash loses them. */
  unsynced: { records: WalRecord[]; messages: PeerMessage[] }[];
  fsyncing: boolean;
  /** (client, seq) of the commands its state machine ran while applying the current slot (see WatchedStore). */
  executed: string[];
}

/**
 * The key-value store, telling the simulation which client command it runs:
 * the at-most-once check. A command is known by its op, the object its client
 * made for that (client, seq) and reuses for every retry.
 */
class WatchedStore implements StateMachine {
  private readonly store = createKeyValueStore();

  constructor(
    private readonly commandKeys: WeakMap<object, string>,
    private readonly onExecute: (key: string) => void,
  ) {}

  apply(op: unknown): unknown {
    const key = typeof op === 'object' && op !== null ? this.commandKeys.get(op) : undefined;
    if (key !== undefined) this.onExecute(key);
    return this.store.apply(op);
  }

  snapshot(): Uint8Array {
    return this.store.snapshot();
  }

  restore(bytes: Uint8Array): void {
    this.store.restore(bytes);
  }
}

interface SimClient {
  index: number;
  id: string;
  seq: number;
  command: Command | null;
  target: NodeId;
  deadline: number;
}

/** Keys a value by its commands' identities: equal keys mean the same value. */
function valueKey(value: Value): string {
  return value.commands.map((c) => `${c.client}#${c.seq}:${JSON.stringify(c.op)}`).join('|');
}

export class Simulation {
  private readonly prng: Prng;
  private readonly nodeCount: number;
  private readonly faultMs: number;
  private readonly settleMs: number;
  private readonly sabotage: Sabotage;
  private readonly faults: FaultProfile;
  private readonly events = new EventHeap<SimEvent>();
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly clients: SimClient[] = [];
  private order = 0;
  private now = 0;
  private calm = false;
  /** Pairs of nodes that cannot talk, as "a>b". */
  private readonly cut = new Set<string>();
  /** The one value ever learned chosen per slot, and the one value applied per slot, across all nodes. */
  private readonly chosenTruth = new Map<Slot, string>();
  private readonly appliedTruth = new Map<Slot, string>();
  /** Durable accepts per (slot, ballot): a majority of them means chosen, whatever the learners think. */
  private readonly acceptVotes = new Map<string, { value: string; nodes: Set<NodeId> }>();
  private readonly acceptorChosen = new Map<Slot, string>();
  /** Commands whose result a client saw: each must end up applied on every replica. */
  private readonly acknowledged: { key: string; slot: Slot }[] = [];
  private readonly stats: SimStats;
  private readonly snapshotEvery: number;
  private readonly limits: Partial<CoreLimits> | undefined;
  private readonly initialClusterState: InitialClusterState;
  /** (client, seq) of every command a sim client made, by its op object (see WatchedStore). */
  private readonly commandKeys = new WeakMap<object, string>();
  /**
   * The slot at which each command was executed. Replicas apply the same slots
   * (checked), so a command run at any other slot, by any replica, ran twice in
   * that replica's history: its state either applied the first slot itself or
   * came from a snapshot that had.
   */
  private readonly executedAt = new Map<string, Slot>();
  private readonly serviceOptions: ReplicatedServiceOptions;

  constructor(options: SimOptions) {
    this.prng = new Prng(options.seed);
    this.nodeCount = options.nodes ?? (this.prng.chance(0.3) ? 5 : 3);
    this.faultMs = options.faultMs ?? 8_000;
    this.settleMs = options.settleMs ?? 6_000;
    this.sabotage = options.sabotage ?? 'none';
    this.faults = {
      dropRate: this.prng.pick([0, 0.01, 0.05, 0.15]),
      duplicateRate: this.prng.pick([0, 0.02, 0.1]),
      delayMsMax: this.prng.pick([2, 10, 40, 150]),
      crashesPerSecond: this.prng.pick([0, 0.3, 1, 3]),
      partitionsPerSecond: this.prng.pick([0, 0.3, 1]),
      wipesPerSecond: options.wipesPerSecond ?? this.prng.pick([0, 0, 0.2, 0.5]),
    };
    this.snapshotEvery = options.snapshotEvery ?? this.prng.pick([0, 5, 20, 100]);
    this.limits = options.limits;
    this.initialClusterState = options.initialClusterState ?? this.prng.pick(['new', 'existing']);
    this.serviceOptions = this.sabotage === 'dedup-forgets-sessions' ? { clientSessionsMax: 1 } : {};
    this.stats = {
      seed: options.seed,
      nodes: this.nodeCount,
      acknowledged: 0,
      crashes: 0,
      wipes: 0,
      snapshots: 0,
      snapshotsInstalled: 0,
      partitions: 0,
      messagesSent: 0,
      messagesDropped: 0,
      leaderChanges: 0,
      lastApplied: 0,
      virtualMs: 0,
    };
    for (let id = 1; id <= this.nodeCount; id += 1) this.addNode(id);
    const clientCount = options.clients ?? this.prng.int(1, 6);
    for (let index = 0; index < clientCount; index += 1) {
      this.clients.push({ index, id: `c${index}`, seq: 0, command: null, target: 1, deadline: 0 });
      this.schedule(this.prng.int(0, 50), { kind: 'client', client: index });
    }
    this.schedule(this.nextFaultDelay(), { kind: 'fault' });
  }

  /** Runs the faulty phase, then the calm one, checking invariants after every event. */
  run(): SimStats {
    try {
      this.runUntil(this.faultMs);
      this.beginCalm();
      this.runUntil(this.faultMs + this.settleMs);
      this.checkConverged();
    } catch (error) {
      if (error instanceof SimulationFailure) throw error;
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      throw new SimulationFailure(this.seedOf(), `exception at ${this.now}ms: ${message}`);
    }
    this.stats.virtualMs = this.now;
    return this.stats;
  }

  private seedOf(): number {
    return this.stats.seed;
  }

  // ---- the event loop ----------------------------------------------------

  private runUntil(endMs: number): void {
    for (;;) {
      const event = this.events.pop();
      if (event === undefined) return;
      if (event.at > endMs) {
        this.events.push(event);
        this.now = endMs;
        return;
      }
      this.now = event.at;
      this.handle(event);
    }
  }

  private schedule(delayMs: number, event: Omit<SimEvent, 'at' | 'order'> & Partial<Pick<SimEvent, 'at'>>): void {
    this.order += 1;
    this.events.push({ ...event, at: this.now + delayMs, order: this.order } as SimEvent);
  }

  private handle(event: SimEvent): void {
    switch (event.kind) {
      case 'tick':
        return this.onTick(event.node, event.incarnation);
      case 'deliver':
        return this.onDeliver(event.message);
      case 'client':
        return this.onClient(this.clients[event.client]);
      case 'restart':
        return this.restart(event.node);
      case 'durable':
        return this.onDurable(event);
      case 'transfer':
        return this.onTransfer(event);
      case 'fault':
        return this.onFault();
      case 'heal':
        return this.cut.clear();
    }
  }

  private onTick(id: NodeId, incarnation: number): void {
    const node = this.nodes.get(id);
    if (node === undefined || node.core === null || node.incarnation !== incarnation) return;
    node.core.tick();
    this.drive(node);
    this.schedule(tickMs, { kind: 'tick', node: id, incarnation });
  }

  private onDeliver(message: PeerMessage): void {
    const node = this.nodes.get(message.to);
    if (node === undefined || node.core === null) return;
    node.core.step(message);
    this.drive(node);
  }

  // ---- nodes -------------------------------------------------------------

  private addNode(id: NodeId): void {
    const node: SimNode = {
      id,
      core: null,
      incarnation: 0,
      disk: [],
      snapshot: null,
      service: new ReplicatedService(createKeyValueStore()), // replaced in start()
      appliedUpTo: 0,
      lostState: false,
      transferring: false,
      unsynced: [],
      fsyncing: false,
      executed: [],
    };
    this.nodes.set(id, node);
    this.start(node);
  }

  private start(node: SimNode): void {
    node.incarnation += 1;
    node.transferring = false;
    node.unsynced = [];
    node.fsyncing = false;
    const records = this.sabotage === 'acceptor-forgets-on-restart' ? node.disk.filter((r) => r.type === 'chosen') : node.disk;
    const emptyDataDir = node.disk.length === 0 && node.snapshot === null;
    // The first start is of a brand-new cluster; a later one on an empty disk is a replaced disk,
    // unless the sabotage restarts it as new (what the docs warn operators never to do).
    const firstStart = node.incarnation === 1;
    const wipedAsNew = this.sabotage === 'wiped-node-votes-at-once' && node.lostState;
    const initialClusterState = firstStart ? this.initialClusterState : wipedAsNew ? 'new' : 'existing';
    node.core = new PaxosNode({
      id: node.id,
      members: [...Array(this.nodeCount).keys()].map((i) => i + 1),
      seed: this.prng.int(1, 2 ** 31),
      limits: this.limits,
      recovered: recoverState(records, node.snapshot?.slot ?? 0),
      // As the runtime does (node start --initial-cluster-state).
      rebuilding: rebuildsOnStart({ emptyDataDir, initialClusterState }),
    });
    const factory = this.storeFor(node);
    node.service = node.snapshot === null
      ? new ReplicatedService(factory(), this.serviceOptions)
      : ReplicatedService.fromSnapshot(factory, node.snapshot.bytes, this.serviceOptions);
    node.appliedUpTo = node.snapshot?.slot ?? 0;
    this.schedule(this.prng.int(1, tickMs + 1), { kind: 'tick', node: node.id, incarnation: node.incarnation });
    this.drive(node);
  }

  /** Makes the replica's state machine: the key-value store, reporting what it runs for this node. */
  private storeFor(node: SimNode): StateMachineFactory {
    return () => new WatchedStore(this.commandKeys, (key) => node.executed.push(key));
  }

  private crash(node: SimNode): void {
    if (node.core === null) return;
    if (trace) console.log(`${this.now}ms node ${node.id}: crash`);
    node.core = null;
    this.stats.crashes += 1;
    this.schedule(this.prng.int(50, 2_000), { kind: 'restart', node: node.id });
  }

  private restart(id: NodeId): void {
    const node = this.nodes.get(id);
    if (node !== undefined && node.core === null) this.start(node);
  }

  /** A replaced disk: the node crashes and comes back with an empty data dir. */
  private wipe(node: SimNode): void {
    // A node that is rebuilding does not vote: losing a second disk meanwhile is beyond f failures.
    const anotherLost = [...this.nodes.values()].some((n) => n !== node && this.mustRebuild(n));
    if (anotherLost || node.core === null) return;
    if (trace) console.log(`${this.now}ms node ${node.id}: wipe`);
    this.crash(node);
    node.disk = [];
    node.snapshot = null;
    node.lostState = true;
    this.stats.wipes += 1;
  }

  /** Rebuilding now, or will be when it restarts (its disk holds nothing). */
  private mustRebuild(node: SimNode): boolean {
    if (node.lostState) return true;
    if (node.core === null) return (node.disk.length === 0 && node.snapshot === null) || recoverState(node.disk).rebuilding;
    return node.core.status().rebuilding;
  }

  /** Every snapshotEvery applied slots: snapshot, then keep only what the core still needs. */
  private maybeSnapshot(node: SimNode): void {
    const core = node.core;
    if (core === null || this.snapshotEvery === 0) return;
    if (node.appliedUpTo - (node.snapshot?.slot ?? 0) < this.snapshotEvery) return;
    node.snapshot = { slot: node.appliedUpTo, bytes: node.service.snapshot() };
    node.disk = core.compact(node.appliedUpTo); // the checkpoint segment; older ones are deleted
    this.stats.snapshots += 1;
  }

  /** The runtime fetches a peer's snapshot in chunks; here it arrives whole, after a delay, or not at all. */
  private requestSnapshot(node: SimNode, from: NodeId, slot: Slot): void {
    if (node.transferring) return;
    node.transferring = true;
    this.schedule(this.prng.int(5, 60), { kind: 'transfer', node: node.id, incarnation: node.incarnation, from, slot });
  }

  private onTransfer(event: Extract<SimEvent, { kind: 'transfer' }>): void {
    const node = this.nodes.get(event.node);
    const source = this.nodes.get(event.from);
    if (node === undefined || node.core === null || node.incarnation !== event.incarnation) return;
    node.transferring = false;
    const snapshot = source?.core === null ? null : source?.snapshot;
    if (snapshot === null || snapshot === undefined || this.cut.has(`${event.from}>${event.node}`)) return;
    const records = node.core.installSnapshot(snapshot.slot);
    if (records === null) return;
    node.snapshot = snapshot;
    node.disk = records;
    node.service = ReplicatedService.fromSnapshot(this.storeFor(node), snapshot.bytes, this.serviceOptions);
    node.appliedUpTo = snapshot.slot;
    this.stats.snapshotsInstalled += 1;
    this.drive(node);
  }

  /** Acts on a Ready exactly as the runtime must: persist, then send, then apply. */
  private drive(node: SimNode): void {
    const core = node.core;
    if (core === null) return;
    const ready = core.takeReady();
    const afterWrite = ready.messages.filter((message) => needsDurableState(message));
    for (const message of ready.messages) if (!needsDurableState(message)) this.send(message);
    if (ready.records.length > 0 || afterWrite.length > 0) {
      node.unsynced.push({ records: ready.records, messages: afterWrite });
      this.startFsync(node);
    }
    for (const entry of ready.apply) this.apply(node, entry.slot, entry.value);
    for (const event of ready.events) {
      if (trace) console.log(`${this.now}ms node ${node.id}: ${JSON.stringify(event)}`);
      if (event.kind === 'leader') this.stats.leaderChanges += 1;
      if (event.kind === 'preempted') this.retryClientsOf(node);
      if (event.kind === 'rebuilt') node.lostState = false;
    }
    if (ready.snapshotNeeded !== null) this.requestSnapshot(node, ready.snapshotNeeded.from, ready.snapshotNeeded.slot);
    this.maybeSnapshot(node);
  }

  /** Like the runtime's write queue: one fsync at a time covers everything queued before it. */
  private startFsync(node: SimNode): void {
    if (node.fsyncing || node.unsynced.length === 0) return;
    node.fsyncing = true;
    const batch = node.unsynced.splice(0);
    this.schedule(this.prng.int(0, 4), { kind: 'durable', node: node.id, incarnation: node.incarnation, batch });
  }

  /** The fsync finished: the records are on disk; the messages that vouch for them may leave. */
  private onDurable(event: Extract<SimEvent, { kind: 'durable' }>): void {
    const node = this.nodes.get(event.node);
    if (node === undefined || node.core === null || node.incarnation !== event.incarnation) return; // lost in a crash
    for (const entry of event.batch) this.persist(node, entry.records);
    node.fsyncing = false;
    for (const entry of event.batch) for (const message of entry.messages) this.send(message);
    this.startFsync(node);
  }

  private persist(node: SimNode, records: WalRecord[]): void {
    for (const record of records) {
      node.disk.push(record);
      if (record.type === 'chosen') this.checkChosen(node.id, record.slot, record.value);
      if (record.type === 'accept') this.countAccept(node.id, record);
    }
  }

  // ---- invariants --------------------------------------------------------

  private fail(message: string): never {
    throw new SimulationFailure(this.seedOf(), `at ${this.now}ms: ${message}\n${this.describeNodes()}`);
  }

  private describeNodes(): string {
    return [...this.nodes.values()]
      .map((node) => {
        if (node.core === null) return `  node ${node.id}: down`;
        const s = node.core.status();
        return `  node ${node.id}: ${s.role} leader=${s.leader} ballot=${ballotToString(s.ballot)} promised=${ballotToString(s.promised)} commit=${s.commitIndex} known=${s.knownCommitIndex} applied=${node.appliedUpTo} compacted=${s.compactedTo} rebuilding=${s.rebuilding}`;
      })
      .join('\n');
  }

  /** A chosen value never changes: every learner learns the same value for a slot. */
  private checkChosen(id: NodeId, slot: Slot, value: Value): void {
    const key = valueKey(value);
    const known = this.chosenTruth.get(slot);
    if (known === undefined) this.chosenTruth.set(slot, key);
    else if (known !== key) this.fail(`node ${id} learned slot ${slot} chosen as [${key}] but it was chosen as [${known}]`);
    const byAcceptors = this.acceptorChosen.get(slot);
    if (byAcceptors !== undefined && byAcceptors !== key) {
      this.fail(`node ${id} learned slot ${slot} as [${key}] but a majority accepted [${byAcceptors}]`);
    }
  }

  /** One chosen value per slot, judged from the acceptors' durable accepts alone. */
  private countAccept(id: NodeId, record: Extract<WalRecord, { type: 'accept' }>): void {
    const key = `${record.slot}@${ballotToString(record.ballot)}`;
    const value = valueKey(record.value);
    let vote = this.acceptVotes.get(key);
    if (vote === undefined) {
      vote = { value, nodes: new Set() };
      this.acceptVotes.set(key, vote);
    }
    if (vote.value !== value) this.fail(`two values accepted at slot ${record.slot} ballot ${ballotToString(record.ballot)}`);
    vote.nodes.add(id);
    if (vote.nodes.size < majority(this.nodeCount)) return;
    const chosen = this.acceptorChosen.get(record.slot);
    if (chosen === undefined) this.acceptorChosen.set(record.slot, value);
    else if (chosen !== value) this.fail(`slot ${record.slot} chosen twice: [${chosen}] and then [${value}] at ballot ${ballotToString(record.ballot)}`);
  }

  /** No two replicas ever apply different values at the same slot; each applies in order. */
  private apply(node: SimNode, slot: Slot, value: Value): void {
    if (slot !== node.appliedUpTo + 1) this.fail(`node ${node.id} applied slot ${slot} after ${node.appliedUpTo}`);
    const key = valueKey(value);
    node.appliedUpTo = slot;
    const known = this.appliedTruth.get(slot);
    if (known === undefined) this.appliedTruth.set(slot, key);
    else if (known !== key) this.fail(`node ${node.id} applied [${key}] at slot ${slot}; another replica applied [${known}]`);
    this.stats.lastApplied = Math.max(this.stats.lastApplied, slot);
    const outcomes = node.service.applyValue(slot, value);
    this.checkAtMostOnce(node, slot);
    for (const outcome of outcomes) this.completeClient(node, outcome.client, outcome.seq, outcome.slot);
  }

  /** A retried command chosen in a second slot (or twice in one) is answered from its session, never run again. */
  private checkAtMostOnce(node: SimNode, slot: Slot): void {
    const executed = node.executed.splice(0);
    for (const [index, key] of executed.entries()) {
      const first = this.executedAt.get(key) ?? slot;
      if (first !== slot || executed.indexOf(key) !== index) {
        this.fail(`node ${node.id} executed command ${key} twice (at slots ${first} and ${slot}): a command must run at most once per replica`);
      }
      this.executedAt.set(key, slot);
    }
  }

  // ---- the network -------------------------------------------------------

  private send(message: PeerMessage): void {
    this.stats.messagesSent += 1;
    if (message.to === message.from) {
      this.schedule(0, { kind: 'deliver', message });
      return;
    }
    if (this.cut.has(`${message.from}>${message.to}`) || (!this.calm && this.prng.chance(this.faults.dropRate))) {
      this.stats.messagesDropped += 1;
      return;
    }
    this.schedule(this.delay(), { kind: 'deliver', message });
    if (!this.calm && this.prng.chance(this.faults.duplicateRate)) this.schedule(this.delay(), { kind: 'deliver', message });
  }

  private delay(): number {
    const max = this.calm ? 5 : this.faults.delayMsMax;
    return this.prng.int(1, max + 1);
  }

  // ---- faults ------------------------------------------------------------

  private nextFaultDelay(): number {
    const perSecond = this.faults.crashesPerSecond + this.faults.partitionsPerSecond + this.faults.wipesPerSecond;
    if (perSecond === 0) return Number.POSITIVE_INFINITY;
    return this.prng.int(1, Math.ceil(2_000 / perSecond));
  }

  private onFault(): void {
    if (this.calm) return;
    const total = this.faults.crashesPerSecond + this.faults.partitionsPerSecond + this.faults.wipesPerSecond;
    const roll = this.prng.next() * total;
    if (roll < this.faults.crashesPerSecond) this.crash(this.prng.pick([...this.nodes.values()]));
    else if (roll < this.faults.crashesPerSecond + this.faults.wipesPerSecond) this.wipe(this.prng.pick([...this.nodes.values()]));
    else this.partition();
    const next = this.nextFaultDelay();
    if (Number.isFinite(next)) this.schedule(next, { kind: 'fault' });
  }

  /** Cuts a random group of nodes off from the rest (one way or both), healed after a while. */
  private partition(): void {
    const ids = [...this.nodes.keys()];
    const isolated = ids.filter(() => this.prng.chance(0.4));
    const oneWay = this.prng.chance(0.2);
    for (const a of isolated) {
      for (const b of ids) {
        if (isolated.includes(b)) continue;
        this.cut.add(`${a}>${b}`);
        if (!oneWay) this.cut.add(`${b}>${a}`);
      }
    }
    this.stats.partitions += 1;
    this.schedule(this.prng.int(100, 3_000), { kind: 'heal' });
  }

  private beginCalm(): void {
    this.calm = true;
    this.cut.clear();
    for (const node of this.nodes.values()) if (node.core === null) this.start(node);
  }

  // ---- clients -----------------------------------------------------------

  private onClient(client: SimClient): void {
    if (client.command === null) {
      if (this.calm) return; // no new work once the faults stop; in-flight commands must finish
      client.seq += 1;
      const op = this.randomOp();
      this.commandKeys.set(op, `${client.id}#${client.seq}`);
      client.command = { client: client.id, seq: client.seq, op };
    } else if (this.now < client.deadline) {
      return;
    } else {
      client.target = this.prng.int(1, this.nodeCount + 1); // timed out: try elsewhere, same seq
    }
    this.submit(client);
  }

  private randomOp(): unknown[] {
    const key = this.prng.pick(['x', 'y', 'z']);
    const roll = this.prng.int(0, 4);
    if (roll === 0) return ['get', key];
    if (roll === 1) return ['incr', key];
    if (roll === 2) return ['cas', key, String(this.prng.int(0, 5)), String(this.prng.int(0, 5))];
    return ['set', key, String(this.prng.int(0, 5))];
  }

  private submit(client: SimClient): void {
    const command = client.command;
    if (command === null) return;
    const node = this.nodes.get(client.target);
    const outcome = node?.core?.propose(command) ?? { status: 'redirect' as const, leader: null };
    if (outcome.status === 'queued' && node !== undefined) {
      client.deadline = this.now + 1_000;
      this.schedule(1_000, { kind: 'client', client: client.index });
      this.drive(node);
      return;
    }
    const hint = outcome.status === 'redirect' ? outcome.leader : null;
    client.target = hint ?? this.prng.int(1, this.nodeCount + 1);
    client.deadline = this.now;
    this.schedule(hint !== null ? 1 : 50, { kind: 'client', client: client.index });
  }

  /**
   * The node lost its leadership: as the runtime answers its waiting clients
   * (leader_changed, outcome unknown), they retry the same (client, seq)
   * elsewhere at once; the command may still be chosen, and then twice.
   */
  private retryClientsOf(node: SimNode): void {
    for (const client of this.clients) {
      if (client.command === null || client.target !== node.id || client.deadline <= this.now) continue;
      client.deadline = this.now;
      client.target = this.prng.int(1, this.nodeCount + 1);
      this.schedule(this.prng.int(1, 20), { kind: 'client', client: client.index });
    }
  }

  /** A replica applied (client, seq): if that client waits for it at this node, it is acknowledged. */
  private completeClient(node: SimNode, clientId: string, seq: number, slot: Slot): void {
    const client = this.clients.find((c) => c.id === clientId);
    if (client === undefined || client.command === null || client.command.seq !== seq || client.target !== node.id) return;
    this.acknowledged.push({ key: `${clientId}#${seq}`, slot });
    this.stats.acknowledged += 1;
    client.command = null;
    this.schedule(this.prng.int(0, 20), { kind: 'client', client: client.index });
  }

  // ---- the end -----------------------------------------------------------

  /**
   * Once the faults stop: every replica applied the same slots (itself, or through
   * a snapshot of a replica that did), every acknowledged command is among them,
   * and the replicas hold identical states.
   */
  private checkConverged(): void {
    const nodes = [...this.nodes.values()];
    const applied = nodes.map((n) => n.appliedUpTo);
    const target = Math.max(...applied);
    for (const node of nodes) {
      if (node.appliedUpTo !== target) {
        this.fail(`after ${this.settleMs}ms of calm node ${node.id} applied ${node.appliedUpTo} slots, others ${target} (${JSON.stringify(applied)})`);
      }
      if (node.core?.status().rebuilding) this.fail(`after ${this.settleMs}ms of calm node ${node.id} still rebuilds`);
    }
    for (const client of this.clients) {
      if (client.command !== null) this.fail(`after ${this.settleMs}ms of calm client ${client.id} still waits for seq ${client.command.seq}`);
    }
    for (const { key, slot } of this.acknowledged) {
      const appliedAt = this.appliedTruth.get(slot);
      if (slot > target || appliedAt === undefined || !appliedAt.split('|').some((c) => c.startsWith(`${key}:`))) {
        this.fail(`acknowledged command ${key} (slot ${slot}) is not in the applied log (applied up to ${target})`);
      }
    }
    const digests = new Set(nodes.map((n) => n.service.stateDigest()));
    if (digests.size !== 1) this.fail('replicas applied the same slots but hold different states');
  }
}

export function runSimulation(options: SimOptions): SimStats {
  return new Simulation(options).run();
}
