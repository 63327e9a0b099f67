// Comparing the replicas of a user's state machine slot by slot (`paxos sim`).
// After every slot a replica applies:
//   - each command's outcome (result or refusal) must equal the first
//     replica's for that slot: the digest `paxos submit --verify` compares;
//   - the machine's snapshot() must be byte-equal to the first replica's at
//     that slot. Byte equality is stronger than "restores to a state that
//     gives equal results": a machine whose state drifts (a timestamp kept
//     but not yet shown) is caught at the slot it drifts, not when some later
//     command happens to read it, and a node's snapshot digest can be compared
//     across a live cluster. It asks of snapshot() what the contract does:
//     equal states give equal bytes (sort what has no order of its own);
//   - the replica's state is restored into a fresh machine of the same
//     module instance (as a node does after a restart or a transfer), whose
//     snapshot() must give the same bytes, and which applies the next slot
//     beside the replica: its outcomes and bytes must stay equal;
//   - snapshot() and restore() of the replica's own snapshot never throw.
// A divergence is held while the other replicas apply the same slot (their
// results go into the report), then thrown as a DivergenceFound.
import { createHash } from 'node:crypto';
import type { ChosenEntry, Command, NodeId, Slot } from '../node/core/messages.js';
import { isMembershipCommand } from '../node/core/membership.js';
import { digestOutcomes } from '../node/driver/outcomes.js';
import { describeThrown, machineSnapshotOf, ReplicatedService, type CommandOutcome, type ReplicatedServiceOptions } from '../node/statemachine/sessions.js';
import type { StateMachineFactory } from '../node/statemachine/types.js';
import { SimulationFailure } from './simulation.js';

export type DivergenceKind =
  /** Replicas computed different outcomes for the same command at the same slot. */
  | 'result'
  /** Replicas' snapshot() bytes differ at the same slot. */
  | 'state'
  /** A machine restored from a replica's snapshot gives another snapshot() than the replica. */
  | 'restore-changed-state'
  /** A machine restored from a replica's snapshot computed another outcome than the replica for the next command. */
  | 'restored-result'
  /** snapshot() threw, or restore() threw on a snapshot the module itself made. */
  | 'threw'
  /** Another check of the simulation failed: a command run twice, an acknowledged one lost, replicas that never converged. */
  | 'simulation';

export interface ReplicaReport {
  node: NodeId;
  /** The same node applying the slot again after a restart (it replays its log from its snapshot). */
  again?: boolean;
  /** A fresh machine restored from this node's snapshot of the slot before. */
  restored?: boolean;
  /** The command's outcome on this replica: `ok <result as JSON>` or `refused <message>`. */
  outcome?: string;
  /** The machine's snapshot() at the slot, as text when it is UTF-8, else hex (cut to snapshotPreviewCharsMax). */
  snapshot?: string;
}

export interface Divergence {
  kind: DivergenceKind;
  seed: number;
  slot: Slot | null;
  /** One line: what differs. */
  summary: string;
  /** The command whose outcomes differ (or the last of the slot). */
  command: { client: string; seq: number; op: unknown } | null;
  replicas: ReplicaReport[];
  /** More: the thrown error, the simulation's own message. */
  detail?: string;
  /** Virtual milliseconds into the run. */
  atMs: number;
}

export class DivergenceFound extends SimulationFailure {
  constructor(readonly divergence: Divergence) {
    super(divergence.seed, divergence.summary);
    this.name = 'DivergenceFound';
  }
}

/** Snapshot bytes shown in a report are cut to this many characters. */
export const snapshotPreviewCharsMax = 400;
/**
 * Slots whose first outcomes and bytes are kept for the replicas still to
 * apply them; a replica further behind than this is compared from where it
 * catches up (it still converges, which the simulation checks at the end).
 */
export const comparedSlotsKeptMax = 4096;
/** After a divergence, how long (virtual ms) the other replicas get to apply its slot before the run stops. */
export const reportCollectMs = 3_000;

interface SlotTruth {
  node: NodeId;
  digests: string[];
  outcomes: CommandOutcome[];
  commands: Command[];
  state: string;
  machineBytes: Uint8Array;
}

interface Pending {
  divergence: Divergence;
  /** The first replica's snapshot bytes at the slot, to show the others' around where they differ. */
  reference: Uint8Array | null;
  /** The command index within the slot whose outcomes are collected, or null for state. */
  index: number | null;
  stopAtMs: number;
}

export interface ComparisonOptions {
  seed: number;
  nodes: number;
  /** The machines a node's replica is made from (its own module instance and world), for restored copies. */
  factoryOf: (node: NodeId) => StateMachineFactory;
  /** The options the replicas' services run with (a small session table evicts): a restored copy must use the same. */
  serviceOptions: () => ReplicatedServiceOptions;
}

export class ReplicaComparison {
  private readonly truth = new Map<Slot, SlotTruth>();
  private readonly restoredCopies = new Map<NodeId, ReplicatedService>();
  private pending: Pending | null = null;
  private now = 0;
  private highestSlot = 0;
  /** Slot checks done, for the run's stats. */
  checkedSlots = 0;
  restoresChecked = 0;

  constructor(private readonly options: ComparisonOptions) {}

  /** The divergence found so far, if any (also when the simulation stopped on its own check meanwhile). */
  get found(): Divergence | null {
    return this.pending?.divergence ?? null;
  }

  afterEvent(now: number): void {
    this.now = now;
    if (this.pending !== null && now >= this.pending.stopAtMs) throw new DivergenceFound(this.pending.divergence);
  }

  onApplied(node: NodeId, entry: ChosenEntry, outcomes: CommandOutcome[], service: ReplicatedService): void {
    const { slot } = entry;
    if (this.pending !== null) return this.collect(node, slot, outcomes, service);
    this.checkedSlots += 1;
    const machineBytes = this.machineSnapshot(node, slot, service);
    if (machineBytes === null) return;
    const state = sha256(machineBytes);
    const digests = outcomes.map((outcome) => digestOutcomes([outcome]));
    const known = this.truth.get(slot);
    if (known === undefined) {
      this.truth.set(slot, { node, digests, outcomes, commands: entry.value.commands, state, machineBytes });
      this.highestSlot = Math.max(this.highestSlot, slot);
      this.truth.delete(slot - comparedSlotsKeptMax);
    } else {
      const index = digests.findIndex((digest, i) => digest !== known.digests[i]);
      if (index !== -1) {
        return this.hold('result', slot, index, known, [
          { node: known.node, outcome: renderOutcome(known.outcomes[index]) },
          { node, outcome: renderOutcome(outcomes[index]), ...(node === known.node ? { again: true } : {}) },
        ], `replicas computed different outcomes for ${commandName(known.commands[index])} at slot ${slot}`, true);
      }
      if (state !== known.state) {
        return this.hold('state', slot, null, known, [
          { node: known.node, snapshot: preview(known.machineBytes, machineBytes) },
          { node, snapshot: preview(machineBytes, known.machineBytes), ...(node === known.node ? { again: true } : {}) },
        ], `replicas' snapshot() bytes differ after slot ${slot}, with equal outcomes so far`, true);
      }
    }
    this.checkRestoredCopy(node, entry, outcomes, machineBytes);
    if (this.pending === null) this.restoreCopy(node, entry, service, machineBytes);
  }

  /** The replica's own snapshot of the slot: the machine part of the service snapshot. */
  private machineSnapshot(node: NodeId, slot: Slot, service: ReplicatedService): Uint8Array | null {
    try {
      return machineBytesOf(service.snapshot());
    } catch (thrown) {
      this.hold('threw', slot, null, undefined, [{ node }], `snapshot() threw on node ${node} after slot ${slot}`, false, describeThrown(thrown));
      return null;
    }
  }

  /** The copy restored after the previous slot applies this one beside the replica. */
  private checkRestoredCopy(node: NodeId, entry: ChosenEntry, outcomes: CommandOutcome[], machineBytes: Uint8Array): void {
    const copy = this.restoredCopies.get(node);
    this.restoredCopies.delete(node);
    if (copy === undefined || copy.lastAppliedSlot !== entry.slot - 1) return;
    const { slot } = entry;
    const slotCommands = { commands: entry.value.commands };
    const copyOutcomes = copy.applyValue(slot, entry.value, isMembershipCommand);
    const index = outcomes.findIndex((outcome, i) => digestOutcomes([outcome]) !== digestOutcomes([copyOutcomes[i]]));
    if (index !== -1) {
      this.hold('restored-result', slot, index, slotCommands, [
        { node, outcome: renderOutcome(outcomes[index]) },
        { node, restored: true, outcome: renderOutcome(copyOutcomes[index]) },
      ], `a machine restored from node ${node}'s snapshot after slot ${slot - 1} computed another outcome for ${commandName(entry.value.commands[index])} at slot ${slot}`, false);
      return;
    }
    let copyBytes: Uint8Array;
    try {
      copyBytes = machineBytesOf(copy.snapshot());
    } catch (thrown) {
      return this.hold('threw', slot, null, slotCommands, [{ node, restored: true }], `snapshot() threw on a machine restored from node ${node}'s snapshot, after slot ${slot}`, false, describeThrown(thrown));
    }
    if (sha256(copyBytes) !== sha256(machineBytes)) {
      this.hold('restore-changed-state', slot, null, slotCommands, [
        { node, snapshot: preview(machineBytes, copyBytes) },
        { node, restored: true, snapshot: preview(copyBytes, machineBytes) },
      ], `a machine restored from node ${node}'s snapshot after slot ${slot - 1} holds another state after slot ${slot}`, false);
    }
  }

  /** restore(snapshot()) into a fresh machine must give the same snapshot() (what a node checks when it takes one). */
  private restoreCopy(node: NodeId, entry: ChosenEntry, service: ReplicatedService, machineBytes: Uint8Array): void {
    const { slot } = entry;
    const slotCommands = { commands: entry.value.commands };
    let copy: ReplicatedService;
    try {
      copy = ReplicatedService.fromSnapshot(this.options.factoryOf(node), service.snapshot(), this.options.serviceOptions());
    } catch (thrown) {
      return this.hold('threw', slot, null, slotCommands, [{ node, restored: true, snapshot: preview(machineBytes) }], `restore() threw on node ${node}'s own snapshot after slot ${slot}`, false, describeThrown(thrown));
    }
    this.restoresChecked += 1;
    let copyBytes: Uint8Array;
    try {
      copyBytes = machineBytesOf(copy.snapshot());
    } catch (thrown) {
      return this.hold('threw', slot, null, slotCommands, [{ node, restored: true }], `snapshot() threw on a machine restored from node ${node}'s snapshot after slot ${slot}`, false, describeThrown(thrown));
    }
    if (sha256(copyBytes) !== sha256(machineBytes)) {
      return this.hold('restore-changed-state', slot, null, slotCommands, [
        { node, snapshot: preview(machineBytes, copyBytes) },
        { node, restored: true, snapshot: preview(copyBytes, machineBytes) },
      ], `restore() of node ${node}'s snapshot after slot ${slot} gives a machine whose snapshot() differs: restore() loses or changes something`, false);
    }
    this.restoredCopies.set(node, copy);
  }

  private hold(
    kind: DivergenceKind,
    slot: Slot,
    index: number | null,
    known: { commands: Command[] } | undefined,
    replicas: ReplicaReport[],
    summary: string,
    collect: boolean,
    detail?: string,
  ): void {
    const commands = known?.commands ?? [];
    const command = index !== null ? commandOf(commands[index]) : commands.length > 0 ? commandOf(commands[commands.length - 1]) : null;
    const ordered = [...replicas].sort((a, b) => a.node - b.node || Number(a.again === true) - Number(b.again === true) || Number(a.restored === true) - Number(b.restored === true));
    const divergence: Divergence = { kind, seed: this.options.seed, slot, summary, command, replicas: ordered, atMs: this.now };
    if (detail !== undefined) divergence.detail = detail;
    this.pending = { divergence, index, reference: known !== undefined && 'machineBytes' in known ? (known as SlotTruth).machineBytes : null, stopAtMs: collect ? this.now + reportCollectMs : this.now };
  }

  /** Another replica applied a slot while a divergence is held: add its view of the diverging slot. */
  private collect(node: NodeId, slot: Slot, outcomes: CommandOutcome[], service: ReplicatedService): void {
    const pending = this.pending!;
    const divergence = pending.divergence;
    if (slot !== divergence.slot || divergence.replicas.some((replica) => replica.node === node && replica.restored !== true)) return;
    const report: ReplicaReport = { node };
    if (pending.index !== null) report.outcome = renderOutcome(outcomes[pending.index]);
    else {
      try {
        report.snapshot = preview(machineBytesOf(service.snapshot()), pending.reference ?? undefined);
      } catch (thrown) {
        report.snapshot = `(snapshot() threw ${describeThrown(thrown)})`;
      }
    }
    divergence.replicas.push(report);
    divergence.replicas.sort((a, b) => a.node - b.node || Number(a.again === true) - Number(b.again === true) || Number(a.restored === true) - Number(b.restored === true));
    if (new Set(divergence.replicas.map((replica) => replica.node)).size >= this.options.nodes) pending.stopAtMs = this.now;
  }
}

function machineBytesOf(serviceBytes: Uint8Array): Uint8Array {
  return machineSnapshotOf(serviceBytes);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function commandOf(command: Command | undefined): Divergence['command'] {
  return command === undefined ? null : { client: command.client, seq: command.seq, op: command.op };
}

function commandName(command: Command | undefined): string {
  return command === undefined ? 'a command' : `${command.client}#${command.seq} ${jsonText(command.op)}`;
}

/** A result or refusal as one line. */
export function renderOutcome(outcome: CommandOutcome | undefined): string {
  if (outcome === undefined) return '(no outcome)';
  return outcome.ok ? `ok ${jsonText(outcome.result)}` : `refused ${outcome.error}`;
}

/** JSON, with bigints as `12n` and bytes as hex, for reports. */
export function jsonText(value: unknown): string {
  const text = JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === 'bigint') return `${item}n`;
    if (item instanceof Uint8Array) return `<${Buffer.from(item).toString('hex')}>`;
    return item;
  });
  return text ?? String(value);
}

/**
 * Snapshot bytes as UTF-8 text when they are, else hex, cut to
 * snapshotPreviewCharsMax. With `other`, the part shown is the one around the
 * first byte where the two differ, so a long state shows what differs.
 */
export function preview(bytes: Uint8Array, other?: Uint8Array): string {
  const text = Buffer.from(bytes).toString('utf8');
  const printable = !text.includes('\uFFFD') && !/[\u0000-\u0008\u000e-\u001f]/.test(text);
  const shown = printable ? text : Buffer.from(bytes).toString('hex');
  const prefix = printable ? '' : 'hex ';
  if (shown.length <= snapshotPreviewCharsMax) return `${prefix}${shown}`;
  const differsAt = other === undefined ? 0 : firstDifference(bytes, other);
  // A byte offset as an offset into what is shown: characters of the UTF-8 prefix, or two hex digits a byte.
  const at = printable ? Buffer.from(bytes.subarray(0, differsAt)).toString('utf8').length : differsAt * 2;
  const start = Math.max(0, Math.min(at - Math.floor(snapshotPreviewCharsMax / 4), shown.length - snapshotPreviewCharsMax));
  const window = shown.slice(start, start + snapshotPreviewCharsMax);
  return `${prefix}${start > 0 ? '…' : ''}${window}${start + snapshotPreviewCharsMax < shown.length ? '…' : ''} (${bytes.length} bytes${other === undefined ? '' : `, first difference at byte ${differsAt}`})`;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index += 1) if (a[index] !== b[index]) return index;
  return length;
}
