import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App } from '../../ui/App.tsx';
import type { DashboardActions, ReviewOutcome } from '../../ui/types.ts';
import { aSnapshot, aThroughput, fakeActions, resize, snapshotSubject, tick } from './fixtures.ts';

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
  const press = async (...keys: string[]) => {
    for (const k of keys) {
      r.stdin.write(k);
      await tick();
    }
  };
  return { ...r, snapshots, actions, press, screen: () => r.lastFrame() ?? '' };
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
    expect(wide.some((l) => l.includes('Latency') && l.includes('Batches'))).toBe(true);
    expect(screen()).toContain('╭');
    // more history: the wide sparkline covers more seconds than the narrow one
    expect(screen()).toMatch(/ 1[0-9]{2}s/);
    resize(stdout, 80, 24);
    await tick();
    expect(
      screen()
        .split('\n')
        .some((l) => l.includes('Latency') && l.includes('Batches')),
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
    // esc walks back: detail -> list -> query -> dashboard
    await press(KEY.esc);
    expect(screen()).toContain('2 matches');
    await press(KEY.esc, KEY.esc);
    expect(screen()).toContain('Throughput');
    expect(screen()).not.toContain('Find card');
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
    await press(KEY.esc, '\x7f', '\x7f', '\x7f', '\x7f', 'boom', KEY.enter);
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
