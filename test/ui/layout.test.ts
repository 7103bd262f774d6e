import { describe, expect, it } from 'vitest';
import { stackedRows } from '../../ui/Panels.tsx';
import { PANELS } from '../../ui/types.ts';
import { nextPanel } from '../../ui/useDashboardNavigation.ts';

describe('stackedRows', () => {
  it('gives totals, batches and alerts 6, 3 and 5 rows when there is room, the spare rows to totals', () => {
    // 18 body rows: 14 under throughput and latency, exactly the base shares
    expect(stackedRows(18, 'throughput')).toEqual({ totals: 6, batches: 3, alerts: 5 });
    expect(stackedRows(24, 'latency')).toEqual({ totals: 12, batches: 3, alerts: 5 });
  });

  it('hands the spare rows to the focused table', () => {
    expect(stackedRows(24, 'batches')).toEqual({ totals: 6, batches: 9, alerts: 5 });
    expect(stackedRows(24, 'alerts')).toEqual({ totals: 6, batches: 3, alerts: 11 });
  });

  it('scales the shares down in a short terminal, never below 3, 2 and 3 rows', () => {
    expect(stackedRows(11, 'throughput')).toEqual({ totals: 3, batches: 2, alerts: 3 });
    expect(stackedRows(2, 'alerts')).toEqual({ totals: 3, batches: 2, alerts: 3 });
  });
});

describe('nextPanel', () => {
  it('walks the panels in order and wraps around both ways', () => {
    const forward = [PANELS[0]!];
    for (let i = 0; i < PANELS.length; i++) forward.push(nextPanel(forward.at(-1)!, 1));
    expect(forward).toEqual([...PANELS, PANELS[0]]);
    expect(nextPanel(PANELS[0]!, -1)).toBe(PANELS.at(-1));
    expect(nextPanel(PANELS.at(-1)!, 1)).toBe(PANELS[0]);
  });
});
