// `paystream cards ...` and `paystream accounts ...`: card and account management.

import type { Command } from 'commander';
import type { AccountJson, CardDetailJson, CardJson, PostingJson, PostingOutcome, TransferJson } from '../ledger/api.ts';
import { COUNT_MAX } from '../processor/operations.ts';
import { integerArg } from './args.ts';
import { CliError, EXIT_USAGE, type GlobalOptions, print, readStdinLine, withLedger } from './context.ts';
import { accountBlock, cardDetail, cardsTable, table, transfersTable } from './format.ts';

type Globals = () => GlobalOptions;

/** --limit and --transfers: what the service accepts (1..COUNT_MAX) */
const countArg = integerArg(1, COUNT_MAX);

export function registerCards(program: Command, globals: Globals): void {
  const cards = program.command('cards').description('register, look up, freeze and close cards');

  cards
    .command('add')
    .description('register a card (the PAN becomes a token; it is never stored)')
    .requiredOption('--pan <pan>', "card number, or '-' to read it from stdin (keeps it out of shell history)")
    .requiredOption('--expiry <MM/YY>', 'expiry month')
    .requiredOption('--holder <name>', 'cardholder name')
    .option('--email <email>', 'holder email')
    .option('--phone <phone>', 'holder phone')
    .option('--account <id>', 'link to an existing cardholder account')
    .option('--currency <ccy>', 'open a new account in this currency (default USD)')
    .option('--json', 'print JSON')
    .action(async (o: Record<string, string>) => {
      const g = globals();
      const pan = o.pan === '-' ? await readStdinLine() : o.pan!;
      if (o.account && o.currency) throw new CliError('give --account or --currency, not both', EXIT_USAGE, 'usage');
      const args: Record<string, unknown> = { pan, expiry: o.expiry, holder: o.holder };
      for (const k of ['email', 'phone', 'account', 'currency']) if (o[k]) args[k] = o[k];
      await withLedger(g, async (call) => {
        const out = (await call('cards.register', args)) as { created: boolean; card: CardJson; account?: AccountJson };
        print(g, out, (v: typeof out) =>
          `${v.created ? 'registered' : 'already registered'} ${v.card.masked} (${v.card.brand}) token ${v.card.token}\n` +
          (v.account ? accountBlock(v.account) : `account ${v.card.accountId}`),
        );
      });
    });

  cards
    .command('list')
    .description('list cards (masked)')
    .option('--limit <n>', 'how many', countArg, 50)
    .option('--after <token>', 'page after this token')
    .option('--json', 'print JSON')
    .action(async (o: { limit: number; after?: string }) => {
      const g = globals();
      await withLedger(g, async (call) => {
        const out = (await call('cards.list', o.after ? { limit: o.limit, after: o.after } : { limit: o.limit })) as { cards: CardJson[] };
        print(g, out, (v: typeof out) => cardsTable(v.cards));
      });
    });

  cards
    .command('show <query>')
    .description('one card by token, last 4 digits or holder name: status, balance, holds, last transfers')
    .option('--transfers <n>', 'how many transfers', countArg, 10)
    .option('--json', 'print JSON')
    .action(async (query: string, o: { transfers: number }) => {
      const g = globals();
      await withLedger(g, async (call) => {
        const found = (await call('cards.lookup', { query, limit: 20 })) as { cards: CardJson[] };
        if (found.cards.length > 1) {
          print(g, found, (v: typeof found) => `${v.cards.length} cards match; show one by token:\n${cardsTable(v.cards)}`);
          return;
        }
        const out = (await call('cards.show', { query: found.cards[0]?.token ?? query, transfers: o.transfers })) as CardDetailJson;
        print(g, out, cardDetail);
      });
    });

  for (const [name, op, verb] of [
    ['freeze', 'cards.freeze', 'frozen'],
    ['unfreeze', 'cards.unfreeze', 'active again'],
    ['close', 'cards.close', 'closed'],
  ] as const) {
    cards
      .command(`${name} <token>`)
      .description(`${name} a card`)
      .option('--json', 'print JSON')
      .action(async (token: string) => {
        const g = globals();
        await withLedger(g, async (call) => {
          const out = (await call(op, { token })) as { card: CardJson };
          print(g, out, (v: typeof out) => `${v.card.masked} is ${verb}`);
        });
      });
  }

  const accounts = program.command('accounts').description('open accounts, deposit, show balances');
  accounts
    .command('open')
    .description('open an account (merchant by default)')
    .requiredOption('--owner <name>', 'owner name')
    .requiredOption('--currency <ccy>', 'ISO 4217 currency')
    .option('--id <id>', 'account id (e.g. the merchant id orders use)')
    .option('--kind <kind>', 'merchant or cardholder', 'merchant')
    .option('--json', 'print JSON')
    .action(async (o: { owner: string; currency: string; id?: string; kind: string }) => {
      const g = globals();
      if (o.kind !== 'merchant' && o.kind !== 'cardholder') throw new CliError('--kind must be merchant or cardholder', EXIT_USAGE, 'usage');
      await withLedger(g, async (call) => {
        const out = (await call('accounts.open', { ...o })) as { account: AccountJson };
        print(g, out, (v: typeof out) => `opened\n${accountBlock(v.account)}`);
      });
    });
  for (const [name, op, verb, from] of [
    ['deposit', 'accounts.deposit', 'deposited', 'from'],
    ['withdraw', 'accounts.withdraw', 'withdrew', 'to'],
  ] as const) {
    accounts
      .command(`${name} <id> <amount>`)
      .description(`${name} money (a decimal string, e.g. 100.00) ${from} the funding account; above the four-eyes threshold it waits for a second operator (accounts pending)`)
      .option('--json', 'print JSON')
      .action(async (id: string, amount: string) => {
        const g = globals();
        await withLedger(g, async (call) => {
          const out = (await call(op, { id, amount })) as PostingOutcome;
          print(g, out, (v: PostingOutcome) =>
            'pending' in v
              ? `${v.pending.amount} ${v.pending.currency} ${name} to ${v.pending.account} is above the four-eyes threshold: pending as ${v.pending.id}, ` +
                `until another operator runs \`paystream accounts approve-posting ${v.pending.id}\` (lapses at ${v.pending.expiresAt})`
              : `${verb} ${v.transfer.amount} ${v.transfer.currency} (${v.transfer.id})\n${accountBlock(v.account)}`,
          );
        });
      });
  }
  accounts
    .command('pending')
    .description('manual postings waiting for a second operator (four eyes)')
    .option('--json', 'print JSON')
    .action(async () => {
      const g = globals();
      await withLedger(g, async (call) => {
        const out = (await call('accounts.pending', {})) as { postings: PostingJson[] };
        print(g, out, (v: typeof out) =>
          v.postings.length === 0
            ? 'no postings wait for approval'
            : table(['posting', 'kind', 'account', 'amount', 'made by', 'made at', 'lapses at', 'status'], v.postings.map((p) => [p.id, p.kind, p.account, `${p.amount} ${p.currency}`, p.madeBy, p.createdAt, p.expiresAt, p.status])),
        );
      });
    });
  for (const [name, op, verb] of [
    ['approve-posting', 'accounts.approve-posting', 'approved'],
    ['reject-posting', 'accounts.reject-posting', 'rejected'],
  ] as const) {
    accounts
      .command(`${name} <postingId>`)
      .description(name === 'approve-posting' ? 'approve a pending posting: the money moves now (a different operator than its maker)' : 'reject a pending posting: no money moves')
      .option('--json', 'print JSON')
      .action(async (id: string) => {
        const g = globals();
        await withLedger(g, async (call) => {
          const out = (await call(op, { id })) as { posting: PostingJson; account?: AccountJson; transfer?: TransferJson };
          print(g, out, (v: typeof out) =>
            `${v.posting.id} ${verb} (made by ${v.posting.madeBy}, ${verb} by ${v.posting.decidedBy ?? '?'})` +
            (v.transfer && v.account ? `: ${v.transfer.amount} ${v.transfer.currency} (${v.transfer.id})\n${accountBlock(v.account)}` : ''),
          );
        });
      });
  }
  accounts
    .command('show <id>')
    .description('balance, holds, available and the last transfers')
    .option('--transfers <n>', 'how many transfers', countArg, 10)
    .option('--json', 'print JSON')
    .action(async (id: string, o: { transfers: number }) => {
      const g = globals();
      await withLedger(g, async (call) => {
        const out = (await call('accounts.get', { id, transfers: o.transfers })) as { account: AccountJson; transfers: TransferJson[] };
        print(g, out, (v: typeof out) => `${accountBlock(v.account)}\n\n${transfersTable(v.account.id, v.transfers)}`);
      });
    });
  accounts
    .command('list')
    .description('list accounts')
    .option('--limit <n>', 'how many', countArg, 50)
    .option('--json', 'print JSON')
    .action(async (o: { limit: number }) => {
      const g = globals();
      await withLedger(g, async (call) => {
        const out = (await call('accounts.list', { limit: o.limit })) as { accounts: AccountJson[] };
        print(g, out, (v: typeof out) =>
          table(['account', 'owner', 'kind', 'balance', 'holds', 'available', 'ccy'], v.accounts.map((a) => [a.id, a.owner.name, a.owner.kind, a.balance, a.holds, a.available, a.currency])),
        );
      });
    });
}
