// `paystream audit`: the audit trail of operator actions, newest first.

import type { Command } from 'commander';
import { type AuditEntry, parseSince } from '../domain/audit.ts';
import { checkedArg, countArg } from './args.ts';
import type { Globals } from './global-options.ts';
import { withLedger } from './ledger-access.ts';
import { auditTable } from './format.ts';
import { print } from './output.ts';

/** --since as the service reads it (the CLI passes it on as typed) */
const sinceArg = checkedArg((v) => parseSince(v, Date.now()) !== undefined, 'must be a duration ago (30s, 15m, 1h, 7d) or an ISO time');

export function registerAudit(program: Command, globals: Globals): void {
  program
    .command('audit')
    .description('the audit trail of operator actions, newest first: who, what, when, the outcome, values before and after')
    .option('--since <when>', 'only entries since a duration ago (30m, 1h, 7d) or an ISO time', sinceArg)
    .option('--who <id>', 'only entries by this actor (e.g. local:alice, or a NATS user)')
    .option('--limit <n>', 'how many', countArg, 50)
    .option('--json', 'print JSON')
    .action(async (o: { since?: string; who?: string; limit: number }) => {
      const g = globals();
      const args: Record<string, unknown> = { limit: o.limit };
      if (o.since !== undefined) args.since = o.since;
      if (o.who !== undefined) args.who = o.who;
      await withLedger(g, async (call) => {
        const out = (await call('audit.list', args)) as { entries: AuditEntry[]; complete: boolean };
        print(g, out, (v: typeof out) => auditTable(v.entries) + (v.complete ? '' : '\n(stopped reading: more entries are older than those read)'));
      });
    });
}
