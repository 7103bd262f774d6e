import { describe, expect, it } from 'vitest';
import { loadInkLive } from '../../ui/live-ink.ts';

describe('loadInkLive', () => {
  it('hides CI variables only while Ink loads and puts them back untouched', async () => {
    const env: NodeJS.ProcessEnv = { CI: 'true', CONTINUOUS_INTEGRATION: '1', HOME: '/x' };
    await loadInkLive(env);
    expect(env).toEqual({ CI: 'true', CONTINUOUS_INTEGRATION: '1', HOME: '/x' });
    const bare: NodeJS.ProcessEnv = { HOME: '/x' };
    await loadInkLive(bare);
    expect(bare).toEqual({ HOME: '/x' });
  });
});
