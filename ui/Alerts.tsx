// Risk rule hits, dead letters, the review queue and the recent alerts ring.

import { Text } from 'ink';
import type { AlertsView } from '../src/domain/metrics.ts';
import { clockUtc, count } from './format.ts';
import { Line, Panel, type PanelFrameProps, innerRows } from './Panel.tsx';
import { useColor } from './theme.tsx';

export interface AlertsProps extends PanelFrameProps {
  alerts: AlertsView;
  maxRows: number;
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
  const recentRoom = Math.max(0, rowsMax - 4);
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
