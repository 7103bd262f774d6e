// Orders per second now, a sparkline of the recent seconds and the per-status rates.

import { Text } from 'ink';
import type { DashboardSnapshot, ThroughputView } from '../src/metrics/aggregator.ts';
import type { ResultStatus } from '../src/domain/types.ts';
import { count, rate, sparkline } from './format.ts';
import { Line, Panel, type PanelFrameProps, innerWidth } from './Panel.tsx';
import { STATUS_COLORS, useColor } from './theme.tsx';

export interface ThroughputProps extends PanelFrameProps {
  throughput: ThroughputView;
  health: DashboardSnapshot['health'];
  totalOrders: number;
}

const MAIN: ResultStatus[] = ['approved', 'declined', 'held', 'rejected'];

export function Throughput(props: ThroughputProps) {
  const c = useColor();
  const { throughput: t, health } = props;
  const w = innerWidth(props);
  const noTraffic = health.some((h) => h.code === 'no_traffic');
  const idle = health.find((h) => h.code === 'idle');
  const seconds = Math.min(t.perSecond.length, Math.max(10, w - 12));
  const shown = t.perSecond.slice(-seconds);
  const peak = shown.reduce((a, b) => Math.max(a, b), 0);
  const others = (Object.keys(t.ratesPerSecond) as ResultStatus[]).filter((s) => !MAIN.includes(s));
  return (
    <Panel
      {...props}
      title="Throughput"
      right={
        <Text>
          <Text bold>{rate(t.ordersPerSecond)}</Text> now · peak {count(peak)}/s · {count(props.totalOrders)}{' '}
          total
          {idle ? <Text color={c('yellow')}> · {idle.text}</Text> : null}
        </Text>
      }
    >
      {noTraffic ? (
        <Line color={c('yellow')}>no traffic yet — waiting for orders</Line>
      ) : (
        <Text wrap="truncate-end">
          <Text color={c('green')}>{sparkline(shown, seconds)}</Text>
          <Text dimColor> {seconds}s</Text>
        </Text>
      )}
      {noTraffic ? null : (
        <Text wrap="truncate-end">
          {[...MAIN, ...others].map((s) => (
            <Text key={s}>
              <Text color={c(STATUS_COLORS[s] ?? 'white')}>{s}</Text> {rate(t.ratesPerSecond[s] ?? 0)}
              {'  '}
            </Text>
          ))}
          <Text dimColor>(avg {t.rateWindowSeconds}s)</Text>
        </Text>
      )}
    </Panel>
  );
}
