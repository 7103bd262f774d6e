// `paystream cards ...`: register, list, show, freeze, unfreeze and close cards.

import type { Command } from 'commander';
import type { AccountJson, CardDetailJson, CardJson } from '../ledger/api.ts';
import { plain } from '../domain/json.ts';
import { COUNT_MAX } from '../domain/operations.ts';
import { accountIdArg, countArg, currencyArg, expiryArg, nameTextArg, panArg, parsedAs, tokenArg } from './args.ts';
import type { Globals } from './global-options.ts';
import { type Call, withLedger } from './ledger-access.ts';
import { CARD_HEADERS, accountBlock, cardDetail, cardRow, cardsTable } from './format.ts';
import { print, usageError } from './output.ts';
import { QUIET_FLAG_HELP, withProgress } from './progress.ts';

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
    .option('--all', `every card (after --after), ${COUNT_MAX} a request, printed as they come`)
    .option('--json', 'print JSON')
    .option('--quiet', QUIET_FLAG_HELP)
    .action(async (o: { limit: number; after?: string; all?: boolean; quiet?: boolean }, command: Command) => {
      const g = globals();
      if (o.all && command.getOptionValueSource('limit') === 'cli') throw usageError('give --all or --limit, not both: --all lists every card');
      await withLedger(g, async (call) => {
        if (o.all) return listAll(call, new CardPages(g.json), o);
        const out = (await call('cards.list', o.after ? { limit: o.limit, after: o.after } : { limit: o.limit })) as { cards: CardJson[] };
        print(g, out, (v: typeof out) => cardsTable(v.cards));
      });
    });
}

/** Every card after `after`, a page at a time, through the ledger or the processor's service alike. */
async function listAll(call: Call, out: CardPages, o: { after?: string; quiet?: boolean }): Promise<void> {
  await withProgress({ label: 'cards list', unit: 'card', verb: 'listed', quiet: o.quiet, writesAsItGoes: true }, async (progress) => {
    let after = o.after;
    for (;;) {
      const page = (await call('cards.list', after === undefined ? { limit: COUNT_MAX } : { limit: COUNT_MAX, after })) as { cards: CardJson[] };
      out.write(page.cards);
      progress.update(out.count);
      if (out.closed || page.cards.length < COUNT_MAX) break;
      after = page.cards.at(-1)!.token;
    }
    out.end();
    if (!out.closed) progress.finish();
  });
}

/**
 * Pages of cards printed as they come, the same bytes `print` gives the whole list: JSON, or the table,
 * whose columns are as wide as the first page needs (a longer value later pushes its own row only). A
 * reader that has read enough (`| head`) closes the pipe: the listing stops there, quietly.
 */
class CardPages {
  count = 0;
  private widths: number[] | undefined;
  private stdoutError: NodeJS.ErrnoException | undefined;
  private readonly onError = (error: NodeJS.ErrnoException) => {
    this.stdoutError = error;
  };

  constructor(private readonly json: boolean) {
    process.stdout.on('error', this.onError);
  }

  /** The reader went away. */
  get closed(): boolean {
    return this.stdoutError !== undefined;
  }

  write(cards: CardJson[]): void {
    const text = this.json ? cards.map((card, i) => this.jsonItem(card, i)).join('') : this.tableRows(cards);
    if (cards.length > 0 && !this.closed) process.stdout.write(text);
    this.count += cards.length;
  }

  end(): void {
    process.stdout.off('error', this.onError);
    if (this.stdoutError && this.stdoutError.code !== 'EPIPE') throw this.stdoutError;
    if (this.closed) return;
    if (this.json) process.stdout.write(this.count === 0 ? '{\n  "cards": []\n}\n' : '\n  ]\n}\n');
    else if (this.count === 0) process.stdout.write(`${cardsTable([])}\n`);
  }

  /** A card as the list's JSON holds it, two levels in; the first opens the list. */
  private jsonItem(card: CardJson, indexInPage: number): string {
    const first = this.count === 0 && indexInPage === 0;
    const item = JSON.stringify(plain(card), null, 2).replaceAll('\n', '\n    ');
    return `${first ? '{\n  "cards": [\n' : ',\n'}    ${item}`;
  }

  private tableRows(cards: CardJson[]): string {
    const rows = cards.map(cardRow);
    const head = this.widths === undefined && rows.length > 0;
    this.widths ??= CARD_HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const widths = this.widths;
    const line = (cells: string[]) => `${cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`;
    return [...(head ? [line(CARD_HEADERS), line(widths.map((w) => '-'.repeat(w)))] : []), ...rows.map(line)].join('');
  }
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
