// The buffer stage's options: its defaults and bounds are said once, in streams/buffer.ts, and `run`'s
// --buffer-ms and --buffer-max read the same bounds.

import { describe, expect, it } from 'vitest';
import { BUFFER_ITEMS_BOUNDS, BUFFER_WAIT_MS_BOUNDS, DEFAULT_BUFFER_OPTIONS, parseBufferOptions } from '../../streams/buffer.ts';

describe('parseBufferOptions', () => {
  it('fills the documented defaults: 5 ms of wait, 2000 items a buffer', () => {
    expect(parseBufferOptions()).toEqual({ bufferWaitMs: 5, bufferItemsMax: 2000 });
    expect(parseBufferOptions({ bufferWaitMs: 0 })).toEqual({ ...DEFAULT_BUFFER_OPTIONS, bufferWaitMs: 0 });
  });

  it('takes each bound and refuses one past it, naming the option', () => {
    expect(parseBufferOptions({ bufferWaitMs: BUFFER_WAIT_MS_BOUNDS.max, bufferItemsMax: BUFFER_ITEMS_BOUNDS.max })).toEqual({ bufferWaitMs: 10_000, bufferItemsMax: 50_000 });
    expect(() => parseBufferOptions({ bufferWaitMs: 10_001 })).toThrow('bufferWaitMs must be a whole number within 0..10000, got 10001');
    expect(() => parseBufferOptions({ bufferItemsMax: 0 })).toThrow('bufferItemsMax must be a whole number within 1..50000, got 0');
    expect(() => parseBufferOptions({ bufferWaitMs: 2.5 })).toThrow('bufferWaitMs must be a whole number');
  });
});
