// Orders per second now, a sparkline of the recent seconds and the per-status rates; when wide, the consumer's
// lag (pending messages) as a second sparkline on the same time axis.

import { Text } from 'ink';
import type { DashboardSnapshot, LagView, ThroughputView } from '../src/metrics/aggregator.ts';
import type { ResultStatus } from '../src/domain/types.ts';
import { TREND_LABEL_COLUMNS, count, padRight, rate, sparkline } from './format.ts';
import { Line, Panel, type PanelFrameProps, innerWidth } from './Panel.tsx';
import { STATUS_COLORS, useColor } from './theme.tsx';

export interface ThroughputProps extends PanelFrameProps {
  throughput: ThroughputView;
  health: DashboardSnapshot['health'];
  totalOrders: number;
  /** the lag trend (wide layout): a row under the orders, its seconds in the same columns */
  lag?: LagView;
}

const MAIN: ResultStatus[] = ['approved', 'declined', 'held', 'rejected'];

export function Throughput(props: ThroughputProps) {
  const c = useColor();
  const { throughput: t, health } = props;
  const w = innerWidth(props);
  const noTraffic = health.some((h) => h.code === 'no_traffic');
  const idle = health.find((h) => h.code === 'idle');
  const trend = props.lag !== undefined;
  const seconds = Math.min(t.perSecond.length, Math.max(10, w - (trend ? TREND_LABEL_COLUMNS + 1 : 12)));
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
          <Text dimColor> {trend ? padRight(`orders/s · ${seconds}s`, TREND_LABEL_COLUMNS) : `${seconds}s`}</Text>
        </Text>
      )}
      {props.lag ? <LagRow lag={props.lag} seconds={seconds} lagging={health.some((h) => h.code === 'consumer_lagging')} /> : null}
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

/** Pending messages, one second a column, aligned under the orders; yellow while the consumer lags. */
function LagRow({ lag, seconds, lagging }: { lag: LagView; seconds: number; lagging: boolean }) {
  const c = useColor();
  if (!lag.known) return <Line dim>lag: not reported by this source</Line>;
  const shown = lag.pendingPerSecond.slice(-seconds);
  const peak = shown.reduce((a, b) => Math.max(a, b), 0);
  const now = shown.at(-1) ?? 0;
  return (
    <Text wrap="truncate-end">
      <Text color={lagging ? c('yellow') : c('cyan')}>{sparkline(shown, seconds)}</Text>
      <Text dimColor> {padRight(`pending ${count(now)} · max ${count(peak)}`, TREND_LABEL_COLUMNS)}</Text>
    </Text>
  );
}
