// `paystream cards ...`: register, list, show, freeze, unfreeze and close cards.

import type { Command } from 'commander';
import type { AccountJson, CardDetailJson, CardJson } from '../ledger/api.ts';
import { accountIdArg, countArg, currencyArg, expiryArg, nameTextArg, panArg, parsedAs, tokenArg } from './args.ts';
import type { Globals } from './global-options.ts';
import { withLedger } from './ledger-access.ts';
import { accountBlock, cardDetail, cardsTable } from './format.ts';
import { print, usageError } from './output.ts';

export function registerCards(program: Command, globals: Globals): void {
  const cards = program.command('cards').description('register, look up, freeze and close cards');
  registerCardAdd(cards, globals);
  registerCardList(cards, globals);
  registerCardShow(cards, globals);
  registerCardStatusChanges(cards, globals);
}

interface CardAddFlags {
  pan: string;
  expiry: string;
  holder: string;
  email?: string;
  phone?: string;
  account?: string;
  currency?: string;
}

function registerCardAdd(cards: Command, globals: Globals): void {
  cards
    .command('add')
    .description('register a card (the PAN becomes a token; it is never stored)')
    .requiredOption('--pan <pan>', "card number, or '-' to read it from stdin (keeps it out of shell history)", panArg)
    .requiredOption('--expiry <MM/YY>', 'expiry month', expiryArg)
    .requiredOption('--holder <name>', 'cardholder name', nameTextArg)
    .option('--email <email>', 'holder email')
    .option('--phone <phone>', 'holder phone')
    .option('--account <id>', 'link to an existing cardholder account', accountIdArg)
    .option('--currency <ccy>', 'open a new account in this currency (default USD)', currencyArg)
    .option('--json', 'print JSON')
    .action(async (o: CardAddFlags) => {
      const g = globals();
      if (o.account && o.currency) throw usageError('give --account or --currency, not both: a card joins an account, or gets a new one in a currency');
      const pan = o.pan === '-' ? parsedAs('--pan', panArg, await readStdinLine()) : o.pan;
      const args: Record<string, unknown> = { pan, expiry: o.expiry, holder: o.holder };
      for (const k of ['email', 'phone', 'account', 'currency'] as const) if (o[k]) args[k] = o[k];
      await withLedger(g, async (call) => {
        const out = (await call('cards.register', args)) as { created: boolean; card: CardJson; account?: AccountJson };
        print(g, out, (v: typeof out) =>
          `${v.created ? 'registered' : 'already registered'} ${v.card.masked} (${v.card.brand}) token ${v.card.token}\n` +
          (v.account ? accountBlock(v.account) : `account ${v.card.accountId}`),
        );
      });
    });
}

function registerCardList(cards: Command, globals: Globals): void {
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
}

function registerCardShow(cards: Command, globals: Globals): void {
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
}

function registerCardStatusChanges(cards: Command, globals: Globals): void {
  for (const [name, op, verb] of [
    ['freeze', 'cards.freeze', 'frozen'],
    ['unfreeze', 'cards.unfreeze', 'active again'],
    ['close', 'cards.close', 'closed'],
  ] as const) {
    cards
      .command(name)
      .description(`${name} a card`)
      .argument('<token>', "the card's token", tokenArg)
      .option('--json', 'print JSON')
      .action(async (token: string) => {
        const g = globals();
        await withLedger(g, async (call) => {
          const out = (await call(op, { token })) as { card: CardJson };
          print(g, out, (v: typeof out) => `${v.card.masked} is ${verb}`);
        });
      });
  }
}

/** Reads a secret value from stdin (for `--pan -`), so it stays out of shell history and the process list. */
async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}
