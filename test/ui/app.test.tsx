import { render } from 'ink-testing-library';
import { BehaviorSubject } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App } from '../../ui/App.tsx';
import type { DashboardActions, OperatorActionView, ReviewOutcome } from '../../ui/types.ts';
import { aSnapshot, aThroughput, aTotalsPeriod, fakeActions, resize, snapshotSubject, tick } from './fixtures.ts';

const KEY = {
  enter: '\r',
  esc: '\x1b',
  up: '\x1b[A',
  down: '\x1b[B',
  tab: '\t',
  shiftTab: '\x1b[Z',
  ctrlC: '\x03',
};

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

/** The App at 80x24 (unless told otherwise) with one snapshot shown. */
async function start(actions: DashboardActions = fakeActions(), size: [number, number] = [80, 24]) {
  const snapshots = snapshotSubject();
  const r = render(<App snapshots={snapshots} actions={actions} />);
  cleanup = r.unmount;
  resize(r.stdout, ...size);
  snapshots.next(aSnapshot());
  await tick();
  const screen = () => r.lastFrame() ?? '';
  const press = async (...keys: string[]) => {
    for (const k of keys) {
      const before = screen();
      const onDashboard = before.includes('/  lookup');
      r.stdin.write(k);
      await tick();
      // an overlay takes its keys once it has subscribed, right after its first frame: wait for that frame;
      // and the view an esc goes back to likewise (on a loaded machine 40 ms is not always a frame)
      const overlay = onDashboard ? OVERLAY_TITLES[k] : undefined;
      if (overlay) await until(() => screen().includes(overlay));
      else if (k === KEY.esc && !onDashboard) await until(() => screen() !== before);
    }
  };
  return { ...r, snapshots, actions, press, screen };
}

/** The text each overlay's first frame shows, by the key that opens it. */
const OVERLAY_TITLES: Record<string, string> = { '/': 'Find card', r: 'Review queue', '?': 'Help' };

/** Waits (up to 2 s) until `predicate` holds, then a little more for the effects of that frame. */
async function until(predicate: () => boolean): Promise<void> {
  for (let waitedMs = 0; !predicate() && waitedMs < 2000; waitedMs += 10) await tick(10);
  await tick(20);
}

describe('App layout', () => {
  it('fits 80x24: every panel stacked, nothing wider than 80 or taller than 23 rows', async () => {
    const { screen } = await start();
    const lines = screen().split('\n');
    expect(lines.length).toBeLessThanOrEqual(23);
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(80);
    for (const t of ['● connected', 'Throughput', 'Latency', 'Totals', 'Batches', 'Alerts', 'q  quit']) {
      expect(screen()).toContain(t);
    }
    expect(screen()).not.toContain('╭');
  });

  it('reflows on resize: two bordered columns when wide and tall, stacked again when narrow', async () => {
    const { stdout, screen } = await start();
    resize(stdout, 160, 50);
    await tick();
    const wide = screen().split('\n');
    expect(wide.some((l) => l.includes('Totals') && l.includes('Batches'))).toBe(true);
    expect(screen()).toContain('╭');
    // more history: the wide sparkline covers more seconds than the narrow one
    expect(screen()).toMatch(/ 1[0-9]{2}s/);
    resize(stdout, 80, 24);
    await tick();
    expect(
      screen()
        .split('\n')
        .some((l) => l.includes('Totals') && l.includes('Batches')),
    ).toBe(false);
    expect(screen()).toMatch(/ 6[0-9]s/);
  });

  it('shows a waiting state before the first snapshot', () => {
    const r = render(<App snapshots={snapshotSubject()} actions={fakeActions()} />);
    cleanup = r.unmount;
    expect(r.lastFrame()).toContain('waiting for the first metrics snapshot');
  });

  it('renders only when a snapshot arrives', async () => {
    const { frames, snapshots } = await start();
    const before = frames.length;
    await tick(200);
    expect(frames.length).toBe(before);
    snapshots.next(aSnapshot({ throughput: { ordersPerSecond: 5 } }));
    await tick();
    expect(frames.length).toBeGreaterThan(before);
  });

  it('tab moves the focus to the next panel, shift-tab back, wrapping around', async () => {
    const { press, screen } = await start();
    expect(screen()).toContain('▶ Throughput');
    await press(KEY.tab);
    expect(screen()).toContain('▶ Totals');
    expect(screen()).not.toContain('▶ Throughput');
    await press(KEY.shiftTab, KEY.shiftTab);
    expect(screen()).toContain('▶ Alerts');
    await press(KEY.tab);
    expect(screen()).toContain('▶ Throughput');
  });
});

describe('App keys: card lookup', () => {
  it('takes a pasted query with its Enter in one chunk, and never lets a control character into the line', async () => {
    const { press, screen, actions } = await start();
    await press('/');
    await press('1111\r');
    expect(actions.lookupCards).toHaveBeenCalledWith('1111');
    expect(screen()).toContain('Find card > 1111');
    expect(screen()).toContain('2 matches for "1111"');
  });

  it('looks a card up: /, 1111, enter, pick with arrows, enter shows masked PAN and balance', async () => {
    const { press, screen, actions } = await start();
    await press('/');
    expect(screen()).toContain('Find card');
    await press('1', '1', '1', '1', KEY.enter);
    expect(actions.lookupCards).toHaveBeenCalledWith('1111');
    expect(screen()).toContain('2 matches for "1111"');
    expect(screen()).toContain('555555******1111');
    await press(KEY.down, KEY.up, KEY.enter);
    expect(actions.cardDetail).toHaveBeenCalledWith('a'.repeat(64));
    const s = screen();
    expect(s).toContain('411111******1111 visa · Jane Doe · status active · expires 12/27');
    expect(s).toContain('balance 1,234.50 · holds 100.00 · available 1,134.50');
    expect(s).toContain("today's spend 55.00 EUR");
    expect(s).toMatch(/payment\s+-12\.50 to Coffee Corner/);
  });

  it('lets a holder name contain q, p and r without quitting, pausing or opening review', async () => {
    const { press, screen, actions } = await start();
    await press('/', 'q', 'p', 'r', KEY.enter);
    expect(actions.quit).not.toHaveBeenCalled();
    expect(actions.lookupCards).toHaveBeenCalledWith('qpr');
    expect(screen()).not.toContain('DISPLAY PAUSED');
  });

  it('says when no card matches and when the lookup fails', async () => {
    const actions = fakeActions({
      lookupCards: async (q) => {
        if (q === 'boom') throw new Error('processor busy');
        return [];
      },
    });
    const { press, screen } = await start(actions);
    await press('/', '9999', KEY.enter);
    expect(screen()).toContain('no card matches "9999"');
    await press('\x7f', '\x7f', '\x7f', '\x7f', 'boom', KEY.enter);
    expect(screen()).toContain('lookup failed: processor busy');
  });

  it('masks a card number typed as the query in what it answers (issue 14: no message echoes a PAN)', async () => {
    const { press, screen } = await start(fakeActions({ lookupCards: async () => [] }));
    await press('/');
    await tick(200);
    await press('4111111111111111');
    expect(screen()).toContain('Find card > 411111******1111');
    await press(KEY.enter);
    expect(screen()).toContain('no card matches "411111******1111"');
    expect(screen()).not.toContain('4111111111111111');
  });
});

describe('App keys: pause, review, help and quit', () => {
  it('p freezes the figures while new snapshots arrive, p again shows the latest', async () => {
    const { press, screen, snapshots } = await start();
    expect(screen()).toContain('123/s now');
    await press('p');
    expect(screen()).toContain('DISPLAY PAUSED');
    snapshots.next(aSnapshot({ throughput: aThroughput({ ordersPerSecond: 987 }) }));
    await tick();
    expect(screen()).toContain('123/s now');
    expect(screen()).not.toContain('987/s now');
    await press('p');
    expect(screen()).toContain('987/s now');
    expect(screen()).not.toContain('DISPLAY PAUSED');
  });

  it('r opens the review queue; a approves, d declines the selected order and the list reloads', async () => {
    const { press, screen, actions } = await start();
    await press('r');
    expect(screen()).toContain('Review queue 2 held');
    expect(screen()).toContain('ord-1');
    expect(screen()).toContain('high_amount');
    await press('a');
    expect(actions.decideReview).toHaveBeenCalledWith('ord-1', 'approve');
    expect(screen()).toContain('ord-1 → approved');
    expect(actions.reviewQueue).toHaveBeenCalledTimes(2);
    await press(KEY.down, 'd');
    expect(actions.decideReview).toHaveBeenLastCalledWith('ord-2', 'decline');
    expect(screen()).toContain('ord-2 → declined (review_declined)');
    await press(KEY.esc);
    expect(screen()).not.toContain('Review queue');
  });

  it('decides once when a is pressed twice while the first decision is in flight', async () => {
    let settle: (v: ReviewOutcome) => void = () => {};
    const decideReview = vi.fn(() => new Promise<ReviewOutcome>((r) => (settle = r)));
    const { press, screen } = await start(fakeActions({ decideReview }));
    await press('r', 'a', 'a', 'd');
    expect(screen()).toContain('approving ord-1');
    expect(decideReview).toHaveBeenCalledTimes(1);
    settle({ status: 'approved' });
    await tick();
    expect(screen()).toContain('ord-1 → approved');
  });

  it('says when the review queue is empty', async () => {
    const { press, screen } = await start(fakeActions({ reviewQueue: async () => [] }));
    await press('r');
    expect(screen()).toContain('review queue empty');
  });

  it('? shows help, esc closes it', async () => {
    const { press, screen } = await start();
    await press('?');
    expect(screen()).toContain('pause the display');
    await press(KEY.esc);
    expect(screen()).toContain('Throughput');
  });

  it('q and Ctrl-C call actions.quit, and the footer says it is draining', async () => {
    const { press, screen, actions } = await start();
    await press('q');
    expect(actions.quit).toHaveBeenCalledTimes(1);
    expect(screen()).toContain('draining the processor');
    await press(KEY.ctrlC);
    expect(actions.quit).toHaveBeenCalledTimes(2);
  });

  it('Ctrl-C quits from inside an overlay too', async () => {
    const { press, actions } = await start();
    await press('/', KEY.ctrlC);
    expect(actions.quit).toHaveBeenCalledTimes(1);
  });
});

describe('App keys: esc steps back exactly one level', () => {
  it('help and review close with one esc each, and the next key acts on the dashboard', async () => {
    const { press, screen, actions } = await start();
    await press('?', KEY.esc, 'r');
    expect(screen()).toContain('Review queue');
    await press(KEY.esc, 'p');
    expect(screen()).not.toContain('Review queue');
    expect(screen()).toContain('DISPLAY PAUSED');
    await press('q');
    expect(actions.quit).toHaveBeenCalledTimes(1);
  });

  it('card -> matches -> dashboard, and a q after that quits instead of landing in the search field', async () => {
    const { press, screen, actions } = await start();
    await press('/', '1111', KEY.enter, KEY.enter);
    expect(screen()).toContain('balance 1,234.50');
    await press(KEY.esc);
    expect(screen()).toContain('2 matches for "1111"');
    expect(screen()).toContain('Find card > 1111');
    await press(KEY.esc);
    expect(screen()).not.toContain('Find card');
    expect(screen()).toContain('Throughput');
    await press('q');
    expect(actions.quit).toHaveBeenCalledTimes(1);
  });

  it('leaves a lookup with a list, or with a query not yet searched, in one press', async () => {
    const { press, screen, actions } = await start();
    await press('/', '1111', KEY.enter);
    expect(screen()).toContain('2 matches');
    await press(KEY.esc);
    expect(screen()).toContain('Throughput');
    await press('/', 'Ja', KEY.esc);
    expect(screen()).toContain('Throughput');
    await tick(300); // the query left behind is never searched
    expect(actions.lookupCards).toHaveBeenCalledTimes(1);
  });

  it('backspace on a card goes back to its matches too, and / there starts a new query', async () => {
    const { press, screen } = await start();
    await press('/', '1111', KEY.enter, KEY.enter, '\x7f');
    expect(screen()).toContain('2 matches');
    await press(KEY.enter, '/');
    expect(screen()).toContain('token, last 4 digits or holder name · narrows as you type');
    expect(screen()).not.toContain('Find card > 1111');
    expect(screen()).not.toContain('matches for');
  });
});

describe('App: what the operator sees at 200x50 and at 80x24', () => {
  const actionRows: OperatorActionView[] = [
    { seq: 2, atIso: '2025-03-14T11:58:00.000Z', who: 'local:alice', what: 'cards.freeze token=0123456789ab…', outcome: 'ok' },
    { seq: 1, atIso: '2025-03-14T11:50:00.000Z', who: 'UBOB@OPERATORS', what: 'accounts.deposit id=m-a amount=5.00', outcome: 'ok' },
  ];
  /** A run that started today: since start and today hold the same orders. */
  const todaysRun = () => {
    const period = aTotalsPeriod();
    return aSnapshot({ totals: { sinceStart: period, today: period } });
  };

  async function show(columns: number, rows: number): Promise<string[]> {
    const snapshots = snapshotSubject();
    const r = render(<App snapshots={snapshots} actions={fakeActions()} operatorActions={new BehaviorSubject(actionRows)} />);
    cleanup = r.unmount;
    resize(r.stdout, columns, rows);
    snapshots.next(todaysRun());
    await tick(100);
    const lines = (r.lastFrame() ?? '').split('\n');
    expect(lines.length).toBeLessThanOrEqual(rows - 1);
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(columns);
    return lines;
  }

  it('200x50: trends across the width, totals once, the top volume, alerts with operator actions, down to the footer', async () => {
    const lines = await show(200, 50);
    const text = lines.join('\n');
    expect(text).toContain('pending 3,960 · max 3,960');
    expect(text).toMatch(/last 60s {2}p50 11 ms .* │ [▁▂▃▄▅▆▇█ ]{80,} p99 · peak 119 ms/);
    expect(text).toMatch(/run {7}p50 12 ms .* │ [▁▂▃▄▅▆▇█ ]{80,} p50 · peak 12 ms/);
    expect(text).toContain('since start 12,345 orders · all today (2025-03-14 UTC)');
    expect(text).not.toContain('TODAY AMOUNT');
    expect(text).toMatch(/EUR m-coffee-corner +4,500\.00 +300 │ EUR 411111\*{6}1111 +2,500\.00 +12/);
    expect(text).toContain('operator actions');
    expect(text).toContain('11:58:00 ok local:alice cards.freeze token=0123456789ab…');
    expect(text).toContain('11:50:00 ok UBOB@OPERATORS accounts.deposit id=m-a amount=5.00');
    // both columns reach the row above the key bar: the screen is used to its last row
    expect(lines).toHaveLength(49);
    expect(lines.at(-2)).toMatch(/^╰─+╯╰─+╯$/);
    expect(lines.at(-1)).toContain('/  lookup');
  });

  it('80x24: stacked, still fitting, the newest operator action in the alerts', async () => {
    const lines = await show(80, 24);
    const text = lines.join('\n');
    for (const t of ['Throughput', 'Latency last 60s', 'Totals', 'Batches', 'Alerts', 'review queue: 4 held']) {
      expect(text).toContain(t);
    }
    expect(text).toMatch(/11:58:00 ok local:alice cards\.freeze/);
    expect(text).not.toContain('Top volume');
    expect(text).not.toContain('TODAY');
  });
});
