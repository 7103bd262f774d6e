// The dashboard's panels laid out for the terminal size: stacked and abbreviated when narrow; when wide, the
// trends across the whole width (throughput and lag, latency) and two columns under them that fill the rows.

import { Box } from 'ink';
import type { DashboardSnapshot } from '../src/metrics/aggregator.ts';
import { Alerts, alertsRowsWanted } from './Alerts.tsx';
import { Batches } from './Batches.tsx';
import { Latency } from './Latency.tsx';
import { Throughput } from './Throughput.tsx';
import { TopVolume } from './TopVolume.tsx';
import { Totals, totalsRowsWanted } from './Totals.tsx';
import type { OperatorActionView, PanelId } from './types.ts';

/** Two columns from this width on; borders only when there are rows to spare for them. */
export const WIDE_COLUMNS_MIN = 110;
export const BORDERED_ROWS_MIN = 30;
/** Fewest rows the top-volume panel is drawn in (title, currencies, a heading and a row); below, totals keep them. */
const TOP_ROWS_MIN = 4;

export interface PanelsProps {
  snap: DashboardSnapshot;
  columns: number;
  rows: number;
  focus: PanelId;
  operatorActions: readonly OperatorActionView[] | undefined;
}

/** Stacked and abbreviated below WIDE_COLUMNS_MIN; the trends across the top and two columns under them. */
export function Panels(props: PanelsProps) {
  return props.columns < WIDE_COLUMNS_MIN ? <StackedPanels {...props} /> : <TwoColumnPanels {...props} />;
}

type Table = 'totals' | 'batches' | 'alerts';
const TABLES: readonly Table[] = ['totals', 'batches', 'alerts'];

/**
 * Rows of the three tables when stacked, out of what is left under throughput and latency: first a fixed share
 * each (with a floor) but no more than it wants, then the spare rows to the focused table, then to the others
 * up to what they want (totals, alerts, batches), and what is still left to the focused table (alerts when
 * none of them is). Without `wants` a table wants every row.
 */
export function stackedRows(rows: number, focus: PanelId, wants: Partial<Record<Table, number>> = {}): Record<Table, number> {
  const rest = Math.max(6, rows - 3 - 1);
  const base = { totals: 6, batches: 3, alerts: 5 };
  const floor = { totals: 3, batches: 2, alerts: 3 };
  const want = (t: Table) => wants[t] ?? Number.POSITIVE_INFINITY;
  const scale = Math.min(1, rest / (base.totals + base.batches + base.alerts));
  const alloc = { totals: 0, batches: 0, alerts: 0 };
  for (const t of TABLES) alloc[t] = Math.max(floor[t], Math.min(Math.floor(base[t] * scale), want(t)));
  let spare = Math.max(0, rest - alloc.totals - alloc.batches - alloc.alerts);
  const focused = TABLES.find((t) => t === focus);
  for (const t of new Set<Table>([...(focused ? [focused] : []), 'totals', 'alerts', 'batches'])) {
    const more = Math.min(spare, Math.max(0, want(t) - alloc[t]));
    alloc[t] += more;
    spare -= more;
  }
  alloc[focused ?? 'alerts'] += spare;
  return alloc;
}

function StackedPanels({ snap, columns, rows, focus, operatorActions }: PanelsProps) {
  const actionsProp = operatorActions === undefined ? {} : { operatorActions };
  const f = (id: PanelId) => focus === id;
  const alloc = stackedRows(rows, focus, {
    totals: totalsRowsWanted(snap.totals),
    batches: batchesRowsWanted(snap),
    alerts: alertsRowsWanted(snap.alerts, operatorActions),
  });
  return (
    <Box flexDirection="column">
      <Throughput
        throughput={snap.throughput}
        health={snap.health}
        totalOrders={snap.totals.sinceStart.orders}
        width={columns}
        focused={f('throughput')}
      />
      <Latency latency={snap.latency} compact width={columns} focused={f('latency')} />
      <Totals totals={snap.totals} width={columns} maxRows={alloc.totals} focused={f('totals')} />
      <Batches batches={snap.batches} width={columns} maxRows={alloc.batches} focused={f('batches')} />
      <Alerts alerts={snap.alerts} width={columns} maxRows={alloc.alerts} focused={f('alerts')} {...actionsProp} />
    </Box>
  );
}

/** Batches shows a title, then two rows a batch (or one saying there are none). */
const batchesRowsWanted = (snap: DashboardSnapshot): number => 1 + Math.max(1, 2 * snap.batches.length);

/** Rows of each panel in the two columns; every panel fills its rows, so the columns reach the footer. */
export function wideRows(
  colRows: number,
  b: number,
  focus: PanelId,
  wants: { totals: number; batches: number },
): { totals: number; top: number; batches: number; alerts: number } {
  // left: totals as tall as they want (all the rows when focused), the top volume under them if it fits
  const totalsWant = wants.totals + b;
  let totals = focus === 'totals' ? Math.min(colRows, totalsWant) : Math.min(totalsWant, colRows - TOP_ROWS_MIN - b);
  totals = Math.max(Math.min(3 + b, colRows), totals);
  let top = colRows - totals;
  if (top < TOP_ROWS_MIN + b) {
    totals = colRows;
    top = 0;
  }
  // right: batches up to 40 % (60 % when focused) or what they want, the alerts the rest
  const share = Math.floor(colRows * (focus === 'batches' ? 0.6 : 0.4));
  const batches = Math.max(Math.min(3 + b, colRows), Math.min(share, wants.batches + b));
  return { totals, top, batches, alerts: Math.max(0, colRows - batches) };
}

function TwoColumnPanels({ snap, columns, rows, focus, operatorActions }: PanelsProps) {
  const actionsProp = operatorActions === undefined ? {} : { operatorActions };
  const f = (id: PanelId) => focus === id;
  const bordered = rows + 4 >= BORDERED_ROWS_MIN;
  const b = bordered ? 2 : 0;
  const left = Math.floor(columns * 0.55); // totals, the widest table, live on the left
  const right = columns - left;
  // without borders a blank column keeps the two columns' text apart
  const leftInner = bordered ? left : left - 1;
  const throughputRows = 4 + b;
  const latencyRows = 3 + b;
  const r = wideRows(rows - throughputRows - latencyRows, b, focus, {
    totals: totalsRowsWanted(snap.totals),
    batches: batchesRowsWanted(snap),
  });
  return (
    <Box flexDirection="column">
      <Throughput
        throughput={snap.throughput}
        health={snap.health}
        totalOrders={snap.totals.sinceStart.orders}
        lag={snap.lag}
        width={columns}
        bordered={bordered}
        focused={f('throughput')}
      />
      <Latency latency={snap.latency} width={columns} bordered={bordered} focused={f('latency')} />
      <Box flexDirection="row">
        <Box flexDirection="column" width={left}>
          <Totals totals={snap.totals} width={leftInner} maxRows={r.totals} height={r.totals} bordered={bordered} focused={f('totals')} />
          {r.top > 0 ? <TopVolume top={snap.top} width={leftInner} maxRows={r.top} height={r.top} bordered={bordered} /> : null}
        </Box>
        <Box flexDirection="column" width={right}>
          <Batches batches={snap.batches} width={right} maxRows={r.batches} height={r.batches} bordered={bordered} focused={f('batches')} />
          <Alerts
            alerts={snap.alerts}
            width={right}
            maxRows={r.alerts}
            height={r.alerts}
            bordered={bordered}
            focused={f('alerts')}
            {...actionsProp}
          />
        </Box>
      </Box>
    </Box>
  );
}
