// The progress of long work as the operator sees it on a terminal (a fake one here, 80 columns, on the
// fake clock): one bar line redrawn in place with share, ETA, count and rate, then one summary line; and
// nothing at all for a script (stdout a pipe, stderr not a terminal, TERM=dumb) or with --quiet.

import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ProgressOptions, PROGRESS_FPS, clock, duration, progressShown, progressSummary, withProgress } from '../../src/cli/progress.ts';

/** A terminal `columns` wide that keeps every byte written to it. */
function fakeTerminal(columns = 80): Writable & { isTTY: true; columns: number; text(): string; frames(): string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return Object.assign(stream, {
    isTTY: true as const,
    columns,
    text: () => chunks.join(''),
    // a frame is what is written between "cursor to column 1" and "clear to the end of the line"
    frames: () => [...chunks.join('').matchAll(/\x1b\[1G([^\x1b]*)\x1b\[0K/g)].map((m) => m[1]!),
  });
}

const FRAME_MS = 1000 / PROGRESS_FPS;

/** Runs work that counts `perFrame` items a frame for `frames` frames on the fake clock, then finishes. */
async function countOn(term: ReturnType<typeof fakeTerminal>, options: Omit<ProgressOptions, 'stream' | 'stdout'>, frames: number, perFrame: number, total?: (done: number) => number | undefined): Promise<void> {
  await withProgress({ ...options, stream: term, stdout: 'terminal' }, async (progress) => {
    for (let frame = 1; frame <= frames; frame++) {
      progress.update(frame * perFrame, total?.(frame * perFrame));
      await vi.advanceTimersByTimeAsync(FRAME_MS);
    }
    progress.finish();
  });
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-12-01T10:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('on a terminal: one bar line, redrawn in place, then one summary line', () => {
  it('shows the share, the ETA, the count of the total and the rate, and ends with what was done, how many, how long, how fast', async () => {
    const term = fakeTerminal(80);
    // 1,000 cards every 100 ms: 10,000 cards/s, 20,000 cards in 2 s
    await countOn(term, { label: 'seed', unit: 'card', verb: 'seeded', total: 20_000 }, 20, 1000);
    const frames = term.frames();
    expect(frames[0]).toBe('seed [------------------------] 0%  ETA -:--  0/20,000 cards');
    expect(frames).toContain('seed [============------------] 50%  ETA 0:01  10,000/20,000 cards  10,000/s');
    // every frame fits the 80 columns on one line: nothing else (no newline) is written until the summary
    for (const frame of frames) expect(frame.length).toBeLessThanOrEqual(78);
    const text = term.text();
    expect(text.indexOf('\n')).toBe(text.length - 1);
    // the bar is cleared, and the summary takes its line
    expect(text.endsWith('\x1b[2Kseeded 20,000 cards in 2.0 s (10,000 cards/s)\n')).toBe(true);
  });

  it('without a total: the count, the rate and the time so far, with no bar and no ETA', async () => {
    const term = fakeTerminal(80);
    await countOn(term, { label: 'record', unit: 'message', verb: 'recorded' }, 15, 500);
    expect(term.frames()).toContain('record  5,000 messages  5,000/s  0:01');
    expect(term.frames().join('')).not.toMatch(/\[|ETA/);
    expect(term.text().endsWith('recorded 7,500 messages in 1.5 s (5,000 messages/s)\n')).toBe(true);
  });

  it('work that a duration ends (generate) takes its share and ETA from the clock', async () => {
    const term = fakeTerminal(80);
    await countOn(term, { label: 'generate', unit: 'message', verb: 'published', durationMs: 4000 }, 10, 200);
    // the bar is sized for counts and rates of up to 7 digits, so it keeps its width as they grow
    expect(term.frames()).toContain('generate [=====-------------] 25%  ETA 0:03  2,000 messages  2,000/s');
    expect(new Set(term.frames().map((f) => f.indexOf(']'))).size).toBe(1);
  });

  it('an estimated total (verify) gives a share and an ETA, never "of N"', async () => {
    const term = fakeTerminal(80);
    await countOn(term, { label: 'verify', unit: 'record', verb: 'verified', estimate: true }, 10, 10_000, (done) => done * 4);
    expect(term.frames()).toContain('verify [======-------------------] 25%  ETA 0:03  100,000 records  100,000/s');
    expect(term.text()).toContain('verified 100,000 records in 1.0 s (100,000 records/s)\n');
  });

  it('a narrow terminal keeps the bar, share and ETA: the rate goes first, then the total', async () => {
    const wide = fakeTerminal(80);
    await countOn(wide, { label: 'seed', unit: 'card', verb: 'seeded', total: 10_000_000 }, 12, 100_000);
    expect(wide.frames().at(-1)).toBe('seed [=-----------] 12%  ETA 0:09  1,200,000/10,000,000 cards  1,000,000/s');
    const narrow = fakeTerminal(60);
    await countOn(narrow, { label: 'seed', unit: 'card', verb: 'seeded', total: 10_000_000 }, 12, 100_000);
    expect(narrow.frames().at(-1)).toBe('seed [===--------------------] 12%  ETA 0:09  1,200,000');
    for (const frame of narrow.frames()) expect(frame.length).toBeLessThanOrEqual(58);
  });

  it('counting every item costs a store: a million updates in one frame draw nothing more', async () => {
    const term = fakeTerminal(80);
    await withProgress({ label: 'seed', unit: 'card', verb: 'seeded', total: 1_000_000, stream: term, stdout: 'terminal' }, async (progress) => {
      for (let i = 1; i <= 1_000_000; i++) progress.update(i);
      await vi.advanceTimersByTimeAsync(1000);
      progress.finish();
    });
    // a frame at the start, at most one a redraw over the second, and the last before the summary
    expect(term.frames().length).toBeLessThanOrEqual(PROGRESS_FPS + 2);
  });

  it('work that fails takes its bar off the line and leaves no summary: the error is what the operator reads next', async () => {
    const term = fakeTerminal(80);
    const failing = withProgress({ label: 'seed', unit: 'card', verb: 'seeded', total: 10, stream: term, stdout: 'terminal' }, async (progress) => {
      progress.update(3);
      await vi.advanceTimersByTimeAsync(FRAME_MS);
      throw new Error('disk full');
    });
    await expect(failing).rejects.toThrow('disk full');
    expect(term.text().endsWith('\x1b[1G\x1b[2K')).toBe(true);
    expect(term.text()).not.toContain('seeded');
  });
});

describe('who gets a bar: a person at a terminal, not a script, and never with --quiet', () => {
  const tty = fakeTerminal();
  const notTty = Object.assign(new Writable({ write: (_c, _e, done) => done() }), { isTTY: false });

  it.each([
    ['stderr and stdout the terminal', { stream: tty, stdout: 'terminal' }, {}, true],
    ['stdout a file, stderr the terminal (> cards.json)', { stream: tty, stdout: 'file' }, {}, true],
    ['stdout a pipe (| jq, $(...))', { stream: tty, stdout: 'pipe' }, {}, false],
    ['stderr not a terminal (2> log, CI)', { stream: notTty, stdout: 'terminal' }, {}, false],
    ['--quiet', { stream: tty, stdout: 'terminal', quiet: true }, {}, false],
    ['TERM=dumb', { stream: tty, stdout: 'terminal' }, { TERM: 'dumb' }, false],
    ['output scrolling on the same terminal (cards list --all)', { stream: tty, stdout: 'terminal', writesAsItGoes: true }, {}, false],
    ['output going to a file as it comes (cards list --all > cards.json)', { stream: tty, stdout: 'file', writesAsItGoes: true }, {}, true],
  ] as const)('%s', (_name, options, env, shown) => {
    expect(progressShown(options, env)).toBe(shown);
  });

  it('nothing is written at all when no bar is shown, and the work gets a progress that does nothing', async () => {
    const term = fakeTerminal();
    const result = await withProgress({ label: 'seed', unit: 'card', verb: 'seeded', total: 5, stream: term, stdout: 'pipe' }, async (progress) => {
      expect(progress.shown).toBe(false);
      progress.update(5);
      await vi.advanceTimersByTimeAsync(1000);
      progress.finish();
      return 'done';
    });
    expect(result).toBe('done');
    expect(term.text()).toBe('');
  });
});

describe('the words and figures', () => {
  it('a summary counts in the singular for one, and keeps a decimal for a slow rate', () => {
    expect(progressSummary({ unit: 'card', verb: 'seeded' }, 1, 400)).toBe('seeded 1 card in 0.4 s (2.5 cards/s)');
    expect(progressSummary({ unit: 'message', verb: 'recorded' }, 1234, 61_000, 'to x.ndjson')).toBe('recorded 1,234 messages to x.ndjson in 1 min 01 s (20 messages/s)');
    expect(progressSummary({ unit: 'card', verb: 'listed' }, 0, 0)).toBe('listed 0 cards in 0.0 s (0 cards/s)');
  });

  it('times: a duration for the summary, a clock for the bar', () => {
    expect([duration(9_840), duration(65_000), duration(7_380_000)]).toEqual(['9.8 s', '1 min 05 s', '2 h 03 min']);
    expect([clock(0), clock(3_001), clock(65_000), clock(3_723_000)]).toEqual(['0:00', '0:04', '1:05', '1:02:03']);
  });
});
