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

/** Operator actions shown at most, when the panel has the rows (the feed keeps more). */
const ACTIONS_SHOWN_MAX = 8;

/** Rows the panel shows everything in (its title included, its border not). */
export function alertsRowsWanted(alerts: AlertsView, actions: readonly OperatorActionView[] | undefined): number {
  const actionRows = actions === undefined ? 0 : 1 + Math.max(1, Math.min(actions.length, ACTIONS_SHOWN_MAX));
  return 1 + 3 + actionRows + Math.max(1, alerts.recent.length);
}

/**
 * Operator actions take about half the rows under the three summary lines (their heading included, one row
 * at least), the recent alerts the rest; with one or two rows free, the newest action takes one row of its own.
 */
function actionRowsFor(room: number, actions: readonly OperatorActionView[] | undefined): { rows: number; heading: boolean } {
  if (actions === undefined || room < 1) return { rows: 0, heading: false };
  if (room < 3) return { rows: 1, heading: false };
  const half = Math.max(1, Math.floor(room / 2) - 1);
  return { rows: Math.min(Math.max(1, actions.length), half, ACTIONS_SHOWN_MAX), heading: true };
}

/** One operator action: time, outcome (an error's code in red), who, what; the outcome before the text that may be cut. */
function ActionRow({ action, label }: { action: OperatorActionView; label?: string }) {
  const c = useColor();
  return (
    <Text wrap="truncate-end">
      {label ? <Text bold>{label} </Text> : null}
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
  const room = Math.max(0, rowsMax - 4);
  const shown = actionRowsFor(room, actions);
  const recentRoom = Math.max(0, room - shown.rows - (shown.heading ? 1 : 0));
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
      {actions !== undefined && shown.heading ? (
        <>
          <Text bold>operator actions</Text>
          {actions.length === 0 ? <Line dim>none yet</Line> : actions.slice(0, shown.rows).map((a) => <ActionRow key={a.seq} action={a} />)}
        </>
      ) : null}
      {actions !== undefined && shown.rows > 0 && !shown.heading ? (
        actions[0] ? (
          <ActionRow action={actions[0]} label="last action" />
        ) : (
          <Text wrap="truncate-end">
            <Text bold>last action</Text> <Text dimColor>none yet</Text>
          </Text>
        )
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
