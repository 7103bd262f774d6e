// Count and amount per currency and status, since start and today (UTC), right-aligned with grouping.

import { Text } from 'ink';
import type { DashboardSnapshot } from '../src/metrics/aggregator.ts';
import { RESULT_STATUSES } from '../src/domain/types.ts';
import { count, clip, money, padLeft, padRight } from './format.ts';
import { Line, Panel, type PanelFrameProps, innerRows, innerWidth } from './Panel.tsx';
import { STATUS_COLORS, useColor } from './theme.tsx';

export interface TotalsProps extends PanelFrameProps {
  totals: DashboardSnapshot['totals'];
  /** rows including title and borders; extra data rows collapse into a "… more" row */
  maxRows: number;
}

export function Totals(props: TotalsProps) {
  const c = useColor();
  const { sinceStart, today, todayUtc } = props.totals;
  const w = innerWidth(props);
  const rowsMax = innerRows(props.maxRows, props);
  const countW = 9;
  // Narrow panel (two-column layout): the today count goes, the today amount stays.
  const todayCount = w >= 4 + 1 + 10 + 2 * (countW + 13) + 2;
  const amountW = Math.max(
    12,
    Math.floor((w - 4 - 1 - 10 - 1 - countW - 3 - (todayCount ? countW : 0) - 2) / 2),
  );
  const todayCountCell = (s: string) => (todayCount ? padLeft(s, countW) : '');
  const rows: { cur: string; status: (typeof RESULT_STATUSES)[number]; cells: string }[] = [];
  for (const cur of sinceStart.currencies) {
    const t = today.currencies.find((x) => x.currency === cur.currency);
    for (const s of RESULT_STATUSES) {
      const all = cur.byStatus[s];
      if (!all) continue;
      const day = t?.byStatus[s];
      rows.push({
        cur: cur.currency,
        status: s,
        cells:
          padLeft(count(all.count), countW) +
          padLeft(money(all.amountMinor, cur.currency), amountW + 1) +
          ' │' +
          todayCountCell(day ? count(day.count) : '–') +
          padLeft(day ? money(day.amountMinor, cur.currency) : '–', amountW + 1),
      });
    }
  }
  const title = (
    <Text>
      since start <Text bold>{count(sinceStart.orders)}</Text> orders · today {todayUtc} UTC{' '}
      <Text bold>{count(today.orders)}</Text>
    </Text>
  );
  if (sinceStart.orders === 0) {
    return (
      <Panel {...props} title="Totals" right={title}>
        <Line color={c('yellow')}>no traffic yet</Line>
      </Panel>
    );
  }
  const room = Math.max(1, rowsMax - 2);
  const shown = rows.length > room ? rows.slice(0, room - 1) : rows;
  const hidden = rows.length - shown.length;
  return (
    <Panel {...props} title="Totals" right={title}>
      <Line dim>
        {`CUR  ${padRight('STATUS', 10)}${padLeft('COUNT', countW)}${padLeft('AMOUNT', amountW + 1)} │${todayCountCell('TODAY')}${padLeft('TODAY AMOUNT', amountW + 1)}`}
      </Line>
      {rows.length === 0 ? <Line dim>no orders with an amount yet</Line> : null}
      {shown.map((r) => (
        <Text key={`${r.cur}/${r.status}`} wrap="truncate-end">
          {padRight(r.cur, 4)}{' '}
          <Text color={c(STATUS_COLORS[r.status] ?? 'white')}>{padRight(clip(r.status, 10), 10)}</Text>
          {r.cells}
        </Text>
      ))}
      {hidden > 0 ? <Line dim>… {hidden} more rows (tab to focus this panel)</Line> : null}
    </Panel>
  );
}
