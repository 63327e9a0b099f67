// Named limits of the linearizability checker, each with why. Every search is
// bounded so that `paxos check` answers "unknown" rather than running out of
// time or memory on a history too tangled to decide.

/**
 * States (set of linearized operations, register value) one key's search may
 * memoise before it gives up with "unknown". A state costs about 100 bytes plus
 * its window of undecided operations, so this bound keeps one key's cache near
 * 300 MB at worst; a linearizable history from 10 concurrent clients needs about
 * one state per operation, so even a million operations on one key fit.
 */
export const searchStatesMax = 2_000_000;

/**
 * States all the searches made while shrinking one violation to a minimal
 * explanation may explore together. Past it the explanation is reported as is,
 * marked not minimal: the verdict is already known, only its brevity suffers.
 */
export const shrinkStatesMax = 2_000_000;

/**
 * Violating keys that are shrunk to a minimal explanation; further violating
 * keys are listed with their operation count only. One explanation is enough to
 * act on, and shrinking each costs up to {@link shrinkStatesMax}.
 */
export const explainedKeysMax = 10;
