// `paystream verify | seed | orders | review | batches | stats`: ledger checks and queries.

import os from 'node:os';
import type { Command } from 'commander';
import { localActor } from '../domain/actor.ts';
import { type AuditEntry, parseSince } from '../domain/audit.ts';
import { COUNT_MAX } from '../processor/operations.ts';
import type { OrderJson } from '../ledger/api.ts';
import { seedLedger } from '../ledger/seed.ts';
import { LedgerStore } from '../ledger/store.ts';
import type { VerifyReport } from '../ledger/verify.ts';
import { DEMO_SEED } from '../domain/generate.ts';
import { integerArg, seedArg } from './args.ts';
import { CliError, EXIT_USAGE, type GlobalOptions, print, withLedger } from './context.ts';
import { auditTable, orderBlock, table } from './format.ts';

type Globals = () => GlobalOptions;

export function registerLedger(program: Command, globals: Globals): void {
  program
    .command('verify')
    .description('walk the whole ledger and check its invariants; exit 1 on any violation')
    .option('--json', 'print JSON')
    .action(async () => {
      const g = globals();
      await withLedger(g, async (call) => {
        const report = (await call('verify', {})) as VerifyReport;
        print(g, report, (r: VerifyReport) =>
          [
            `${r.ok ? 'OK' : 'VIOLATIONS'}: ${r.cards} cards, ${r.accounts} accounts, ${r.transfers} transfers, ${r.orders} orders`,
            `audit trail: ${r.audit.entries} entries, head ${r.audit.headSeq}${r.audit.firstBrokenSeq === undefined ? ', chain intact' : `, BROKEN at entry ${r.audit.firstBrokenSeq}`}`,
            `sum of balances: ${Object.entries(r.sumByCurrency).map(([c, s]) => `${c} ${s}`).join(', ') || 'no accounts'}`,
            ...r.violations.map((v) => `  ${v.code}: ${v.message}`),
          ].join('\n'),
        );
        if (!report.ok) process.exitCode = 1;
      });
    });

  program
    .command('seed')
    .description('create N test cards (valid Luhn test PANs only) with funded accounts, and funded merchants')
    .option('--cards <n>', 'how many cards', integerArg(0, 10_000_000), 500)
    .option('--merchants <n>', 'how many merchants', integerArg(0, 100_000), 60)
    .option('--seed <n>', 'seed of the deterministic card list', seedArg, DEMO_SEED)
    .option('--balance <amount>', 'opening balance of each card account', '5000')
    .option('--json', 'print JSON')
    .action(async (o: { cards: number; merchants: number; seed: number; balance: string }) => {
      const g = globals();
      const store = await LedgerStore.open(g.data, { owner: { command: 'paystream seed' } });
      try {
        const started = Date.now();
        const report = await seedLedger(store, { cards: o.cards, merchants: o.merchants, seed: o.seed, cardBalance: o.balance, merchantBalance: '1000000', actor: localActor(os.userInfo().username, 'cli') });
        print(g, report, (r: typeof report) => `seeded ${r.cardsCreated} cards (${r.cardsExisting} existed), ${r.merchantsCreated} merchants in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      } finally {
        await store.close();
      }
    });

  const orders = program.command('orders').description('look up orders and their results');
  orders
    .command('show <orderId>')
    .description('an order, its result and its state (holds, captures, refunds)')
    .option('--json', 'print JSON')
    .action(async (id: string) => {
      const g = globals();
      await withLedger(g, async (call) => {
        const out = (await call('orders.get', { id })) as { order: OrderJson };
        print(g, out, (v: typeof out) => orderBlock(v.order));
      });
    });

  const review = program.command('review').description('orders held for review: list, approve, decline');
  review
    .command('list')
    .option('--json', 'print JSON')
    .action(async () => {
      const g = globals();
      await withLedger(g, async (call) => {
        const out = (await call('review.list', {})) as { orders: OrderJson[] };
        print(g, out, (v: typeof out) =>
          v.orders.length === 0
            ? 'the review queue is empty'
            : table(['order', 'type', 'amount', 'merchant', 'rule', 'held at'], v.orders.map((o) => [o.orderId, o.type, `${o.amount ?? ''} ${o.currency ?? ''}`, o.merchant ?? '', o.result.rule ?? '', o.result.processedAt])),
        );
      });
    });
  for (const decision of ['approve', 'decline'] as const) {
    review
      .command(`${decision} <orderId>`)
      .description(`${decision} a held order (its final result is published; decided by you, as the ledger or the NATS server knows you)`)
      .option('--json', 'print JSON')
      .action(async (orderId: string) => {
        const g = globals();
        await withLedger(g, async (call) => {
          const out = (await call(`review.${decision}`, { orderId })) as { result: { status: string; reason?: string } };
          print(g, out, (v: typeof out) => `${orderId}: ${v.result.status}${v.result.reason ? ` (${v.result.reason})` : ''}`);
        });
      });
  }

  const batches = program.command('batches').description('batch payments: open and finished batches');
  batches
    .command('list')
    .option('--json', 'print JSON')
    .action(async () => {
      const g = globals();
      await withLedger(g, async (call) => {
        const out = (await call('batches.list', {})) as { open: { id: string; received: number; header?: { count: number } }[]; finished: { batchId: string; mode: string; status: string; count: number; received: number; controlSum?: string; currency?: string; perStatus: Record<string, { count: number; amount: string }> }[] };
        print(g, out, (v: typeof out) =>
          [
            `open: ${v.open.length === 0 ? 'none' : ''}`,
            ...v.open.map((b) => `  ${b.id}: ${b.received}/${b.header?.count ?? '?'} orders`),
            `finished: ${v.finished.length === 0 ? 'none' : ''}`,
            ...(v.finished.length
              ? [table(['batch', 'mode', 'status', 'orders', 'control sum', 'per status'], v.finished.map((b) => [b.batchId, b.mode, b.status, `${b.received}/${b.count}`, `${b.controlSum ?? ''} ${b.currency ?? ''}`, Object.entries(b.perStatus).map(([s, t]) => `${s} ${t.count} (${t.amount})`).join(', ')]))]
              : []),
          ].join('\n'),
        );
      });
    });
  batches
    .command('show <batchId>')
    .option('--json', 'print JSON')
    .action(async (batchId: string) => {
      const g = globals();
      await withLedger(g, async (call) => {
        const out = await call('batches.show', { batchId });
        print(g, out, (v: unknown) => JSON.stringify(v, null, 2));
      });
    });

  program
    .command('audit')
    .description('the audit trail of operator actions, newest first: who, what, when, the outcome, values before and after')
    .option('--since <when>', 'only entries since a duration ago (30m, 1h, 7d) or an ISO time')
    .option('--who <id>', 'only entries by this actor (e.g. local:alice, or a NATS user)')
    .option('--limit <n>', 'how many', integerArg(1, COUNT_MAX), 50)
    .option('--json', 'print JSON')
    .action(async (o: { since?: string; who?: string; limit: number }) => {
      const g = globals();
      if (o.since !== undefined && parseSince(o.since, Date.now()) === undefined) {
        throw new CliError('--since must be a duration (30s, 15m, 1h, 7d) or an ISO time', EXIT_USAGE, 'usage');
      }
      const args: Record<string, unknown> = { limit: o.limit };
      if (o.since !== undefined) args.since = o.since;
      if (o.who !== undefined) args.who = o.who;
      await withLedger(g, async (call) => {
        const out = (await call('audit.list', args)) as { entries: AuditEntry[]; complete: boolean };
        print(g, out, (v: typeof out) => auditTable(v.entries) + (v.complete ? '' : '\n(stopped reading: more entries are older than those read)'));
      });
    });

  program
    .command('stats')
    .description('figures of the running processor (through its NATS service)')
    .option('--json', 'print JSON')
    .action(async () => {
      const g = globals();
      await withLedger(g, async (call, via) => {
        if (via === 'store') throw new CliError('no processor is running on this ledger', 1, 'not_running');
        const out = await call('stats', {});
        print(g, out, (v: unknown) => JSON.stringify(v, null, 2));
      });
    });
}
