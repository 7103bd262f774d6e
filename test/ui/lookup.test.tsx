// The card lookup narrows as you type: one search once the query rests for LOOKUP_DEBOUNCE_MS (fake timers),
// the newest answer only, and esc one level back.
import { render } from 'ink-testing-library';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Lookup } from '../../ui/Lookup.tsx';
import type { CardSummary } from '../../ui/types.ts';
import { LOOKUP_DEBOUNCE_MS } from '../../ui/useCardLookup.ts';
import { aCard, fakeActions } from './fixtures.ts';

/** Lets React and Ink finish what a key or an answer started (they run on setImmediate, never faked here). */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

/** A lookupCards whose answers the test releases, in any order. */
function heldAnswers() {
  const calls: { query: string; answer(cards: CardSummary[]): void }[] = [];
  const lookupCards = vi.fn(
    (query: string) => new Promise<CardSummary[]>((resolve) => calls.push({ query, answer: resolve })),
  );
  return { calls, lookupCards };
}

function mount(actions = fakeActions()) {
  const onClose = vi.fn();
  const r = render(<Lookup actions={actions} width={80} maxRows={20} onClose={onClose} />);
  const type = async (...keys: string[]) => {
    for (const k of keys) {
      r.stdin.write(k);
      await settle();
    }
  };
  const wait = async (ms: number) => {
    await vi.advanceTimersByTimeAsync(ms);
    await settle();
  };
  return { ...r, onClose, type, wait, screen: () => r.lastFrame() ?? '' };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Lookup: the matches narrow as you type', () => {
  it('searches once the query has rested for the debounce, not on every key, and without enter', async () => {
    const actions = fakeActions({ lookupCards: vi.fn(async (q: string) => (q === 'Ja' ? [aCard()] : [])) });
    const l = mount(actions);
    await settle();
    await l.type('J');
    await l.wait(LOOKUP_DEBOUNCE_MS - 50);
    await l.type('a');
    await l.wait(LOOKUP_DEBOUNCE_MS - 1);
    expect(actions.lookupCards).not.toHaveBeenCalled();
    await l.wait(1);
    expect(actions.lookupCards).toHaveBeenCalledTimes(1);
    expect(actions.lookupCards).toHaveBeenCalledWith('Ja');
    expect(l.screen()).toContain('1 match for "Ja"');
    expect(l.screen()).toContain('411111******1111');
    await l.type('x');
    await l.wait(LOOKUP_DEBOUNCE_MS);
    expect(actions.lookupCards).toHaveBeenLastCalledWith('Jax');
    expect(l.screen()).toContain('no card matches "Jax"');
    l.unmount();
  });

  it('enter searches at once; the debounce then finds nothing new to search', async () => {
    const actions = fakeActions();
    const l = mount(actions);
    await settle();
    await l.type('1111', '\r');
    expect(actions.lookupCards).toHaveBeenCalledWith('1111');
    await l.wait(LOOKUP_DEBOUNCE_MS * 2);
    expect(actions.lookupCards).toHaveBeenCalledTimes(1);
    expect(l.screen()).toContain('2 matches for "1111"');
    l.unmount();
  });

  it('keeps the matches on screen while the next search runs, and never lets an older answer replace a newer one', async () => {
    const { calls, lookupCards } = heldAnswers();
    const l = mount(fakeActions({ lookupCards }));
    await settle();
    await l.type('J');
    await l.wait(LOOKUP_DEBOUNCE_MS);
    await l.type('o');
    await l.wait(LOOKUP_DEBOUNCE_MS);
    expect(calls.map((c) => c.query)).toEqual(['J', 'Jo']);
    expect(l.screen()).toContain('searching "Jo"');
    calls[1]!.answer([aCard({ holder: 'John Roe', token: 'b'.repeat(64), masked: '555555******4444' })]);
    await settle();
    expect(l.screen()).toContain('1 match for "Jo"');
    calls[0]!.answer([aCard(), aCard({ token: 'c'.repeat(64), holder: 'Jill' })]);
    await settle();
    expect(l.screen()).toContain('1 match for "Jo"');
    expect(l.screen()).not.toContain('2 matches');
    // typing on: the answer for "Jo" stays until "Joh" answers
    await l.type('h');
    await l.wait(LOOKUP_DEBOUNCE_MS);
    expect(l.screen()).toContain('1 match for "Jo" · ↑↓ pick · enter open · searching "Joh"…');
    l.unmount();
  });

  it('clears the matches at once when the query is erased, and searches nothing', async () => {
    const actions = fakeActions();
    const l = mount(actions);
    await settle();
    await l.type('1111', '\r');
    expect(l.screen()).toContain('2 matches');
    await l.type('\x7f', '\x7f', '\x7f', '\x7f');
    expect(l.screen()).not.toContain('matches');
    await l.wait(LOOKUP_DEBOUNCE_MS * 2);
    expect(actions.lookupCards).toHaveBeenCalledTimes(1);
    l.unmount();
  });
});

describe('Lookup: esc steps back one level', () => {
  it('card -> matches -> closed, and the search pending when it closes never runs', async () => {
    const actions = fakeActions();
    const l = mount(actions);
    await settle();
    await l.type('1111', '\r', '\r');
    expect(l.screen()).toContain('balance 1,234.50');
    await l.type('\x1b');
    expect(l.screen()).toContain('2 matches for "1111"');
    expect(l.onClose).not.toHaveBeenCalled();
    await l.type('2');
    await l.type('\x1b');
    expect(l.onClose).toHaveBeenCalledTimes(1);
    await l.wait(LOOKUP_DEBOUNCE_MS * 2);
    expect(actions.lookupCards).toHaveBeenCalledTimes(1);
    l.unmount();
  });
});
