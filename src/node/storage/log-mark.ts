// Which incarnation a data dir votes with at start-up, from two facts: what
// identity.json says (its incarnation, and whether that incarnation has had a
// log), and whether wal/ holds a segment now. Pure, so that the simulation
// (which keeps its disks in memory) decides exactly as the runtime does.
//
// An incarnation's promises and accepted values live in its log. identity.json
// marks the incarnation `hasLog` once wal/'s first segment is durable, before
// the node first speaks. A marked incarnation whose wal/ has no segment lost
// its log (wal/ deleted, a separate volume lost or swapped): voting on with it
// would break the promises and accepts it made (issue 12, scenario A, under a
// kept identity). It gets a new incarnation instead: a new member, like a wiped disk.

/** What identity.json says, as far as this decision goes. */
export interface LogMark {
  incarnation?: string;
  /** True once this incarnation's wal/ held a segment (durable before the node first spoke). */
  hasLog?: boolean;
}

export type IncarnationDecision =
  /** No identity.json: a new data dir, with a new incarnation. */
  | { kind: 'create' }
  /** identity.json from a version without incarnations: it gets one now, before the node speaks. */
  | { kind: 'add-incarnation' }
  /** The incarnation keeps voting; `markLog`: mark it once the log is open (its first segment durable). */
  | { kind: 'keep'; markLog: boolean }
  /** Marked as having had a log, and wal/ holds no segment: the votes it cast are forgotten. */
  | { kind: 'log-lost' };

/**
 * The decision at start-up, before the log is opened. `segmentsPresent`: wal/
 * holds at least one segment file (an empty one counts: the log only ever
 * creates a segment before the mark and never deletes the last one, and a
 * node that never voted must keep its incarnation, issue 11's deadlock).
 * An unmarked incarnation with no segment never had one durable before it
 * spoke, so it cannot have voted: it keeps its incarnation (a crash between
 * writing identity.json and creating the first segment is not a lost log).
 */
export function incarnationAtStart(identity: LogMark | null, segmentsPresent: boolean): IncarnationDecision {
  if (identity === null) return { kind: 'create' };
  if (identity.incarnation === undefined) return { kind: 'add-incarnation' };
  if (identity.hasLog === true && !segmentsPresent) return { kind: 'log-lost' };
  return { kind: 'keep', markLog: identity.hasLog !== true };
}

/** What start-up logs, and `paxos log inspect` repeats, when a log is lost. */
export function logLostWarning(incarnation: string): string {
  return (
    `the write-ahead log of incarnation ${incarnation} is gone (wal/ holds no segment) though identity.json says this incarnation had one: ` +
    'the promises and accepted values it held are lost, so voting on under that incarnation could let two values be chosen for one slot. ' +
    'This node takes a new incarnation and joins as a new member, like a wiped disk: the leader replaces the old one once it has caught up ' +
    '(auto-replace), or run `paxos member replace`. Never restore a member from a file copy of its data dir; let it catch up from its peers'
  );
}
