// The dashboard's header never shows a NATS password or token (issue 15, requirement 1): the URL is
// masked whatever the processor was given, and so are credentials in the last error it shows.

import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { Header } from '../../ui/Header.tsx';
import { aStatus } from './fixtures.ts';

describe('Header masks credentials', () => {
  it('shows nats://u:***@host for nats://u:secret@host, *** for a token, and masks them in the last error', () => {
    const frames = [
      aStatus({ natsUrl: 'nats://u:secret@127.0.0.1:4222' }),
      aStatus({ natsUrl: 'tls://tok-secret-1@127.0.0.1:4222' }),
      aStatus({ natsUrl: 'nats://127.0.0.1:4222', lastError: 'cannot reach nats://u:secret@10.0.0.1:4222' }),
    ].map((status) => {
      const { lastFrame, unmount } = render(<Header status={status} uptimeMs={1000} health={[]} width={160} />);
      const out = lastFrame() ?? '';
      unmount();
      return out;
    });
    expect(frames[0]).toContain('nats://u:***@127.0.0.1:4222');
    expect(frames[1]).toContain('tls://***@127.0.0.1:4222');
    expect(frames[2]).toContain('error: cannot reach nats://u:***@10.0.0.1:4222');
    for (const out of frames) expect(out).not.toContain('secret');
  });
});
