// Count and amount per currency and status since start, right-aligned with grouping, and today's (UTC) beside
// them only when they differ: a run that started today would show the same figures twice.

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

type Status = (typeof RESULT_STATUSES)[number];
type Totals = DashboardSnapshot['totals'];

const COUNT_COLUMNS = 9;

/** Today is a part of since start: the same number of orders means the same figures. */
export const todayDiffers = (t: Totals): boolean => t.today.orders !== t.sinceStart.orders;

/** One row per currency and status seen since start. */
function rowsOf({ sinceStart }: Totals): { cur: string; status: Status }[] {
  return sinceStart.currencies.flatMap((cur) =>
    RESULT_STATUSES.filter((s) => cur.byStatus[s]).map((status) => ({ cur: cur.currency, status })),
  );
}

/** Rows the panel shows everything in, its border not included. */
export const totalsRowsWanted = (t: Totals): number =>
  t.sinceStart.orders === 0 ? 2 : 2 + Math.max(1, rowsOf(t).length);

interface Columns {
  amountW: number;
  /** the today columns are shown (today differs); todayCount: with its count (wide enough) */
  today: boolean;
  todayCount: boolean;
}

function columnsFor(w: number, today: boolean): Columns {
  if (!today) return { amountW: Math.max(12, Math.min(24, w - 4 - 1 - 10 - COUNT_COLUMNS - 1)), today, todayCount: false };
  // narrow panel (two-column layout): the today count goes, the today amount stays
  const todayCount = w >= 4 + 1 + 10 + 2 * (COUNT_COLUMNS + 13) + 2;
  const amountW = Math.max(12, Math.floor((w - 4 - 1 - 10 - 1 - COUNT_COLUMNS - 3 - (todayCount ? COUNT_COLUMNS : 0) - 2) / 2));
  return { amountW, today, todayCount };
}

function cellsOf(t: Totals, r: { cur: string; status: Status }, k: Columns): string {
  const all = t.sinceStart.currencies.find((x) => x.currency === r.cur)!.byStatus[r.status]!;
  const cells = padLeft(count(all.count), COUNT_COLUMNS) + padLeft(money(all.amountMinor, r.cur), k.amountW + 1);
  if (!k.today) return cells;
  const day = t.today.currencies.find((x) => x.currency === r.cur)?.byStatus[r.status];
  return (
    `${cells} │` +
    (k.todayCount ? padLeft(day ? count(day.count) : '–', COUNT_COLUMNS) : '') +
    padLeft(day ? money(day.amountMinor, r.cur) : '–', k.amountW + 1)
  );
}

function headerOf(k: Columns): string {
  const head = `CUR  ${padRight('STATUS', 10)}${padLeft('COUNT', COUNT_COLUMNS)}${padLeft('AMOUNT', k.amountW + 1)}`;
  if (!k.today) return head;
  return `${head} │${k.todayCount ? padLeft('TODAY', COUNT_COLUMNS) : ''}${padLeft('TODAY AMOUNT', k.amountW + 1)}`;
}

export function Totals(props: TotalsProps) {
  const c = useColor();
  const t = props.totals;
  const k = columnsFor(innerWidth(props), todayDiffers(t));
  const title = (
    <Text>
      since start <Text bold>{count(t.sinceStart.orders)}</Text> orders ·{' '}
      {k.today ? (
        <>
          today {t.todayUtc} UTC <Text bold>{count(t.today.orders)}</Text>
        </>
      ) : (
        `all today (${t.todayUtc} UTC)`
      )}
    </Text>
  );
  if (t.sinceStart.orders === 0) {
    return (
      <Panel {...props} title="Totals" right={title}>
        <Line color={c('yellow')}>no traffic yet</Line>
      </Panel>
    );
  }
  const rows = rowsOf(t);
  const room = Math.max(1, innerRows(props.maxRows, props) - 2);
  const shown = rows.length > room ? rows.slice(0, room - 1) : rows;
  const hidden = rows.length - shown.length;
  return (
    <Panel {...props} title="Totals" right={title}>
      <Line dim>{headerOf(k)}</Line>
      {rows.length === 0 ? <Line dim>no orders with an amount yet</Line> : null}
      {shown.map((r) => (
        <Text key={`${r.cur}/${r.status}`} wrap="truncate-end">
          {padRight(r.cur, 4)} <Text color={c(STATUS_COLORS[r.status] ?? 'white')}>{padRight(clip(r.status, 10), 10)}</Text>
          {cellsOf(t, r, k)}
        </Text>
      ))}
      {hidden > 0 ? <Line dim>… {hidden} more rows (tab to focus this panel)</Line> : null}
    </Panel>
  );
}
