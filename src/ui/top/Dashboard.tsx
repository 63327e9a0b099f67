// The `paxos top` screen: a header with the cluster, one row per node, the
// events pane and a footer with the keys. Components take plain props (a
// DashboardView and the terminal's size) and never fetch anything.
import React from 'react';
import { Box, Text } from 'ink';
import { formatClock, formatRate } from '../format.js';
import { sparkline } from '../sparkline.js';
import { columnGapChars, fitCell, layoutColumns, type LaidColumn } from './columns.js';
import type { ClusterEvent, ClusterEventKind } from './events.js';
import type { ClusterView, DashboardView, NodeCondition, NodeRowView } from './model.js';

export interface DashboardProps {
  view: DashboardView;
  /** Terminal columns and rows; the screen never draws wider, nor taller than rows - 1. */
  width: number;
  height: number;
  paused: boolean;
  /** False when stdin is not a terminal: the keys cannot work, so the footer says how to quit instead. */
  interactive: boolean;
  intervalMs: number;
}

/** Lines the screen uses besides the node rows and the events: header, table title, events title, footer, three gaps. */
const fixedLines = 7;
/** Events shown even on a short terminal, so a leader change is never invisible. */
export const eventsShownMin = 1;
/** The header's throughput trend, in characters. */
const clusterTrendChars = 20;

export interface RowStyle {
  color?: string;
  bold?: boolean;
}

/** Each condition its own colour: leader green and bold, lagging yellow, down red, an election magenta, rebuilding cyan. */
export function conditionStyle(condition: NodeCondition): RowStyle {
  switch (condition) {
    case 'leader':
      return { color: 'green', bold: true };
    case 'lagging':
      return { color: 'yellow' };
    case 'down':
      return { color: 'red' };
    case 'candidate':
      return { color: 'magenta' };
    case 'rebuilding':
      return { color: 'cyan' };
    case 'follower':
      return {};
  }
}

export function Dashboard(props: DashboardProps): React.JSX.Element {
  const eventsShown = Math.max(eventsShownMin, props.height - 1 - fixedLines - props.view.nodes.length);
  return (
    <Box flexDirection="column" width={props.width}>
      <Header cluster={props.view.cluster} paused={props.paused} />
      <Box marginTop={1}>
        <NodeTable nodes={props.view.nodes} width={props.width} />
      </Box>
      <Box marginTop={1}>
        <EventsPane events={props.view.events} shown={eventsShown} />
      </Box>
      <Box marginTop={1}>
        <Footer paused={props.paused} interactive={props.interactive} intervalMs={props.intervalMs} lastPollAtMs={props.view.cluster.lastPollAtMs} />
      </Box>
    </Box>
  );
}

/** Most important first, as a narrow terminal cuts the line at its right end. */
export function Header({ cluster, paused }: { cluster: ClusterView; paused: boolean }): React.JSX.Element {
  const allUp = cluster.nodesUp === cluster.nodesTotal;
  return (
    <Text wrap="truncate-end">
      <Text bold>paxos top</Text>
      {paused ? (
        <Text color="yellow" bold>
          {'  PAUSED'}
        </Text>
      ) : (
        ''
      )}
      {'  '}
      {cluster.leader === null ? (
        <Text color="red" bold>
          no leader
        </Text>
      ) : (
        <Text color="green" bold>
          leader node {cluster.leader.id} ({cluster.leader.address})
        </Text>
      )}
      {cluster.leader === null ? '' : `  ballot ${cluster.leader.ballot}`}
      {'  '}
      <Text color={allUp ? undefined : 'red'}>
        {cluster.nodesUp}/{cluster.nodesTotal} nodes up
      </Text>
      {`  ${cluster.opsPerSecond === null ? '-' : formatRate(cluster.opsPerSecond)} ops/s `}
      <Text color="cyan">{sparkline(cluster.opsHistory, clusterTrendChars)}</Text>
      {cluster.clusterId === null ? '' : `  cluster ${cluster.clusterId}`}
    </Text>
  );
}

export function NodeTable({ nodes, width }: { nodes: readonly NodeRowView[]; width: number }): React.JSX.Element {
  const columns = layoutColumns(width, {
    addressChars: Math.max(0, ...nodes.map((node) => node.address.length)),
    addressRequired: nodes.some((node) => node.id === null),
  });
  return (
    <Box flexDirection="column">
      <Text bold dimColor wrap="truncate-end">
        {joinCells(columns, (column) => fitCell(column.title, column, false))}
      </Text>
      {nodes.map((node) => (
        <NodeRow key={node.key} node={node} columns={columns} />
      ))}
    </Box>
  );
}

function NodeRow({ node, columns }: { node: NodeRowView; columns: readonly LaidColumn[] }): React.JSX.Element {
  const style = conditionStyle(node.condition);
  return (
    <Text color={style.color} bold={style.bold} wrap="truncate-end">
      {joinCells(columns, (column) => fitCell(column.cell(node), column))}
    </Text>
  );
}

function joinCells(columns: readonly LaidColumn[], cell: (column: LaidColumn) => string): string {
  return columns.map(cell).join(' '.repeat(columnGapChars)).trimEnd();
}

const eventColours: Record<ClusterEventKind, string | undefined> = {
  leader: 'green',
  no_leader: 'red',
  down: 'red',
  up: 'cyan',
  restart: 'yellow',
  snapshot: 'blue',
  lagging: 'yellow',
  caught_up: undefined,
  diverged: 'red',
};

/** The newest `shown` events, oldest at the top, so the pane reads like a log. */
export function EventsPane({ events, shown }: { events: readonly ClusterEvent[]; shown: number }): React.JSX.Element {
  const recent = events.slice(-shown);
  return (
    <Box flexDirection="column">
      <Text bold dimColor>
        EVENTS
      </Text>
      {recent.length === 0 ? <Text dimColor>(none yet)</Text> : null}
      {recent.map((event, index) => (
        <Text key={`${event.atMs}-${index}`} wrap="truncate-end">
          <Text dimColor>{formatClock(event.atMs)}</Text> <Text color={eventColours[event.kind]}>{event.text}</Text>
        </Text>
      ))}
    </Box>
  );
}

export function Footer(props: { paused: boolean; interactive: boolean; intervalMs: number; lastPollAtMs: number | null }): React.JSX.Element {
  const keys = props.interactive ? `q quit  p ${props.paused ? 'resume' : 'pause'}` : 'Ctrl-C quits (stdin is not a terminal: keys are off)';
  const lastPoll = props.lastPollAtMs === null ? 'waiting for the first answers' : `last poll ${formatClock(props.lastPollAtMs)}`;
  return (
    <Text dimColor wrap="truncate-end">
      <Text bold>{keys}</Text>
      {`  |  every ${props.intervalMs / 1000}s  |  ${lastPoll}`}
    </Text>
  );
}
