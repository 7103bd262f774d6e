import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { Alerts } from '../../ui/Alerts.tsx';
import { Batches } from '../../ui/Batches.tsx';
import { Footer } from '../../ui/Footer.tsx';
import { Header } from '../../ui/Header.tsx';
import { Help } from '../../ui/Help.tsx';
import { Latency } from '../../ui/Latency.tsx';
import { Throughput } from '../../ui/Throughput.tsx';
import { TopVolume } from '../../ui/TopVolume.tsx';
import { Totals } from '../../ui/Totals.tsx';
import {
  aBatch,
  aLag,
  aLatency,
  anAlerts,
  anEmptySnapshot,
  aSnapshot,
  aStatus,
  aThroughput,
  aTopVolume,
  aTotalsPeriod,
} from './fixtures.ts';

const W = 80;

/** Renders at `width` (80 unless told) and checks nothing spills past it. */
function frame(el: React.ReactElement, width = W): string {
  const { lastFrame, unmount } = render(el);
  const out = lastFrame() ?? '';
  unmount();
  for (const line of out.split('\n')) expect([...line].length).toBeLessThanOrEqual(width);
  return out;
}

/** The column (in characters) where the last sparkline block of a line ends. */
const sparkEnd = (line: string): number => {
  const chars = [...line];
  for (let i = chars.length - 1; i >= 0; i--) if (/[▁▂▃▄▅▆▇█]/.test(chars[i]!)) return i;
  return -1;
};

describe('Header', () => {
  it('shows server, connection, stream, consumer, lag, ledger, uptime and state', () => {
    const s = aSnapshot();
    const out = frame(<Header status={s.status} uptimeMs={s.uptimeMs} health={[]} width={W} />);
    expect(out).toContain('paystream ● connected │ running │ up 1h02m │ nats://127.0.0.1:4222');
    expect(out).toContain('pending 3 │ stream PAY │ consumer paystream │ ledger data/ledger');
  });

  it('says loudly that NATS is down and the consumer lags, not healthy zeros', () => {
    const out = frame(
      <Header
        status={aStatus({ connection: 'reconnecting', pendingMessages: 25_000 })}
        uptimeMs={0}
        health={[
          { level: 'error', code: 'nats_down', text: 'NATS down — reconnecting' },
          { level: 'warn', code: 'consumer_lagging', text: 'consumer lagging: 25000 pending' },
        ]}
        width={W}
      />,
    );
    expect(out).toContain('NATS DOWN — RECONNECTING');
    expect(out).toContain('consumer lagging: 25000 pending');
  });

  it('shows offline replay, unknown lag, a draining processor and a paused display', () => {
    const out = frame(
      <Header
        status={aStatus({ connection: 'offline', pendingMessages: undefined, state: 'draining' })}
        uptimeMs={59_000}
        health={[]}
        displayPaused
        width={W}
      />,
    );
    expect(out).toContain('DRAINING');
    expect(out).toContain('DISPLAY PAUSED');
    expect(out).toContain('offline replay');
    expect(out).toContain('pending ?');
  });
});

describe('Throughput', () => {
  it('shows orders/s now, a sparkline and per-status rates', () => {
    const s = aSnapshot();
    const out = frame(<Throughput throughput={s.throughput} health={[]} totalOrders={12_345} width={W} />);
    expect(out).toContain('123/s now');
    expect(out).toContain('12,345 total');
    expect(out).toMatch(/[▁▂▃▄▅▆▇█]{7}/);
    expect(out).toContain('approved 111/s');
    expect(out).toContain('declined 9.2/s');
    expect(out).toContain('held 1.1/s');
    expect(out).toContain('rejected 2.6/s');
  });

  it('says there is no traffic yet instead of an empty sparkline, and flags idleness', () => {
    const e = anEmptySnapshot();
    expect(
      frame(<Throughput throughput={e.throughput} health={e.health} totalOrders={0} width={W} />),
    ).toContain('no traffic yet');
    const idle = frame(
      <Throughput
        throughput={aThroughput()}
        health={[{ level: 'info', code: 'idle', text: 'idle: no orders for 45s' }]}
        totalOrders={5}
        width={W}
      />,
    );
    expect(idle).toContain('idle: no orders for 45s');
  });
});

describe('Throughput with the lag trend (wide)', () => {
  it('draws pending messages under the orders, the newest second of both in the same column', () => {
    const s = aSnapshot();
    const out = frame(<Throughput throughput={s.throughput} health={[]} totalOrders={1} lag={aLag()} width={200} />, 200);
    const lines = out.split('\n');
    const orders = lines.find((l) => l.includes('orders/s ·'))!;
    const lag = lines.find((l) => l.includes('pending'))!;
    expect(lag).toContain('pending 3,960 · max 3,960');
    expect(sparkEnd(lag)).toBe(sparkEnd(orders));
    // the lag trend and the latency trend end in the same column too (both full width)
    const latency = frame(<Latency latency={aLatency()} width={200} />, 200).split('\n')[1]!;
    expect(sparkEnd(latency)).toBe(sparkEnd(orders));
  });

  it('says so when the source reports no lag (an offline replay)', () => {
    const s = aSnapshot();
    const lag = aLag({ known: false, pendingPerSecond: new Array(300).fill(0) });
    expect(frame(<Throughput throughput={s.throughput} health={[]} totalOrders={1} lag={lag} width={120} />, 120)).toContain(
      'lag: not reported by this source',
    );
  });
});

describe('TopVolume', () => {
  it('lists the top merchants and cards (masked) per currency, side by side when wide', () => {
    const out = frame(<TopVolume top={aTopVolume()} width={110} maxRows={10} />, 110);
    expect(out).toContain('Top volume last 60s · approved, authorized and held · by amount in each currency');
    expect(out).toContain('EUR 540 orders 12,500.00 · JPY 60 orders 72,000');
    const rows = out.split('\n');
    const first = rows.find((l) => l.includes('m-coffee-corner'))!;
    expect(first).toMatch(/^EUR m-coffee-corner +4,500\.00 +300 │ EUR 411111\*{6}1111 +2,500\.00 +12$/);
    expect(rows.find((l) => l.includes('m-ramen-jpy'))).toMatch(/^JPY m-ramen-jpy +72,000 +60 │$/);
    expect(out).toMatch(/JPY m-ramen-jpy +72,000 +60/);
    expect(out).toMatch(/JPY 353011\*{6}0000 +72,000 +60/);
    expect(out).not.toMatch(/\d{12,}/);
  });

  it('stacks the two lists when narrow, sharing the rows between currencies, and says when nothing moved', () => {
    const out = frame(<TopVolume top={aTopVolume()} width={60} maxRows={10} />, 60);
    const rows = out.split('\n');
    expect(rows.findIndex((l) => l.startsWith('CUR CARD'))).toBeGreaterThan(rows.findIndex((l) => l.startsWith('CUR MERCHANT')));
    // three rows for the merchants: two of EUR, one of JPY (each currency its turn)
    expect(rows.filter((l) => /^(EUR|JPY) m-/.test(l)).map((l) => l.slice(0, 20).trim())).toEqual([
      'EUR m-coffee-corner',
      'EUR m-books',
      'JPY m-ramen-jpy',
    ]);
    expect(rows.length).toBeLessThanOrEqual(10);
    const empty = frame(<TopVolume top={aTopVolume({ currencies: [] })} width={W} maxRows={5} />);
    expect(empty).toContain('no money moved in the last 60s');
  });
});

describe('Totals', () => {
  it('right-aligns grouped amounts with each currency exponent, since start and today', () => {
    const s = aSnapshot();
    const out = frame(<Totals totals={s.totals} width={W} maxRows={10} />);
    const eur = out.split('\n').find((l) => l.startsWith('EUR  approved'))!;
    expect(eur).toMatch(/10,000\s+1,234,567\.89 │\s+10,000\s+1,234,567\.89$/);
    expect(out).toMatch(/JPY {2}approved\s+2,000\s+1,234,567 │/);
    expect(out).toMatch(/KWD {2}held\s+45\s+12\.345 │/);
    expect(out).toContain('today 2025-03-14 UTC 345');
    // right-aligned: the amounts end in the same column
    const ends = out
      .split('\n')
      .filter((l) => /^(EUR|JPY|KWD) /.test(l))
      .map((l) => l.indexOf(' │'));
    expect(new Set(ends).size).toBe(1);
  });

  it('shows one set of columns when today holds every order since start (a run started today)', () => {
    const period = aTotalsPeriod();
    const out = frame(<Totals totals={{ sinceStart: period, today: period, todayUtc: '2025-03-14' }} width={W} maxRows={10} />);
    expect(out).toContain('since start 12,345 orders · all today (2025-03-14 UTC)');
    expect(out).not.toContain('TODAY');
    expect(out).not.toContain('│');
    expect(out).toMatch(/EUR {2}approved\s+10,000\s+1,234,567\.89\n/);
  });

  it('says "no traffic yet" rather than zeros, and folds rows that do not fit', () => {
    expect(frame(<Totals totals={anEmptySnapshot().totals} width={W} maxRows={6} />)).toContain(
      'no traffic yet',
    );
    const out = frame(<Totals totals={aSnapshot().totals} width={W} maxRows={4} />);
    expect(out).toContain('… 3 more rows');
  });
});

describe('Latency', () => {
  it('shows p50/p95/p99/max for the recent window and the run', () => {
    const out = frame(<Latency latency={aLatency()} width={W} />);
    expect(out).toContain('last 60s  p50 11 ms p95 38 ms p99 80 ms max 120 ms');
    expect(out).toContain('run       p50 12 ms p95 40 ms p99 85 ms max 1.50 s');
    expect(frame(<Latency latency={aLatency()} compact width={W} />).split('\n')).toHaveLength(1);
  });

  it('draws each second\'s p99 and p50 beside the percentiles when wide, not at 80 columns', () => {
    const wide = frame(<Latency latency={aLatency()} width={200} />, 200);
    const [, recent, run] = wide.split('\n');
    expect(recent).toMatch(/^last 60s {2}p50 11 ms p95 38 ms p99 80 ms max 120 ms n=600 +│ [▁▂▃▄▅▆▇█ ]{50,} p99 · peak 119 ms/);
    expect(run).toMatch(/^run +p50 12 ms .* │ [▁▂▃▄▅▆▇█ ]{50,} p50 · peak 12 ms/);
    expect(sparkEnd(recent!)).toBe(sparkEnd(run!));
    expect(frame(<Latency latency={aLatency()} width={W} />)).not.toMatch(/[▁▂▃▄▅▆▇█]/);
  });

  it('says there are no samples yet', () => {
    expect(frame(<Latency latency={anEmptySnapshot().latency} compact width={W} />)).toContain(
      'no samples yet',
    );
  });
});

describe('Batches', () => {
  it('draws progress bars for orders seen and sum so far', () => {
    const out = frame(<Batches batches={[aBatch()]} width={W} maxRows={5} />);
    expect(out).toContain('B-2025-0001 atomic EUR open');
    expect(out).toMatch(/orders █+░+ 40\/100/);
    expect(out).toMatch(/sum +█+░+ 500\.00 \/ 2,000\.00/);
  });

  it('shows the report once a batch is done, flags a sum over the control sum, and the empty state', () => {
    const done = aBatch({
      batchId: 'B2',
      state: 'done',
      seen: 100,
      report: {
        perStatus: {
          approved: { count: 98, amountMinor: 196_000n },
          declined: { count: 2, amountMinor: 4000n },
        },
      },
    });
    const over = aBatch({ batchId: 'B3', sumSoFarMinor: 300_000n });
    const out = frame(<Batches batches={[done, over]} width={W} maxRows={6} />);
    expect(out).toContain('report: approved 98 1,960.00 · declined 2 40.00');
    expect(out).toContain('over control sum');
    expect(frame(<Batches batches={[]} width={W} maxRows={3} />)).toContain('no batches in flight');
  });
});

describe('Alerts', () => {
  it('lists rule hits, dead letters, the review queue and recent alerts', () => {
    const out = frame(<Alerts alerts={anAlerts()} width={W} maxRows={8} />);
    expect(out).toContain('rules (15): velocity_5m 12 · high_amount 3');
    expect(out).toContain('dead letters (2): not_json 2');
    expect(out).toContain('review queue: 4 held — press r');
    expect(out).toContain('11:59:55 rule hit: velocity_5m ×3');
    expect(out).toContain('11:59:00 dead letter: not_json');
  });

  it('shows the newest operator action on a row of its own when only one or two rows are free (narrow)', () => {
    const action = { seq: 9, atIso: '2026-12-01T10:09:00.000Z', who: 'local:alice', what: 'cards.freeze token=0123…', outcome: 'ok' };
    const out = frame(<Alerts alerts={anAlerts()} width={W} maxRows={6} operatorActions={[action]} />);
    expect(out).toContain('last action 10:09:00 ok local:alice cards.freeze token=0123…');
    expect(out).toContain('11:59:55 rule hit: velocity_5m ×3');
    expect(out.split('\n')).toHaveLength(6);
    expect(frame(<Alerts alerts={anAlerts()} width={W} maxRows={5} operatorActions={[]} />)).toContain('last action none yet');
  });

  it('shows explicit empties', () => {
    const out = frame(<Alerts alerts={anEmptySnapshot().alerts} width={W} maxRows={6} />);
    expect(out).toContain('rules (0): none');
    expect(out).toContain('review queue: empty');
    expect(out).toContain('no alerts');
  });
});

describe('Footer and Help', () => {
  it('lists the keys', () => {
    const out = frame(<Footer mode="main" width={W} />);
    for (const k of ['/  lookup', 'tab  next panel', 'p  pause', 'r  review', '?  help', 'q  quit']) {
      expect(out).toContain(k);
    }
    expect(frame(<Footer mode="main" displayPaused width={W} />)).toContain('p  resume');
    expect(frame(<Footer mode="main" quitting width={W} />)).toContain('draining the processor');
  });

  it('explains keys and figures', () => {
    const out = frame(<Help width={W} />);
    expect(out).toContain('pause the display');
    expect(out).toContain('pending = messages');
  });
});
