// Feeds the dashboard: asks every node for its status about once per
// interval and folds each answer into the TopState. The only place in the UI
// that touches the network, through the `fetchStatus` callback it is given.
import { useEffect, useState } from 'react';
import type { NodeStatusReport } from '../../client/client.js';
import { advanceTopState, emptyTopState, type TopState } from './model.js';

export interface ClusterPollOptions {
  /** One report per node, in cluster order; unreachable nodes are reports too (PaxosClient.statusAll). */
  fetchStatus: () => Promise<NodeStatusReport[]>;
  intervalMs: number;
  /** While paused nothing is fetched; the next poll compares with the last one before the pause. */
  paused: boolean;
  /** Wall-clock time for event times; a test may pass its own. */
  now?: () => number;
}

/**
 * Polls one round at a time: the next round starts `intervalMs` after the
 * previous one started, or at once if that one took longer (a node that hangs
 * until its timeout), so rounds never overlap.
 */
export function useClusterPoll(options: ClusterPollOptions): TopState {
  const [state, setState] = useState<TopState>(emptyTopState);
  const { fetchStatus, intervalMs, paused } = options;
  const now = options.now ?? Date.now;
  useEffect(() => {
    if (paused) return undefined;
    let cancelled = false;
    let timer: NodeJS.Timeout | undefined;
    const round = async (): Promise<void> => {
      const startedMs = now();
      // A fetch that fails anyway (it should report unreachable nodes instead) skips a round, never the screen.
      const reports = await fetchStatus().catch(() => null);
      if (cancelled) return;
      const atMs = now();
      if (reports !== null) setState((previous) => advanceTopState(previous, reports, atMs));
      timer = setTimeout(() => void round(), Math.max(0, intervalMs - (atMs - startedMs)));
    };
    void round();
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [fetchStatus, intervalMs, paused, now]);
  return state;
}
