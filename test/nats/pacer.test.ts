import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pacer } from '../../src/nats/loadgen.ts';

describe('pacer', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('never waits when unpaced (speed Infinity)', () => {
    const pace = pacer(Number.POSITIVE_INFINITY);
    expect(pace(0)).toBeUndefined();
    expect(pace(60_000)).toBeUndefined();
  });

  it('holds a message until (atMs - first atMs) / speed has passed, and lets late ones through at once', async () => {
    const pace = pacer(10);
    expect(pace(5_000)).toBeUndefined(); // the first one is due now
    let released = false;
    void pace(7_000)?.then(() => {
      released = true;
    }); // due 200 ms after the start at 10x
    await vi.advanceTimersByTimeAsync(150);
    expect(released).toBe(false);
    await vi.advanceTimersByTimeAsync(60);
    expect(released).toBe(true);
    expect(pace(6_000)).toBeUndefined(); // 100 ms after the start: already past
  });

  it('lets an abort release a waiting message', async () => {
    const abort = new AbortController();
    const pace = pacer(1, abort.signal);
    pace(0);
    let released = false;
    void pace(3_600_000)?.then(() => {
      released = true;
    });
    abort.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(released).toBe(true);
  });
});
