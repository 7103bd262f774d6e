// Latency percentiles (from the HDR histogram) over the recent window and the whole run.

import { Text } from 'ink';
import type { LatencyStats, LatencyView } from '../src/metrics/aggregator.ts';
import { count, durationMs } from './format.ts';
import { Line, Panel, type PanelFrameProps } from './Panel.tsx';
import { useColor } from './theme.tsx';

export interface LatencyProps extends PanelFrameProps {
  latency: LatencyView;
  /** one row (title inline, recent window only) */
  compact?: boolean;
  /** p99 at or above this shows yellow, at 5x it shows red. @default 1000 */
  warnMs?: number;
}

export function Latency(props: LatencyProps) {
  const c = useColor();
  const warn = props.warnMs ?? 1000;
  const { recent, run } = props.latency;
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
  return (
    <Panel {...props} title="Latency">
      <Line>{row(windowLabel.padEnd(9), recent)}</Line>
      <Line>{row('run'.padEnd(9), run)}</Line>
    </Panel>
  );
}
