// Colour is forced on for this file (chalk reads FORCE_COLOR at import), so NO_COLOR's effect is visible.
import { afterAll, describe, expect, it } from 'vitest';

process.env.FORCE_COLOR = '1';
const { render } = await import('ink-testing-library');
const { App } = await import('../../ui/App.tsx');
const { Header } = await import('../../ui/Header.tsx');
const { ThemeContext, themeFromEnv } = await import('../../ui/theme.tsx');
const { aSnapshot, aStatus, fakeActions, snapshotSubject, tick } = await import('./fixtures.ts');

afterAll(() => {
  delete process.env.FORCE_COLOR;
});

// SGR colour codes: 30-37/90-97 foreground, 40-47/100-107 background, 38;/48; extended
const COLOR_SGR = /\x1b\[(?:3[0-8]|9[0-7]|4[0-8]|10[0-7])[;m]/;

describe('NO_COLOR', () => {
  it('reads NO_COLOR from the environment', () => {
    expect(themeFromEnv({ NO_COLOR: '1' })).toEqual({ color: false });
    expect(themeFromEnv({})).toEqual({ color: true });
  });

  it('drops every colour but keeps the loud state readable (inverse, bold)', () => {
    const status = aStatus({ connection: 'reconnecting' });
    const colored = render(
      <ThemeContext.Provider value={{ color: true }}>
        <Header status={status} uptimeMs={0} health={[]} width={80} />
      </ThemeContext.Provider>,
    );
    expect(colored.lastFrame()).toMatch(COLOR_SGR);
    colored.unmount();
    const plain = render(
      <ThemeContext.Provider value={{ color: false }}>
        <Header status={status} uptimeMs={0} health={[]} width={80} />
      </ThemeContext.Provider>,
    );
    expect(plain.lastFrame()).not.toMatch(COLOR_SGR);
    expect(plain.lastFrame()).toContain('\x1b[7m'); // inverse
    expect(plain.lastFrame()).toContain('NATS DOWN — RECONNECTING');
    plain.unmount();
  });

  it('renders the whole dashboard without colour codes when the theme says so', async () => {
    const s = snapshotSubject();
    const r = render(<App snapshots={s} actions={fakeActions()} theme={{ color: false }} />);
    s.next(aSnapshot());
    await tick();
    expect(r.lastFrame()).toContain('Throughput');
    expect(r.lastFrame()).not.toMatch(COLOR_SGR);
    r.unmount();
  });
});
