import { describe, expect, it } from 'vitest';
import { stackedRows, wideRows } from '../../ui/Panels.tsx';
import { shareRows } from '../../ui/TopVolume.tsx';
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

describe('stackedRows with what each table wants (its content)', () => {
  it('gives no table more than it wants while another wants more: the alerts take what totals and batches leave', () => {
    // 80x24: 20 body rows, 16 for the tables
    expect(stackedRows(20, 'throughput', { totals: 5, batches: 2, alerts: 9 })).toEqual({ totals: 5, batches: 2, alerts: 9 });
    expect(stackedRows(20, 'throughput', { totals: 12, batches: 2, alerts: 9 })).toEqual({ totals: 9, batches: 2, alerts: 5 });
  });

  it('serves the focused table first, and leaves rows nobody wants to it', () => {
    expect(stackedRows(20, 'totals', { totals: 30, batches: 3, alerts: 30 })).toEqual({ totals: 8, batches: 3, alerts: 5 });
    expect(stackedRows(20, 'batches', { totals: 4, batches: 3, alerts: 6 })).toEqual({ totals: 4, batches: 6, alerts: 6 });
  });
});

describe('wideRows', () => {
  it('at 200x50 (35 rows under the trends, bordered): totals as tall as they want, the top volume under them, alerts the rest', () => {
    expect(wideRows(35, 2, 'throughput', { totals: 6, batches: 3 })).toEqual({ totals: 8, top: 27, batches: 5, alerts: 30 });
  });

  it('gives the focused table its rows, and drops the top volume when it would not fit its minimum', () => {
    expect(wideRows(35, 2, 'totals', { totals: 40, batches: 3 })).toEqual({ totals: 35, top: 0, batches: 5, alerts: 30 });
    expect(wideRows(35, 2, 'batches', { totals: 6, batches: 40 })).toMatchObject({ batches: 21, alerts: 14 });
    expect(wideRows(10, 0, 'throughput', { totals: 8, batches: 3 })).toMatchObject({ totals: 6, top: 4 });
    expect(wideRows(6, 0, 'throughput', { totals: 8, batches: 3 })).toMatchObject({ totals: 6, top: 0 });
  });
});

describe('shareRows', () => {
  it('gives each currency a row in turn, most orders first, until the rows or the entries run out', () => {
    expect(shareRows([3, 1], 3)).toEqual([2, 1]);
    expect(shareRows([3, 1], 2)).toEqual([1, 1]);
    expect(shareRows([3, 1], 1)).toEqual([1, 0]);
    expect(shareRows([0, 2], 5)).toEqual([0, 2]);
    expect(shareRows([4, 4], 0)).toEqual([0, 0]);
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
