// The dashboard's audit feed: the newest audit entries (recent operator actions), as plain rows, as they land.

import { Observable } from 'rxjs';
import { type AuditEntry, describeEntry } from '../domain/audit.ts';
import { describeActor } from '../domain/actor.ts';
import type { LedgerStore } from '../ledger/store.ts';
import type { OperatorActionView } from '../../ui/types.ts';

/** rows the feed keeps (the panel shows what fits) */
export const OPERATOR_ACTIONS_MAX = 50;

export function operatorActionView(entry: AuditEntry): OperatorActionView {
  return {
    seq: entry.seq,
    atIso: entry.at,
    who: describeActor(entry.actor),
    what: describeEntry(entry),
    outcome: entry.outcome === 'ok' ? 'ok' : (entry.error ?? 'error'),
  };
}

/**
 * The newest entries (newest first, at most `max`): those in the ledger when subscribed, then each one
 * written after. Paystream's own bookkeeping entry (`audit.start`) is left out.
 */
export function operatorActions(store: LedgerStore, max = OPERATOR_ACTIONS_MAX): Observable<OperatorActionView[]> {
  return new Observable<OperatorActionView[]>((subscriber) => {
    let rows: OperatorActionView[] = [];
    const seen = new Set<number>();
    const add = (entry: AuditEntry): void => {
      if (entry.action === 'audit.start' || seen.has(entry.seq)) return;
      seen.add(entry.seq);
      rows = [operatorActionView(entry), ...rows].sort((a, b) => b.seq - a.seq).slice(0, max);
      if (seen.size > max * 4) {
        seen.clear();
        for (const r of rows) seen.add(r.seq);
      }
    };
    const pending: AuditEntry[] = [];
    let loaded = false;
    const unsubscribe = store.onAudit((entry) => {
      if (!loaded) pending.push(entry);
      else {
        add(entry);
        subscriber.next(rows);
      }
    });
    store.listAudit({}, max).then(
      ({ entries }) => {
        for (const e of [...entries].reverse()) add(e);
        for (const e of pending) add(e);
        loaded = true;
        subscriber.next(rows);
      },
      (error: unknown) => subscriber.error(error),
    );
    return unsubscribe;
  });
}
