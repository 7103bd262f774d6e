// Risk rule hits, dead letters, the review queue, recent operator actions (the audit trail) and the recent alerts ring.

import { Text } from 'ink';
import type { AlertsView } from '../src/metrics/aggregator.ts';
import type { OperatorActionView } from './types.ts';
import { clockUtc, count } from './format.ts';
import { Line, Panel, type PanelFrameProps, innerRows } from './Panel.tsx';
import { useColor } from './theme.tsx';

export interface AlertsProps extends PanelFrameProps {
  alerts: AlertsView;
  maxRows: number;
  /** the newest operator actions, newest first (absent: the section is not shown) */
  operatorActions?: readonly OperatorActionView[];
}

/** One operator action: time, outcome (an error's code in red), who, what; the outcome before the text that may be cut. */
function ActionRow({ action }: { action: OperatorActionView }) {
  const c = useColor();
  return (
    <Text wrap="truncate-end">
      <Text dimColor>{action.atIso.slice(11, 19)} </Text>
      <Text color={action.outcome === 'ok' ? c('green') : c('red')}>{action.outcome}</Text> <Text bold>{action.who}</Text>{' '}
      {action.what}
    </Text>
  );
}

const KIND_COLORS = {
  rule: 'yellow',
  dead_letter: 'magenta',
  connection: 'red',
  error: 'red',
  batch: 'red',
} as const;

export function Alerts(props: AlertsProps) {
  const c = useColor();
  const a = props.alerts;
  const rowsMax = innerRows(props.maxRows, props);
  const list = (items: { key: string; n: number }[]) =>
    items.length === 0 ? 'none' : items.map((i) => `${i.key} ${count(i.n)}`).join(' · ');
  const actions = props.operatorActions;
  // below the three summary lines: operator actions take about half the room (their heading included, one
  // row at least when two are free), the recent alerts the rest
  const room = Math.max(0, rowsMax - 4);
  const actionRows = actions === undefined || room < 2 ? 0 : Math.min(Math.max(1, actions.length), Math.max(1, Math.floor(room / 2) - 1));
  const recentRoom = Math.max(0, room - (actionRows > 0 ? actionRows + 1 : 0));
  return (
    <Panel {...props} title="Alerts">
      <Text wrap="truncate-end">
        <Text bold>rules</Text> ({count(a.ruleHitsTotal)}):{' '}
        {list(a.ruleHits.map((r) => ({ key: r.ruleId, n: r.count })))}
      </Text>
      <Text wrap="truncate-end">
        <Text bold>dead letters</Text> ({count(a.deadLettersTotal)}):{' '}
        <Text color={a.deadLettersTotal ? c('magenta') : undefined}>
          {list(a.deadLetters.map((d) => ({ key: d.reason, n: d.count })))}
        </Text>
      </Text>
      <Text wrap="truncate-end">
        <Text bold>review queue</Text>:{' '}
        {a.reviewQueueSize > 0 ? (
          <Text color={c('yellow')} bold>
            {count(a.reviewQueueSize)} held — press r
          </Text>
        ) : (
          'empty'
        )}
      </Text>
      {actions !== undefined && actionRows > 0 ? (
        <>
          <Text bold>operator actions</Text>
          {actions.length === 0 ? <Line dim>none yet</Line> : actions.slice(0, actionRows).map((a) => <ActionRow key={a.seq} action={a} />)}
        </>
      ) : null}
      {a.recent.length === 0 ? (
        recentRoom > 0 ? (
          <Line dim>no alerts</Line>
        ) : null
      ) : (
        a.recent.slice(0, recentRoom).map((r) => (
          <Text key={r.seq} wrap="truncate-end">
            <Text dimColor>{clockUtc(r.atMs)} </Text>
            <Text color={c(KIND_COLORS[r.kind])}>{r.text}</Text>
            {r.repeat > 1 ? <Text dimColor> ×{count(r.repeat)}</Text> : null}
          </Text>
        ))
      )}
    </Panel>
  );
}
