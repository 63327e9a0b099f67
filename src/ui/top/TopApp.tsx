// `paxos top` as one component: the poller feeds the state, the terminal's
// size and the keys (q quits, p pauses) come from ink, and Dashboard draws.
import React, { useEffect, useState } from 'react';
import { useApp, useInput, useStdout } from 'ink';
import type { NodeStatusReport } from '../../client/client.js';
import { Dashboard } from './Dashboard.js';
import { dashboardView } from './model.js';
import { useClusterPoll } from './use-cluster-poll.js';

export interface TopAppProps {
  fetchStatus: () => Promise<NodeStatusReport[]>;
  intervalMs: number;
  /** True when stdin is a terminal; ink's raw-mode input fails on anything else. */
  interactive: boolean;
  now?: () => number;
}

/** What a terminal that does not report its size is taken to be. */
const fallbackColumns = 100;
const fallbackRows = 30;

export function TopApp(props: TopAppProps): React.JSX.Element {
  const { exit } = useApp();
  const [paused, setPaused] = useState(false);
  const size = useTerminalSize();
  const state = useClusterPoll({ fetchStatus: props.fetchStatus, intervalMs: props.intervalMs, paused, now: props.now });
  useInput(
    (input) => {
      if (input === 'q') exit();
      if (input === 'p') setPaused((was) => !was);
    },
    { isActive: props.interactive },
  );
  const view = dashboardView(state, (props.now ?? Date.now)());
  return <Dashboard view={view} width={size.columns} height={size.rows} paused={paused} interactive={props.interactive} intervalMs={props.intervalMs} />;
}

/** The terminal's size, following resizes. */
function useTerminalSize(): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => ({ columns: stdout.columns || fallbackColumns, rows: stdout.rows || fallbackRows });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = (): void => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return size;
}
