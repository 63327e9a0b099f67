// `paxos recover`: the way out when a majority of the voters is lost for good.
// Paxos alone waits forever then (it never loses a chosen value by waiting);
// an operator who accepts losing what only the lost members knew turns the most
// advanced survivor into a one-member cluster, which the others then join as
// new members (docs/operations.md, "A lost majority").
//
// What it does to the survivor it picks, all as records appended to that
// node's own log, so its history stays one history:
// - every slot after its chosen prefix up to the highest slot any survivor
//   accepted gets a chosen record: the value some survivor knows chosen, else
//   the value accepted at the highest ballot among the survivors (what a phase 1
//   over them would pick), else a no-op. The slots decided by the last two
//   rules are what may be lost: the lost members may have chosen otherwise;
// - then a membership record: from the next slot on, the only voter is this
//   node (same id, same incarnation); every other member's incarnation is
//   retired, so none of their old data dirs is ever named again.
// Reading changes nothing; writing needs --accept-data-loss and every data dir
// locked (no node may run on any of them).
import type { Ballot, NodeId, Slot, Value, WalRecord } from '../node/core/messages.js';
import { compareBallots } from '../node/core/messages.js';
import { configurationAt, retiredMax, type Member, type MembershipState } from '../node/core/membership.js';
import { recoverState } from '../node/core/node.js';
import { placedRecords, readDataDir } from '../node/storage/data-dir.js';
import { describe } from '../node/storage/errors.js';
import { readIdentity } from '../node/storage/identity.js';
import { lockDataDir, type ReleaseLock } from '../node/storage/lock.js';
import { sameValue } from '../node/storage/log-check.js';
import { readLatestSnapshot } from '../node/storage/snapshot.js';
import { WriteAheadLog } from '../node/storage/wal.js';
import { valuePreview } from '../inspect/preview.js';

/** Data dirs one recover reads (each log is held in memory): far more than a cluster's survivors. */
export const recoverDataDirsMax = 32;

export interface Survivor {
  dataDir: string;
  nodeId: NodeId;
  clusterId: string;
  incarnation: string;
  /** Slots up to here are in its snapshot. */
  snapshotSlot: Slot;
  /** Its chosen prefix: every slot up to here is in its snapshot or has a chosen record. */
  chosenThrough: Slot;
  highestChosen: Slot;
  highestAccepted: Slot;
  /** Its view of the members governing the slot after its prefix (voters, then learners). */
  voters: NodeId[];
  learners: NodeId[];
}

export type SlotSource =
  /** Some survivor holds it chosen: nothing lost. */
  | { kind: 'chosen'; dataDirs: string[] }
  /** Accepted at `ballot` by these survivors and not known chosen: the lost members may have chosen another value. */
  | { kind: 'accepted'; ballot: string; dataDirs: string[] }
  /** No survivor accepted anything: whatever the lost members chose here is lost. */
  | { kind: 'nothing' };

export interface SlotDecision {
  slot: Slot;
  source: SlotSource;
  /** The value recover writes as chosen (`no-op` for an empty batch). */
  preview: string;
}

export interface RecoveryPlan {
  clusterId: string;
  survivors: Survivor[];
  /** The survivor with the longest chosen prefix: it becomes the one-member cluster. */
  pick: Survivor;
  /** Slots after the pick's prefix that recover writes as chosen, in order. */
  decisions: SlotDecision[];
  /** The decisions whose value the lost members may have chosen otherwise (sources accepted and nothing). */
  mayBeLost: SlotDecision[];
  /** From this slot on the pick is the only voter. */
  fromSlot: Slot;
  /** Incarnations retired by the new membership (every other member of the pick's view). */
  retired: Member[];
}

/** Recover refused: what is wrong, and what to do. Nothing was written. */
export class RecoverRefusal extends Error {
  constructor(
    readonly code: 'usage' | 'unreadable' | 'mixed' | 'conflict' | 'locked',
    message: string,
  ) {
    super(message);
    this.name = 'RecoverRefusal';
  }
}

interface ReadSurvivor {
  survivor: Survivor;
  chosen: Map<Slot, Value>;
  accepted: Map<Slot, { ballot: Ballot; value: Value }>;
  membership: MembershipState;
}

async function readSurvivor(dataDir: string): Promise<ReadSurvivor> {
  const unreadable = (why: string) => new RecoverRefusal('unreadable', `${dataDir}: ${why}; leave it out of --data-dir (it cannot vouch for anything), or repair it first (paxos log inspect ${dataDir} --verify)`);
  let contents;
  let snapshot;
  let identity;
  try {
    contents = await readDataDir(dataDir);
    snapshot = (await readLatestSnapshot(dataDir))?.snapshot ?? null;
    identity = await readIdentity(dataDir);
  } catch (error) {
    throw unreadable(describe(error));
  }
  if (contents.scan.corrupt !== null) throw unreadable(`its log is damaged (${contents.scan.corrupt.file}: ${contents.scan.corrupt.why})`);
  if (identity === null || identity.incarnation === undefined) throw unreadable('it has no identity.json with an incarnation');
  const state = recoverState(
    placedRecords(contents.scan).map((placed) => placed.record),
    snapshot?.slot ?? 0,
    snapshot?.membership ?? null,
  );
  if (state.membership === null) throw unreadable('it never belonged to a cluster (no membership): nothing to recover from it');
  let chosenThrough = state.snapshotSlot;
  while (state.chosen.has(chosenThrough + 1)) chosenThrough += 1;
  const config = configurationAt(state.membership, chosenThrough + 1) ?? state.membership.epochs[state.membership.epochs.length - 1].config;
  const survivor: Survivor = {
    dataDir,
    nodeId: identity.nodeId,
    clusterId: identity.clusterId,
    incarnation: identity.incarnation,
    snapshotSlot: state.snapshotSlot,
    chosenThrough,
    highestChosen: highest(state.chosen.keys(), chosenThrough),
    highestAccepted: highest(state.accepted.keys(), 0),
    voters: config.voters.map((m) => m.id),
    learners: config.learners.map((m) => m.id),
  };
  return {
    survivor,
    chosen: state.chosen,
    accepted: new Map([...state.accepted].map(([slot, entry]) => [slot, { ballot: entry.ballot, value: entry.value }])),
    membership: state.membership,
  };
}

/** Reads every data dir (read-only, no lock) and plans the recovery; throws RecoverRefusal. */
export async function planRecovery(dataDirs: string[]): Promise<RecoveryPlan> {
  return (await plan(dataDirs)).plan;
}

async function plan(dataDirs: string[]): Promise<{ plan: RecoveryPlan; read: ReadSurvivor[] }> {
  if (dataDirs.length === 0) throw new RecoverRefusal('usage', 'give at least one --data-dir of a surviving node');
  if (dataDirs.length > recoverDataDirsMax) throw new RecoverRefusal('usage', `at most ${recoverDataDirsMax} --data-dir, got ${dataDirs.length}`);
  const read: ReadSurvivor[] = [];
  for (const dir of dataDirs) read.push(await readSurvivor(dir));
  const clusters = new Set(read.map((r) => r.survivor.clusterId));
  if (clusters.size > 1) throw new RecoverRefusal('mixed', `the data dirs belong to different clusters (${[...clusters].join(', ')}): give the survivors of one cluster`);
  const ids = read.map((r) => r.survivor.nodeId);
  const twice = ids.find((id, index) => ids.indexOf(id) !== index);
  if (twice !== undefined) throw new RecoverRefusal('mixed', `two data dirs are node ${twice}: give each survivor once (a copy of a data dir is not another survivor)`);

  // The most advanced survivor: the longest chosen prefix, then the most it knows chosen, then the lowest id.
  const ranked = [...read].sort(
    (a, b) => b.survivor.chosenThrough - a.survivor.chosenThrough || b.survivor.highestChosen - a.survivor.highestChosen || a.survivor.nodeId - b.survivor.nodeId,
  );
  const pick = ranked[0];
  const from = pick.survivor.chosenThrough;

  // Chosen is chosen: two survivors holding different values for one slot is a broken invariant, never something to pick from.
  const known = new Map<Slot, { value: Value; dataDirs: string[] }>();
  for (const r of read) {
    for (const [slot, value] of r.chosen) {
      const seen = known.get(slot);
      if (seen === undefined) known.set(slot, { value, dataDirs: [r.survivor.dataDir] });
      else if (!sameValue(seen.value, value)) {
        throw new RecoverRefusal('conflict', `slot ${slot} holds two different chosen values (${seen.dataDirs[0]}: ${valuePreview(seen.value)}; ${r.survivor.dataDir}: ${valuePreview(value)}): that is a safety bug to report, not a state to recover from; nothing was written`);
      } else seen.dataDirs.push(r.survivor.dataDir);
    }
  }
  // Through the highest slot any survivor knows of, and at least through the pick's membership: a record
  // known through fewer slots than the one it holds (adopted when it joined) would lose to it on restart.
  const through = Math.max(from, pick.membership.throughSlot, highest(read.map((r) => Math.max(r.survivor.highestChosen, r.survivor.highestAccepted)), 0));
  const decisions: { decision: SlotDecision; value: Value }[] = [];
  for (let slot = from + 1; slot <= through; slot += 1) {
    const chosen = known.get(slot);
    if (chosen !== undefined) {
      decisions.push({ decision: { slot, source: { kind: 'chosen', dataDirs: chosen.dataDirs }, preview: valuePreview(chosen.value) }, value: chosen.value });
      continue;
    }
    let best: { ballot: Ballot; value: Value; dataDirs: string[] } | null = null;
    for (const r of read) {
      const entry = r.accepted.get(slot);
      if (entry === undefined) continue;
      const order = best === null ? 1 : compareBallots(entry.ballot, best.ballot);
      if (order > 0) best = { ballot: entry.ballot, value: entry.value, dataDirs: [r.survivor.dataDir] };
      else if (order === 0 && best !== null) best.dataDirs.push(r.survivor.dataDir);
    }
    if (best === null) decisions.push({ decision: { slot, source: { kind: 'nothing' }, preview: 'no-op' }, value: { commands: [] } });
    else decisions.push({ decision: { slot, source: { kind: 'accepted', ballot: `${best.ballot.round}.${best.ballot.node}`, dataDirs: best.dataDirs }, preview: valuePreview(best.value) }, value: best.value });
  }

  // Every incarnation the pick's state names, in any configuration it keeps (changes pending included), is retired.
  const others = new Map<string, Member>();
  for (const epoch of pick.membership.epochs) {
    for (const m of [...epoch.config.voters, ...epoch.config.learners]) {
      if (m.id !== pick.survivor.nodeId && m.incarnation !== null) others.set(`${m.id}:${m.incarnation}`, { id: m.id, incarnation: m.incarnation });
    }
  }
  const retired = [...pick.membership.retired.filter((m) => !others.has(`${m.id}:${m.incarnation}`)), ...others.values()].slice(-retiredMax);
  const result: RecoveryPlan = {
    clusterId: pick.survivor.clusterId,
    survivors: read.map((r) => r.survivor),
    pick: pick.survivor,
    decisions: decisions.map((d) => d.decision),
    mayBeLost: decisions.map((d) => d.decision).filter((d) => d.source.kind !== 'chosen'),
    fromSlot: through + 1,
    retired,
  };
  planValues.set(result, decisions.map((d) => d.value));
  return { plan: result, read };
}

/** The values behind a plan's decisions, kept out of the printable plan. */
const planValues = new WeakMap<RecoveryPlan, Value[]>();

/**
 * Plans (refusing what is not a survivor's data dir, untouched), locks every
 * data dir (no node may run on any), plans again under the locks
 * (so the plan acted on is the one read), and appends the decided chosen
 * records and the one-member membership to the pick's log, durably.
 */
export async function applyRecovery(dataDirs: string[], options: { log?: (message: string) => void } = {}): Promise<RecoveryPlan> {
  // Read first: locking creates a missing dir, and a dir that is not a survivor's must be refused untouched.
  await plan(dataDirs);
  const releases: ReleaseLock[] = [];
  try {
    for (const dir of dataDirs) {
      try {
        releases.push(await lockDataDir(dir, { log: options.log ?? (() => undefined), waitStaleMs: 5_000 }));
      } catch (error) {
        throw new RecoverRefusal('locked', `${dir} cannot be locked (${describe(error)}): stop every node of the cluster before recover`);
      }
    }
    const { plan: planned, read } = await plan(dataDirs);
    const pick = read.find((r) => r.survivor.dataDir === planned.pick.dataDir)!;
    const values = planValues.get(planned)!;
    const self = memberOfPick(pick);
    const membership: MembershipState = {
      window: pick.membership.window,
      epochs: [{ fromSlot: planned.fromSlot, config: { voters: [self], learners: [] } }],
      throughSlot: planned.fromSlot - 1,
      validFrom: planned.fromSlot,
      retired: planned.retired.map((m) => ({ ...m })),
    };
    const records: WalRecord[] = planned.decisions.map((decision, index) => ({ type: 'chosen', slot: decision.slot, value: values[index] }));
    records.push({ type: 'membership', state: membership });
    const opened = await WriteAheadLog.open(pick.survivor.dataDir, { fsync: 'always' });
    try {
      await opened.wal.append(records);
    } finally {
      await opened.wal.close();
    }
    // What the node will recover on its next start must be the one-member cluster: read it back.
    const reopened = await WriteAheadLog.open(pick.survivor.dataDir, { fsync: 'always' });
    await reopened.wal.close();
    const snapshot = (await readLatestSnapshot(pick.survivor.dataDir))?.snapshot ?? null;
    const after = recoverState(reopened.records, snapshot?.slot ?? 0, snapshot?.membership ?? null).membership;
    const voters = after === null ? [] : (configurationAt(after, planned.fromSlot)?.voters ?? []);
    if (voters.length !== 1 || voters[0].id !== self.id || voters[0].incarnation !== self.incarnation) {
      throw new Error(`recover wrote its records to ${pick.survivor.dataDir}, but a start would not recover node ${self.id} as the only voter from slot ${planned.fromSlot}: a bug; keep the dir for investigation`);
    }
    return planned;
  } finally {
    for (const release of releases.reverse()) await release().catch(() => undefined);
  }
}

/** The highest of `slots`, at least `floor` (a loop: a log's slots are too many to spread into Math.max). */
function highest(slots: Iterable<Slot>, floor: Slot): Slot {
  let top = floor;
  for (const slot of slots) if (slot > top) top = slot;
  return top;
}

/** The pick as its own configuration names it (keeping its address), else by its identity. */
function memberOfPick(pick: ReadSurvivor): Member {
  const config = configurationAt(pick.membership, pick.survivor.chosenThrough + 1);
  const named = config === null ? undefined : [...config.voters, ...config.learners].find((m) => m.id === pick.survivor.nodeId);
  return { id: pick.survivor.nodeId, incarnation: pick.survivor.incarnation, ...(named?.address === undefined ? {} : { address: named.address }) };
}
