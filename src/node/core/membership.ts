// Membership as replicated state (Paxos Made Moderately Complex's
// configurations, with its WINDOW): which acceptors' votes count at each slot.
//
// A member is a node id AND the incarnation of its data dir (a random id made
// when the dir was created): a node whose disk was wiped comes back as a new
// incarnation, and the votes the old one cast (and forgot) still count only
// for the old one. A configuration change is an ordinary chosen value; one
// chosen at slot s governs slots from s + window on. So config(t) depends only
// on slots <= t - window, and a leader proposes slot t only once it knows every
// slot <= t - window chosen: the configuration of every slot it proposes is
// certain, the same on every node, and derived from chosen slots alone.
import { assert } from './assert.js';
import type { Command, NodeId, Slot, Value } from './messages.js';

/** A data dir's identity within its node id: random, made once, durable before the node first speaks. */
export type Incarnation = string;

/** A member of a configuration. incarnation null: the first pristine claimant, a dead acceptor until a change binds it. */
export interface Member {
  id: NodeId;
  incarnation: Incarnation | null;
  /** Where to dial it, for a member added after founding (the founders' addresses come from each node's --peers). */
  address?: string;
}

export type MemberRole = 'voter' | 'learner';

/** Voters' votes count (a majority of them chooses); learners receive everything and never count. */
export interface Configuration {
  voters: Member[];
  learners: Member[];
}

/**
 * A change, absolute rather than relative (so that applying it is the same
 * everywhere): `set` puts a member (id, incarnation) in a role, replacing
 * whatever that id was (add, promote, replace an incarnation); `remove` drops an id.
 */
export type MembershipChange = { kind: 'set'; member: Member; role: MemberRole } | { kind: 'remove'; id: NodeId };

/** A configuration and the first slot it governs. */
export interface Epoch {
  fromSlot: Slot;
  config: Configuration;
}

/**
 * Everything a node needs to compute config(t): the window, and the epochs
 * (ascending fromSlot) that follow from every change chosen at a slot <=
 * throughSlot. Known for t in [validFrom, throughSlot + window]: epochs before
 * a snapshot are forgotten (validFrom), and beyond throughSlot + window a slot
 * not yet known chosen could still change it.
 */
export interface MembershipState {
  /** Fixed when the cluster is founded, the same on every node. */
  window: number;
  epochs: Epoch[];
  throughSlot: Slot;
  /** The first slot whose configuration this state still knows (1 unless forgotten below a snapshot). */
  validFrom: Slot;
  /**
   * Incarnations a change replaced (newest last, at most retiredMax): a data
   * dir that was replaced is gone for good, so a late message from it must
   * never make the leader name it again.
   */
  retired: Member[];
}

/** Replaced incarnations remembered (retired): far more than changes come in a message's lifetime. */
export const retiredMax = 64;

/** The client id of a membership change inside a slot's value. A client can never send it (the driver refuses ids starting with NUL). */
export const membershipClient = '\u0000membership';

/**
 * Epochs kept (and accepted from disk, a snapshot or a peer). A node drops every
 * epoch that ends at or before the first slot it has not applied (dropEndedEpochs),
 * so it keeps one or two, plus one per change chosen since what it applied; a
 * leader refuses a new change while it keeps this many (changeBusy), rather than
 * grow without bound behind a state machine that does not apply.
 */
export const epochsMax = 64;

export function isMembershipCommand(command: Command): boolean {
  return command.client === membershipClient;
}

/** The membership change a chosen value carries, if it is one (the leader proposes a change alone in its slot). */
export function membershipChangeOf(value: Value): MembershipChange | null {
  for (const command of value.commands) {
    if (!isMembershipCommand(command)) continue;
    const op = command.op as { change?: unknown };
    const change = parseChange(op?.change);
    if (change !== null) return change;
  }
  return null;
}

/** The value that proposes `change`; `seq` makes two changes' values distinct (the leader uses the slot it first proposes at). */
export function membershipValue(change: MembershipChange, seq: number): Value {
  return { commands: [{ client: membershipClient, seq, op: { change } }] };
}

/** Checks a change read from the log or the wire; null when it is not well formed (then it is ignored, everywhere alike). */
export function parseChange(raw: unknown): MembershipChange | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const change = raw as Record<string, unknown>;
  if (change.kind === 'remove') return isNodeId(change.id) ? { kind: 'remove', id: change.id } : null;
  if (change.kind !== 'set' || (change.role !== 'voter' && change.role !== 'learner')) return null;
  const member = parseMember(change.member);
  return member === null ? null : { kind: 'set', member, role: change.role };
}

export function parseMember(raw: unknown): Member | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const member = raw as Record<string, unknown>;
  if (!isNodeId(member.id)) return null;
  if (member.incarnation !== null && (typeof member.incarnation !== 'string' || member.incarnation.length === 0 || member.incarnation.length > 64)) return null;
  if (member.address !== undefined && member.address !== null && (typeof member.address !== 'string' || member.address.length === 0 || member.address.length > 512)) return null;
  const parsed: Member = { id: member.id, incarnation: member.incarnation as Incarnation | null };
  if (typeof member.address === 'string') parsed.address = member.address;
  return parsed;
}

function isNodeId(x: unknown): x is NodeId {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 1;
}

/**
 * The configuration after `change`. A change that would leave no voter is
 * ignored (the same on every node, since every node applies the same chosen
 * changes in the same order).
 */
export function applyChange(config: Configuration, change: MembershipChange): Configuration {
  const id = change.kind === 'set' ? change.member.id : change.id;
  const voters = config.voters.filter((m) => m.id !== id);
  const learners = config.learners.filter((m) => m.id !== id);
  if (change.kind === 'set') (change.role === 'voter' ? voters : learners).push({ ...change.member });
  if (voters.length === 0) return config;
  return { voters: sortMembers(voters), learners: sortMembers(learners) };
}

export function sortMembers(members: Member[]): Member[] {
  return [...members].sort((a, b) => a.id - b.id);
}

/** A voter's vote counts: the configuration names exactly this incarnation of that id (never a null one). */
export function isVoter(config: Configuration, id: NodeId, incarnation: Incarnation | null): boolean {
  return incarnation !== null && config.voters.some((m) => m.id === id && m.incarnation === incarnation);
}

export function memberOf(config: Configuration, id: NodeId): { member: Member; role: MemberRole } | null {
  const voter = config.voters.find((m) => m.id === id);
  if (voter !== undefined) return { member: voter, role: 'voter' };
  const learner = config.learners.find((m) => m.id === id);
  return learner === undefined ? null : { member: learner, role: 'learner' };
}

/** Every id a configuration names, voters and learners. */
export function memberIds(config: Configuration): NodeId[] {
  return [...config.voters, ...config.learners].map((m) => m.id);
}

export function sameConfiguration(a: Configuration, b: Configuration): boolean {
  return configurationKey(a) === configurationKey(b);
}

export function configurationKey(config: Configuration): string {
  const list = (members: Member[]) => members.map((m) => `${m.id}:${m.incarnation ?? '-'}${m.address === undefined ? '' : `@${m.address}`}`).join(',');
  return `v[${list(config.voters)}] l[${list(config.learners)}]`;
}

/** The state of a cluster just founded: `voters` govern every slot from baseSlot + 1 (1 for a new cluster). */
export function foundingState(voters: Member[], window: number, baseSlot: Slot = 0): MembershipState {
  assert(Number.isSafeInteger(window) && window >= 1, `the membership window is a positive integer, got ${window}`);
  assert(voters.length >= 1, 'a cluster is founded with at least one voter');
  assert(Number.isSafeInteger(baseSlot) && baseSlot >= 0, `a cluster is founded after a slot >= 0, got ${baseSlot}`);
  // baseSlot > 0: founded on a restored backup whose snapshot covers slots 1..baseSlot.
  const fromSlot = baseSlot + 1;
  return { window, epochs: [{ fromSlot, config: { voters: sortMembers(voters), learners: [] } }], throughSlot: baseSlot, validFrom: fromSlot, retired: [] };
}

/**
 * config(t), computed from chosen slots only: null when this state cannot know
 * it (t beyond throughSlot + window, where a slot not yet known chosen could
 * still change it, or below what a snapshot let it forget).
 */
export function configurationAt(state: MembershipState, slot: Slot): Configuration | null {
  if (slot < state.validFrom || slot > state.throughSlot + state.window) return null;
  let found: Configuration | null = null;
  for (const epoch of state.epochs) {
    if (epoch.fromSlot > slot) break;
    found = epoch.config;
  }
  return found;
}

/**
 * The chosen value of slot throughSlot + 1 is known (the chosen prefix grew by
 * one): if it carries a change, the configuration from slot + window on follows
 * it. Returns the change it applied, if any.
 */
export function advanceThrough(state: MembershipState, slot: Slot, value: Value): MembershipChange | null {
  assert(slot === state.throughSlot + 1, `membership advances one chosen slot at a time (at ${state.throughSlot}, given ${slot})`);
  state.throughSlot = slot;
  const change = membershipChangeOf(value);
  if (change === null) return null;
  const last = state.epochs[state.epochs.length - 1];
  const before = memberOf(last.config, change.kind === 'set' ? change.member.id : change.id);
  if (before !== null && before.member.incarnation !== null && (change.kind === 'remove' || before.member.incarnation !== change.member.incarnation)) {
    state.retired.push({ ...before.member });
    if (state.retired.length > retiredMax) state.retired.shift();
  }
  const next = applyChange(last.config, change);
  if (sameConfiguration(next, last.config)) return change;
  // No assertion on the count: this is a chosen value, which every node must take (and take again on replay).
  state.epochs.push({ fromSlot: slot + state.window, config: next });
  return change;
}

/**
 * Drops the epochs that end at or before `firstNeeded`, the lowest slot whose
 * configuration anything may still ask for (the slot after the lowest one a
 * snapshot may be taken at, which stateAsOf needs; never above throughSlot + 1,
 * the first open slot, from which phase 1, phase 2 and reads look ahead).
 * Chosen slots below it need no configuration. Compaction (forgetThrough) is
 * not needed for this: with snapshots off a node still keeps only a few epochs.
 */
export function dropEndedEpochs(state: MembershipState, firstNeeded: Slot): void {
  assert(firstNeeded <= state.throughSlot + 1, `epochs dropped up to slot ${firstNeeded}, beyond the first open slot ${state.throughSlot + 1}`);
  let dropped = false;
  while (state.epochs.length > 1 && state.epochs[1].fromSlot <= firstNeeded) {
    state.epochs.shift();
    dropped = true;
  }
  if (dropped) state.validFrom = Math.max(state.validFrom, state.epochs[0].fromSlot);
}

/** Forgets epochs that end at or before `slot` (a snapshot covers them): the state then knows config(t) for t > slot. */
export function forgetThrough(state: MembershipState, slot: Slot): void {
  while (state.epochs.length > 1 && state.epochs[1].fromSlot <= slot + 1) state.epochs.shift();
  state.validFrom = Math.max(state.validFrom, Math.min(slot + 1, state.throughSlot + 1));
}

/** A copy as of chosen slot `slot` (<= throughSlot): what a snapshot at `slot` carries. */
export function stateAsOf(state: MembershipState, slot: Slot): MembershipState {
  assert(slot <= state.throughSlot, `membership as of slot ${slot} asked, but only known through ${state.throughSlot}`);
  const epochs = state.epochs.filter((epoch, index) => index === 0 || epoch.fromSlot - state.window <= slot);
  const copy = cloneState({ ...state, epochs, throughSlot: slot });
  forgetThrough(copy, slot);
  // The copy must know config(slot + 1): an epoch from a change chosen after `slot` standing in
  // for one dropped would be applied again under the changes before it by whoever installs this.
  assert(copy.epochs[0].fromSlot <= slot + 1, `membership as of slot ${slot} asked, but the epochs governing slots from ${slot + 1} were dropped (kept from ${copy.epochs[0].fromSlot})`);
  return copy;
}

export function cloneState(state: MembershipState): MembershipState {
  return {
    window: state.window,
    epochs: state.epochs.map((e) => ({ fromSlot: e.fromSlot, config: { voters: e.config.voters.map((m) => ({ ...m })), learners: e.config.learners.map((m) => ({ ...m })) } })),
    throughSlot: state.throughSlot,
    validFrom: state.validFrom,
    retired: state.retired.map((m) => ({ ...m })),
  };
}

export function isRetired(state: MembershipState, id: NodeId, incarnation: Incarnation): boolean {
  return state.retired.some((m) => m.id === id && m.incarnation === incarnation);
}

/** Changes chosen but not yet in effect: an epoch whose first slot is beyond the chosen prefix. */
export function changePending(state: MembershipState): boolean {
  const last = state.epochs[state.epochs.length - 1];
  return last.fromSlot > state.throughSlot + 1;
}

/** The first slot of the newest epoch (the slot a change takes effect at). */
export function newestEpochSlot(state: MembershipState): Slot {
  return state.epochs[state.epochs.length - 1].fromSlot;
}

/** Checks a state read from disk, a snapshot or a peer; null when it is not well formed. */
export function parseMembershipState(raw: unknown): MembershipState | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const s = raw as Record<string, unknown>;
  const natural = (x: unknown, min: number): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= min;
  if (!natural(s.window, 1) || !natural(s.throughSlot, 0) || !natural(s.validFrom, 1) || !Array.isArray(s.epochs)) return null;
  if (s.epochs.length === 0 || s.epochs.length > epochsMax + 1) return null;
  const epochs: Epoch[] = [];
  for (const raw of Array.from(s.epochs as unknown[])) {
    if (typeof raw !== 'object' || raw === null) return null;
    const e = raw as Record<string, unknown>;
    if (!natural(e.fromSlot, 1) || typeof e.config !== 'object' || e.config === null) return null;
    const c = e.config as Record<string, unknown>;
    if (!Array.isArray(c.voters) || !Array.isArray(c.learners) || c.voters.length === 0 || c.voters.length + c.learners.length > 1024) return null;
    const voters = Array.from(c.voters as unknown[], parseMember);
    const learners = Array.from(c.learners as unknown[], parseMember);
    if (voters.includes(null) || learners.includes(null)) return null;
    if (epochs.length > 0 && e.fromSlot <= epochs[epochs.length - 1].fromSlot) return null;
    epochs.push({ fromSlot: e.fromSlot, config: { voters: voters as Member[], learners: learners as Member[] } });
  }
  const retiredRaw = s.retired;
  if (!Array.isArray(retiredRaw) || retiredRaw.length > retiredMax) return null;
  const retired = Array.from(retiredRaw as unknown[], parseMember);
  if (retired.includes(null)) return null;
  return { window: s.window, epochs, throughSlot: s.throughSlot, validFrom: s.validFrom, retired: retired as Member[] };
}

/** Counts votes (promises, accepteds) per (id, incarnation) against one configuration's voters. */
export class VoterQuorum {
  private readonly votes = new Set<NodeId>();
  private readonly needed: number;

  constructor(private readonly config: Configuration) {
    this.needed = Math.floor(config.voters.length / 2) + 1;
  }

  /** Records a vote; a vote from an incarnation the configuration does not name as a voter does not count. */
  add(id: NodeId, incarnation: Incarnation | null): boolean {
    if (isVoter(this.config, id, incarnation)) this.votes.add(id);
    return this.reached();
  }

  has(id: NodeId): boolean {
    return this.votes.has(id);
  }

  reached(): boolean {
    return this.votes.size >= this.needed;
  }
}

/**
 * A majority of the voters of each of several configurations, counted per
 * (id, incarnation): what a read round needs while a change is chosen but not
 * yet in effect (or a window spans two epochs), so that whichever
 * configuration a rival leader used for an open slot, one of its promises meets ours.
 */
export class VoterQuorums {
  private readonly quorums: VoterQuorum[];

  constructor(configs: readonly Configuration[]) {
    assert(configs.length >= 1, 'a quorum of no configuration would be reached by nobody\'s answer');
    this.quorums = configs.map((config) => new VoterQuorum(config));
  }

  add(id: NodeId, incarnation: Incarnation | null): boolean {
    for (const quorum of this.quorums) quorum.add(id, incarnation);
    return this.reached();
  }

  reached(): boolean {
    return this.quorums.every((quorum) => quorum.reached());
  }
}
