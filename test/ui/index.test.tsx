import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { loadInkLive } from '../../ui/live-ink.ts';

// a real render: Ink must be live even where CI=true is set (as the CLI makes it on a terminal)
await loadInkLive();
const { renderDashboard } = await import('../../ui/index.tsx');
const { aSnapshot, fakeActions, snapshotSubject, tick } = await import('./fixtures.ts');

class FakeStdout extends EventEmitter {
  columns = 80;
  rows = 24;
  isTTY = false;
  out = '';
  write = (s: string) => {
    this.out += s;
    return true;
  };
}

class FakeStdin extends EventEmitter {
  isTTY = true;
  setEncoding() {}
  setRawMode() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
  read = () => null;
}

describe('renderDashboard', () => {
  it('renders the App on the given streams and unmounts on request', async () => {
    const stdout = new FakeStdout();
    const snapshots = snapshotSubject();
    const d = renderDashboard(
      { snapshots, actions: fakeActions() },
      {
        stdout: stdout as unknown as NodeJS.WriteStream,
        stderr: new FakeStdout() as unknown as NodeJS.WriteStream,
        stdin: new FakeStdin() as unknown as NodeJS.ReadStream,
        patchConsole: false,
      },
    );
    snapshots.next(aSnapshot());
    // the first frame needs Ink and React warm: wait for it rather than for a fixed time (busy CI machines)
    for (let waitedMs = 0; !stdout.out.includes('Throughput') && waitedMs < 5000; waitedMs += 20) await tick(20);
    expect(stdout.out).toContain('Throughput');
    const exited = d.waitUntilExit();
    d.unmount();
    await expect(exited).resolves.toBeUndefined();
  });
});
