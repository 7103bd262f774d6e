// Latency percentiles (from the HDR histogram) over the recent window and the whole run; when wide, the p99 and
// p50 of each second as sparklines beside them.

import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import type { LatencyStats, LatencyView } from '../src/metrics/aggregator.ts';
import { TREND_LABEL_COLUMNS, count, durationMs, padRight, sparkline } from './format.ts';
import { Line, Panel, type PanelFrameProps, innerWidth } from './Panel.tsx';
import { useColor } from './theme.tsx';

export interface LatencyProps extends PanelFrameProps {
  latency: LatencyView;
  /** one row (title inline, recent window only) */
  compact?: boolean;
  /** p99 at or above this shows yellow, at 5x it shows red. @default 1000 */
  warnMs?: number;
}

/** Columns of the percentiles text before the sparkline ("run       p50 … n=1,234,567"). */
const STATS_COLUMNS = 66;
/** Fewest seconds worth a sparkline: below, the panel keeps the plain two rows. */
const TREND_SECONDS_MIN = 10;

export function Latency(props: LatencyProps) {
  const c = useColor();
  const warn = props.warnMs ?? 1000;
  const { recent, run, perSecond } = props.latency;
  const windowLabel = `last ${Math.round(props.latency.recentWindowMs / 1000)}s`;
  const tone = (ms: number) => (ms >= warn * 5 ? c('red') : ms >= warn ? c('yellow') : undefined);
  const row = (label: string, l: LatencyStats) =>
    l.count === 0 ? (
      <Text dimColor>{label} no samples yet</Text>
    ) : (
      <Text>
        <Text dimColor>{label} </Text>p50 <Text bold>{durationMs(l.p50Ms)}</Text> p95{' '}
        <Text bold color={tone(l.p95Ms)}>
          {durationMs(l.p95Ms)}
        </Text>{' '}
        p99{' '}
        <Text bold color={tone(l.p99Ms)}>
          {durationMs(l.p99Ms)}
        </Text>{' '}
        max <Text color={tone(l.maxMs)}>{durationMs(l.maxMs)}</Text>
        <Text dimColor> n={count(l.count)}</Text>
      </Text>
    );
  if (props.compact) {
    return <Panel {...props} title="Latency" right={row(windowLabel, recent)} />;
  }
  const seconds = Math.min(perSecond.p99Ms.length, innerWidth(props) - STATS_COLUMNS - 3 - TREND_LABEL_COLUMNS - 1);
  if (seconds < TREND_SECONDS_MIN) {
    return (
      <Panel {...props} title="Latency">
        <Line>{row(windowLabel.padEnd(9), recent)}</Line>
        <Line>{row('run'.padEnd(9), run)}</Line>
      </Panel>
    );
  }
  return (
    <Panel {...props} title="Latency" right={<Text dimColor>sparklines: each second's p99 and p50</Text>}>
      <TrendRow stats={row(windowLabel.padEnd(9), recent)} name="p99" values={perSecond.p99Ms} seconds={seconds} tone={tone} />
      <TrendRow stats={row('run'.padEnd(9), run)} name="p50" values={perSecond.p50Ms} seconds={seconds} tone={tone} />
    </Panel>
  );
}

/** Percentiles, then one second a column of a percentile, then its highest value shown. */
function TrendRow(props: {
  stats: ReactNode;
  name: string;
  values: readonly number[];
  seconds: number;
  tone: (ms: number) => string | undefined;
}) {
  const shown = props.values.slice(-props.seconds);
  const peak = shown.reduce((a, b) => Math.max(a, b), 0);
  const label = peak > 0 ? `${props.name} · peak ${durationMs(peak)}` : `${props.name} · no orders`;
  return (
    <Box flexDirection="row">
      <Box width={STATS_COLUMNS} flexShrink={0}>
        <Text wrap="truncate-end">{props.stats}</Text>
      </Box>
      <Text wrap="truncate-end">
        <Text dimColor> │ </Text>
        <Text color={props.tone(peak)}>{sparkline(shown, props.seconds)}</Text>
        <Text dimColor> {padRight(label, TREND_LABEL_COLUMNS)}</Text>
      </Text>
    </Box>
  );
}
