// Recent operator actions on the dashboard: the Alerts panel lists the newest audit entries (time, outcome, who,
// what), fed to the App as an observable of plain rows; the feed itself comes from a real ledger's trail.
import { render } from 'ink-testing-library';
import { Subject, firstValueFrom, skip, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { localActor } from '../../src/domain/actor.ts';
import { LedgerApi } from '../../src/ledger/api.ts';
import { makeOps } from '../../src/processor/operations.ts';
import { operatorActions } from '../../src/processor/audit-feed.ts';
import { Alerts } from '../../ui/Alerts.tsx';
import { App } from '../../ui/App.tsx';
import type { OperatorActionView } from '../../ui/types.ts';
import { aTempStore, removeDataDir } from '../ledger/builders.ts';
import { aSnapshot, anAlerts, fakeActions, resize, snapshotSubject, tick } from './fixtures.ts';

const W = 80;
const row = (seq: number, o: Partial<OperatorActionView> = {}): OperatorActionView => ({
  seq,
  atIso: `2026-12-01T10:0${seq}:00.000Z`,
  who: 'alice@bank.example@OPERATORS',
  what: `accounts.deposit id=m-${seq} amount=${seq}0.00`,
  outcome: 'ok',
  ...o,
});

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

describe('the Alerts panel lists recent operator actions', () => {
  it('shows time, outcome, who and what, newest first, as many as fit (cut at the width, the outcome never)', () => {
    const actions = [row(3, { outcome: 'same_operator', what: 'accounts.approve-posting id=mp_000001' }), row(2), row(1)];
    const r = render(<Alerts alerts={anAlerts()} width={W} maxRows={12} operatorActions={actions} />);
    const out = r.lastFrame() ?? '';
    r.unmount();
    const lines = out.split('\n');
    const at = lines.findIndex((l) => l.includes('operator actions'));
    expect(at).toBeGreaterThan(0);
    expect(lines[at + 1]).toContain('10:03:00 same_operator alice@bank.example@OPERATORS accounts.approve-posting');
    expect(lines[at + 2]).toContain('10:02:00 ok alice@bank.example@OPERATORS accounts.deposit id=m-2 amount=20.00');
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(W);
    // the recent alerts still have their rows below
    expect(out).toContain('rule hit: velocity_5m');
  });

  it('says none yet for an empty trail, and leaves the section out when no feed is given', () => {
    const r = render(<Alerts alerts={anAlerts()} width={W} maxRows={10} operatorActions={[]} />);
    expect(r.lastFrame()).toContain('none yet');
    r.unmount();
    const without = render(<Alerts alerts={anAlerts()} width={W} maxRows={10} />);
    expect(without.lastFrame()).not.toContain('operator actions');
    without.unmount();
  });
});

describe('the App feeds the panel from its operatorActions observable', () => {
  it('shows each new action as it arrives', async () => {
    const snapshots = snapshotSubject();
    const feed = new Subject<OperatorActionView[]>();
    const r = render(<App snapshots={snapshots} actions={fakeActions()} operatorActions={feed} />);
    cleanup = r.unmount;
    resize(r.stdout, 160, 50);
    snapshots.next(aSnapshot());
    await tick();
    feed.next([row(1)]);
    await tick();
    expect(r.lastFrame()).toContain('10:01:00 ok alice@bank.example@OPERATORS accounts.deposit id=m-1');
    feed.next([row(2, { who: 'local:bob', what: 'cards.freeze token=0123456789ab…' }), row(1)]);
    await tick();
    const frame = r.lastFrame() ?? '';
    expect(frame).toContain('10:02:00 ok local:bob cards.freeze token=0123456789ab…');
    expect(frame.indexOf('cards.freeze')).toBeLessThan(frame.indexOf('accounts.deposit id=m-1'));
  });
});

describe('the feed from a ledger', () => {
  it('starts with the newest entries in the ledger, then adds each one written, newest first', async () => {
    const { store, dataDir } = await aTempStore();
    try {
      const ops = makeOps({ api: new LedgerApi(store) });
      const alice = localActor('alice', 'cli');
      await ops['accounts.open']({ id: 'm-a', owner: 'A', currency: 'USD' }, alice);
      const views = firstValueFrom(operatorActions(store).pipe(take(3), toArray()));
      const later = firstValueFrom(operatorActions(store).pipe(skip(1), take(1)));
      await tick(20);
      await ops['accounts.deposit']({ id: 'm-a', amount: '5.00' }, { id: 'UBOB', account: 'OPERATORS', via: 'nats' });
      await ops['accounts.deposit']({ id: 'm-nobody', amount: '5.00' }, alice).catch(() => undefined);
      const [first, second, third] = await views;
      // audit.start is paystream's own bookkeeping: not shown
      expect(first!.map((v) => v.what)).toEqual(['accounts.open id=m-a owner=A currency=USD']);
      expect(second![0]).toMatchObject({ who: 'UBOB@OPERATORS', what: 'accounts.deposit id=m-a amount=5.00', outcome: 'ok' });
      expect(third![0]).toMatchObject({ who: 'local:alice', outcome: 'unknown_account' });
      expect(third!.map((v) => v.seq)).toEqual([...third!.map((v) => v.seq)].sort((a, b) => b - a));
      expect((await later)[0]!.what).toBe('accounts.deposit id=m-a amount=5.00');
    } finally {
      await store.close();
      await removeDataDir(dataDir);
    }
  });
});
