// `paystream accounts ...`: open accounts, deposit and withdraw (four eyes above a threshold), show balances.

import type { Command } from 'commander';
import type { AccountJson, PostingJson, PostingOutcome, TransferJson } from '../ledger/api.ts';
import { accountIdArg, amountArg, choiceArg, countArg, currencyArg, nameTextArg, postingIdArg } from './args.ts';
import type { Globals } from './global-options.ts';
import { withLedger } from './ledger-access.ts';
import { accountBlock, table, transfersTable } from './format.ts';
import { print } from './output.ts';

export function registerAccounts(program: Command, globals: Globals): void {
  const accounts = program.command('accounts').description('open accounts, deposit, show balances');
  registerAccountOpen(accounts, globals);
  registerPostings(accounts, globals);
  registerPendingPostings(accounts, globals);
  registerPostingDecisions(accounts, globals);
  registerAccountShow(accounts, globals);
  registerAccountList(accounts, globals);
}

const ACCOUNT_KINDS = ['merchant', 'cardholder'] as const;

function registerAccountOpen(accounts: Command, globals: Globals): void {
  accounts
    .command('open')
    .description('open an account (merchant by default)')
    .requiredOption('--owner <name>', 'owner name', nameTextArg)
    .requiredOption('--currency <ccy>', 'ISO 4217 currency', currencyArg)
    .option('--id <id>', 'account id (e.g. the merchant id orders use)', accountIdArg)
    .option('--kind <kind>', 'merchant or cardholder', choiceArg(ACCOUNT_KINDS), 'merchant')
    .option('--json', 'print JSON')
    .action(async (o: { owner: string; currency: string; id?: string; kind: string }) => {
      const g = globals();
      await withLedger(g, async (call) => {
        const out = (await call('accounts.open', { ...o })) as { account: AccountJson };
        print(g, out, (v: typeof out) => `opened\n${accountBlock(v.account)}`);
      });
    });
}

/** deposit and withdraw: money from or to the funding account; above the four-eyes threshold it waits */
function registerPostings(accounts: Command, globals: Globals): void {
  for (const [name, op, verb, from] of [
    ['deposit', 'accounts.deposit', 'deposited', 'from'],
    ['withdraw', 'accounts.withdraw', 'withdrew', 'to'],
  ] as const) {
    accounts
      .command(name)
      .description(`${name} money (a decimal string, e.g. 100.00) ${from} the funding account; above the four-eyes threshold it waits for a second operator (accounts pending)`)
      .argument('<id>', 'the account', accountIdArg)
      .argument('<amount>', 'a decimal, e.g. 100.00', amountArg)
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
}

function registerPendingPostings(accounts: Command, globals: Globals): void {
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
}

function registerPostingDecisions(accounts: Command, globals: Globals): void {
  for (const [name, op, verb] of [
    ['approve-posting', 'accounts.approve-posting', 'approved'],
    ['reject-posting', 'accounts.reject-posting', 'rejected'],
  ] as const) {
    accounts
      .command(name)
      .description(name === 'approve-posting' ? 'approve a pending posting: the money moves now (a different operator than its maker)' : 'reject a pending posting: no money moves')
      .argument('<postingId>', 'as accounts pending lists it', postingIdArg)
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
}

function registerAccountShow(accounts: Command, globals: Globals): void {
  accounts
    .command('show')
    .description('balance, holds, available and the last transfers')
    .argument('<id>', 'the account', accountIdArg)
    .option('--transfers <n>', 'how many transfers', countArg, 10)
    .option('--json', 'print JSON')
    .action(async (id: string, o: { transfers: number }) => {
      const g = globals();
      await withLedger(g, async (call) => {
        const out = (await call('accounts.get', { id, transfers: o.transfers })) as { account: AccountJson; transfers: TransferJson[] };
        print(g, out, (v: typeof out) => `${accountBlock(v.account)}\n\n${transfersTable(v.account.id, v.transfers)}`);
      });
    });
}

function registerAccountList(accounts: Command, globals: Globals): void {
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
