// The dashboard's panels laid out for the terminal size: stacked and abbreviated when narrow, two columns when wide.

import { Box } from 'ink';
import type { DashboardSnapshot } from '../src/metrics/aggregator.ts';
import { Alerts } from './Alerts.tsx';
import { Batches } from './Batches.tsx';
import { Latency } from './Latency.tsx';
import { Throughput } from './Throughput.tsx';
import { Totals } from './Totals.tsx';
import type { OperatorActionView, PanelId } from './types.ts';

/** Two columns from this width on; borders only when there are rows to spare for them. */
export const WIDE_COLUMNS_MIN = 110;
export const BORDERED_ROWS_MIN = 30;

export interface PanelsProps {
  snap: DashboardSnapshot;
  columns: number;
  rows: number;
  focus: PanelId;
  operatorActions: readonly OperatorActionView[] | undefined;
}

/** Stacked and abbreviated below WIDE_COLUMNS_MIN; throughput across the top and two columns above it. */
export function Panels(props: PanelsProps) {
  return props.columns < WIDE_COLUMNS_MIN ? <StackedPanels {...props} /> : <TwoColumnPanels {...props} />;
}

/**
 * Rows of the three tables when stacked: a fixed share of what is left under throughput and latency, each
 * with a floor, and the spare rows to the focused table (totals when none of them is focused).
 */
export function stackedRows(
  rows: number,
  focus: PanelId,
): { totals: number; batches: number; alerts: number } {
  const rest = Math.max(6, rows - 3 - 1);
  const base = { totals: 6, batches: 3, alerts: 5 };
  const scale = Math.min(1, rest / (base.totals + base.batches + base.alerts));
  const alloc = {
    totals: Math.max(3, Math.floor(base.totals * scale)),
    batches: Math.max(2, Math.floor(base.batches * scale)),
    alerts: Math.max(3, Math.floor(base.alerts * scale)),
  };
  const spare = Math.max(0, rest - alloc.totals - alloc.batches - alloc.alerts);
  if (focus === 'batches') alloc.batches += spare;
  else if (focus === 'alerts') alloc.alerts += spare;
  else alloc.totals += spare;
  return alloc;
}

function StackedPanels({ snap, columns, rows, focus, operatorActions }: PanelsProps) {
  const actionsProp = operatorActions === undefined ? {} : { operatorActions };
  const f = (id: PanelId) => focus === id;
  const alloc = stackedRows(rows, focus);
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
      <Alerts
        alerts={snap.alerts}
        width={columns}
        maxRows={alloc.alerts}
        focused={f('alerts')}
        {...actionsProp}
      />
    </Box>
  );
}

function TwoColumnPanels({ snap, columns, rows, focus, operatorActions }: PanelsProps) {
  const actionsProp = operatorActions === undefined ? {} : { operatorActions };
  const f = (id: PanelId) => focus === id;
  const bordered = rows + 4 >= BORDERED_ROWS_MIN;
  const b = bordered ? 2 : 0;
  const left = Math.floor(columns * 0.55); // totals, the widest table, live on the left
  const right = columns - left;
  const colRows = rows - 3 - b;
  const batchesRows = Math.max(3 + b, Math.floor(colRows * (f('batches') ? 0.6 : 0.4)));
  return (
    <Box flexDirection="column">
      <Throughput
        throughput={snap.throughput}
        health={snap.health}
        totalOrders={snap.totals.sinceStart.orders}
        width={columns}
        bordered={bordered}
        focused={f('throughput')}
      />
      <Box flexDirection="row">
        <Box flexDirection="column" width={left}>
          <Latency latency={snap.latency} width={left} bordered={bordered} focused={f('latency')} />
          <Totals
            totals={snap.totals}
            width={left}
            maxRows={colRows - 3 - b}
            bordered={bordered}
            focused={f('totals')}
          />
        </Box>
        <Box flexDirection="column" width={right}>
          <Batches
            batches={snap.batches}
            width={right}
            maxRows={batchesRows}
            bordered={bordered}
            focused={f('batches')}
          />
          <Alerts
            alerts={snap.alerts}
            width={right}
            maxRows={colRows - batchesRows}
            bordered={bordered}
            focused={f('alerts')}
            {...actionsProp}
          />
        </Box>
      </Box>
    </Box>
  );
}
