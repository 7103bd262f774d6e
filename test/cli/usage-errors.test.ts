// Every command, given bad input, ends with one line on stderr that says what is wrong and what is allowed:
// exit 2 for a usage error (a bad amount, currency, id, card number, expiry or flag value, an unknown option
// or command, a missing argument, contradictory flags, and the ledger's refusal of a value it was given),
// exit 1 for an operational one (the ledger locked, NATS unreachable, a file missing, an unknown card). With
// --json the same error goes to stdout as {"error":{"code","message"}}. In process, as bin.js runs main();
// two rows again as real processes.

import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../src/cli/main.ts';
import { INPUT_ERROR_CODES } from '../../src/cli/output.ts';
import { amountRuleText } from '../../src/domain/money.ts';
import { LedgerStore } from '../../src/ledger/store.ts';
import { cli } from '../e2e/harness.ts';
import { type CliOutcome as Outcome, paystreamInProcess } from './in-process.ts';

/** nothing listens there: connection refused at once */
const NO_NATS = 'nats://127.0.0.1:1';
const TOKEN = 'a'.repeat(64);

let dir: string;
/** never created: a usage error is told before anything opens */
let unused: string;
/** a seeded ledger with a USD and a JPY merchant account */
let ledger: string;
/** a ledger held by a "processor" (this process) whose NATS server is gone */
let locked: string;
let holder: LedgerStore;
/** the data directories by name, for tables written before they exist */
const dataDir = { unused: () => unused, ledger: () => ledger, locked: () => locked };

/** Runs `paystream --data <data> --nats NO_NATS <args>` in this process, capturing what it prints. */
const paystream = (data: string, args: string[]): Promise<Outcome> =>
  paystreamInProcess(['--data', data, '--nats', NO_NATS, ...args]);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'paystream-usage-'));
  unused = path.join(dir, 'never');
  ledger = path.join(dir, 'ledger');
  locked = path.join(dir, 'locked');
  vi.stubEnv('PAYSTREAM_KEY_FILE', undefined);
  vi.stubEnv('PAYSTREAM_SERVICE', undefined);
  for (const args of [
    ['seed', '--cards', '3', '--merchants', '1'],
    ['accounts', 'open', '--owner', 'Shop', '--currency', 'USD', '--id', 'm-shop'],
    ['accounts', 'open', '--owner', 'Ramen', '--currency', 'JPY', '--id', 'm-ramen'],
  ]) {
    expect((await paystream(ledger, args)).code).toBe(0);
  }
  expect((await paystream(locked, ['seed', '--cards', '1', '--merchants', '1'])).code).toBe(0);
  holder = await LedgerStore.open(locked, { owner: { command: 'paystream run', natsUrl: NO_NATS } });
}, 60_000);

afterAll(async () => {
  await holder?.close();
  vi.unstubAllEnvs();
  await rm(dir, { recursive: true, force: true });
});

/** [the command line after --data and --nats, the exit code, the line after "paystream: " (exactly, or a pattern)] */
type Row = [string[], 1 | 2, string | RegExp];

const ID_TEXT = '1-64 of A-Z a-z 0-9 _ -';
const AMOUNT_TEXT = 'must be an amount above 0 written as a decimal, e.g. 100 or 12.50';
const CURRENCY_TEXT = 'must be an ISO 4217 currency code paystream knows, e.g. USD, EUR, GBP or JPY';
const NO_NATS_TEXT = `cannot reach NATS at ${NO_NATS} (connection refused): start nats-server with JetStream (nats-server -js) or point --nats / NATS_URL at one`;
const UNKNOWN_LMIT = /^unknown option --lmit \(did you mean --limit\?\); cards list takes --limit, --after, .*--json.* and the global options \(paystream cards list --help\)$/;
const FOUR_EYES_TEXT = '(CCY=amount, comma-separated, *= for the other currencies, e.g. USD=10000.00,*=10000; or none)';
const CARD = ['--pan', '4111111111111111', '--expiry', '12/29', '--holder', 'Ada'];

/** cards and accounts: card numbers, expiries, currencies, amounts, ids, names */
const CARD_AND_ACCOUNT_USAGE: Row[] = [
  [['cards', 'add', '--pan', '4111111111111112', '--expiry', '12/29', '--holder', 'Ada'], 2, '--pan must be a card number, 12 to 19 digits passing the Luhn check: the PAN fails the Luhn check'],
  [['cards', 'add', '--pan', '4111 1111', '--expiry', '12/29', '--holder', 'Ada'], 2, '--pan must be a card number, 12 to 19 digits passing the Luhn check: the PAN must have 12 to 19 digits, not 8'],
  [['cards', 'add', '--pan', '4111111111111111', '--expiry', '13/29', '--holder', 'Ada'], 2, '--expiry must be MM/YY or MM/YYYY with month 01-12, e.g. 09/29, got "13/29"'],
  [['cards', 'add', '--pan', '4111111111111111', '--expiry', '01/20', '--holder', 'Ada'], 2, '--expiry must be this month or later: a card past its expiry is not registered, got "01/20"'],
  [['cards', 'add', ...CARD, '--currency', 'EURO'], 2, `--currency ${CURRENCY_TEXT}, got "EURO"`],
  [['cards', 'add', ...CARD, '--account', 'acct 1'], 2, `--account must be an account id: ${ID_TEXT}, got "acct 1"`],
  [['cards', 'add', '--pan', '4111111111111111', '--expiry', '12/29', '--holder', ' '], 2, '--holder must be a name, not blank, got " "'],
  [['cards', 'add', ...CARD, '--account', 'a-1', '--currency', 'EUR'], 2, 'give --account or --currency, not both: a card joins an account, or gets a new one in a currency'],
  [['cards', 'add', '--expiry', '12/29', '--holder', 'Ada'], 2, "cards add needs --pan <pan>: card number, or '-' to read it from stdin (keeps it out of shell history)"],
  [['cards', 'add', '--pan'], 2, "--pan <pan> needs a value: card number, or '-' to read it from stdin (keeps it out of shell history)"],
  [['cards', 'list', '--limit', '0'], 2, '--limit must be a whole number within 1..1000, got "0"'],
  [['cards', 'list', '--lmit', '5'], 2, UNKNOWN_LMIT],
  [['cards', 'show'], 2, 'cards show needs <query> (usage: paystream cards show [options] <query>)'],
  [['cards', 'show', '4111', '1111', '1111', '1111'], 2, 'too many arguments for cards show: it takes <query>, got 4 arguments holding a card number'],
  [['cards', 'freeze', 'a7ee2fd25f876140'], 2, '<token> must be a card token, 64 hex digits, as cards show prints it (cards list shows the first 16), got "a7ee2fd25f876140"'],
  [['cards', 'unfreeze'], 2, 'cards unfreeze needs <token> (usage: paystream cards unfreeze [options] <token>)'],
  [['cards', 'close', 'x', 'y'], 2, 'too many arguments for cards close: it takes <token>, got "x" "y"'],
  [['cards', 'lst'], 2, 'unknown command "cards lst" (did you mean "cards list"?); the cards commands are add, list, show, freeze, unfreeze, close'],
  [['cards'], 2, 'cards needs a command: add, list, show, freeze, unfreeze or close (paystream cards --help)'],
  [['review'], 2, 'review needs a command: list, approve or decline (paystream review --help)'],
  [['accounts', 'open', '--owner', 'Shop', '--currency', 'usdollar'], 2, `--currency ${CURRENCY_TEXT}, got "usdollar"`],
  [['accounts', 'open', '--owner', 'Shop', '--currency', 'USD', '--id', 'shop/1'], 2, `--id must be an account id: ${ID_TEXT}, got "shop/1"`],
  [['accounts', 'open', '--owner', 'Shop', '--currency', 'USD', '--kind', 'bank'], 2, '--kind must be merchant or cardholder, got "bank"'],
  [['accounts', 'deposit', 'm-shop', '12,50'], 2, `<amount> ${AMOUNT_TEXT}, got "12,50"`],
  [['accounts', 'deposit', 'm-shop'], 2, 'accounts deposit needs <amount> (usage: paystream accounts deposit [options] <id> <amount>)'],
  [['accounts', 'withdraw', 'm-shop', '-5'], 2, `<amount> ${AMOUNT_TEXT}, got "-5"`],
  [['accounts', 'withdraw', 'm-shop', '0.00'], 2, `<amount> ${AMOUNT_TEXT}, got "0.00"`],
  [['accounts', 'pending', '--all'], 2, 'unknown option --all; accounts pending takes --json and the global options (paystream accounts pending --help)'],
  [['accounts', 'approve-posting', '42'], 2, '<postingId> must be a posting id such as mp_12 (accounts pending lists them), got "42"'],
  [['accounts', 'reject-posting'], 2, 'accounts reject-posting needs <postingId> (usage: paystream accounts reject-posting [options] <postingId>)'],
  [['accounts', 'show', 'acct 1'], 2, `<id> must be an account id: ${ID_TEXT}, got "acct 1"`],
  [['accounts', 'list', '--limit', '2.5'], 2, '--limit must be a whole number within 1..1000, got "2.5"'],
  [['accounts', 'close', 'm-shop'], 2, 'unknown command "accounts close"; the accounts commands are open, deposit, withdraw, pending, approve-posting, reject-posting, show, list'],
];

/** the queries, the key commands and the program itself */
const QUERY_AND_KEY_USAGE: Row[] = [
  [['verify', 'now'], 2, 'too many arguments for verify: it takes none, got "now"'],
  [['seed', '--cards', 'many'], 2, '--cards must be a whole number within 0..10000000, got "many"'],
  [['seed', '--balance', '1.005'], 2, '--balance must be an amount above 0 and at most 10000000000000.00, with at most 2 decimals, e.g. 100 or 12.50, got "1.005"'],
  [['orders', 'show', 'order#1'], 2, `<orderId> must be an order id: ${ID_TEXT}, got "order#1"`],
  [['orders', 'list'], 2, 'unknown command "orders list"; the orders commands are show'],
  [['review', 'list', '--limit', '5'], 2, 'unknown option --limit; review list takes --json and the global options (paystream review list --help)'],
  [['review', 'approve', 'o 1'], 2, `<orderId> must be an order id: ${ID_TEXT}, got "o 1"`],
  [['review', 'decline'], 2, 'review decline needs <orderId> (usage: paystream review decline [options] <orderId>)'],
  [['batches', 'list', 'open'], 2, 'too many arguments for batches list: it takes none, got "open"'],
  [['batches', 'lst'], 2, 'unknown command "batches lst" (did you mean "batches list"?); the batches commands are list, show'],
  [['batches', 'show', 'b.1'], 2, `<batchId> must be a batch id: ${ID_TEXT}, got "b.1"`],
  [['audit', '--since', 'lately'], 2, '--since must be a duration ago (30s, 15m, 1h, 7d) or an ISO time, got "lately"'],
  [['audit', '--who'], 2, '--who <id> needs a value: only entries by this actor (e.g. local:alice, or a NATS user)'],
  [['stats', '--watch'], 2, 'unknown option --watch; stats takes --json and the global options (paystream stats --help)'],
  [['keys', 'init'], 2, 'keys init needs the key file: --key-file PATH (or PAYSTREAM_KEY_FILE)'],
  [['keys', 'rotate'], 2, 'keys rotate needs the key file: --key-file PATH (or PAYSTREAM_KEY_FILE)'],
  [['keys', 'status', '--all'], 2, 'unknown option --all; keys status takes --json and the global options (paystream keys status --help)'],
  [['keys', 'migrate'], 2, 'keys migrate needs --to <path>: the new key file (outside the data directory; must not exist)'],
  [['keys', 'destroy'], 2, 'unknown command "keys destroy"; the keys commands are init, rotate, status, migrate'],
  [['bogus'], 2, /^unknown command "bogus"; the commands are cards, accounts, verify, seed, .*, demo, keys$/],
  [[], 2, /^a command is needed: cards, accounts, verify, .*, demo or keys \(paystream --help\)$/],
  [['help', 'bogus'], 2, /^unknown command "bogus"; the commands are cards, /],
  [['--nats', 'http://x', 'cards', 'list'], 2, /^--nats must be NATS server URLs, comma-separated: nats:\/\/, tls:\/\/, ws:\/\/ or wss:\/\/ .*, got "http:\/\/x"$/],
  [['--nats', 'nats://ann:s3cret@h:70000', 'cards', 'list'], 2, /^--nats must be NATS server URLs, .*, got "nats:\/\/ann:\*\*\*@h:70000"$/],
  [['--token', 't0ken', '--user', 'bob', 'cards', 'list'], 2, 'a token (--token) and a user and password (--user) are both given: NATS takes one way to authenticate'],
  [['--pasword=s3cret', 'cards', 'list'], 2, /^unknown option --pasword; the global options are --version, --data, .*, --password, .* \(paystream --help\)$/],
  [['--cvv', '123', 'cards', 'list'], 2, 'a CVV/CVC is never accepted or stored (PCI DSS 3.3); leave it out'],
];

/** the long-running commands: flag values, contradictions, missing arguments */
const RUNNING_USAGE: Row[] = [
  [['run', '--metrics-port', 'http'], 2, '--metrics-port must be a whole number within 1..65535, got "http"'],
  [['run', '--review-timeout', 'escalate'], 2, '--review-timeout must be decline or approve, got "escalate"'],
  [['run', '--four-eyes-above', 'junk'], 2, `--four-eyes-above: four-eyes threshold "junk" is not CCY=amount ${FOUR_EYES_TEXT}`],
  [['run', '--four-eyes-lapse', 'soon'], 2, '--four-eyes-lapse: four-eyes lapse "soon" must be a duration within 1s..30d (e.g. 24h)'],
  [['run', '--dashboard'], 2, /^unknown option --dashboard; run takes --headless, --sync, --metrics-port, --rules, .*, --keep-orders and the global options \(paystream run --help\)$/],
  [['record'], 2, 'record needs --out <file>: output file (.gz to gzip)'],
  [['record', '--out', 'x.ndjson', '--since', '10m'], 2, '--since reads a stream from a time: give --from-stream too'],
  [['record', '--out', 'x.ndjson', '--subject', 'pay orders'], 2, '--subject must be a NATS subject: tokens without spaces joined by dots, * for one token, > at the end for the rest, e.g. pay.>, got "pay orders"'],
  [['replay'], 2, 'replay needs <file> (usage: paystream replay [options] <file>)'],
  [['replay', 'x.ndjson', '--speed', 'fast'], 2, '--speed must be a number above 0 and at most 1000000, or max, got "fast"'],
  [['replay', 'x.ndjson', '--results', 'r.ndjson'], 2, '--results writes what an offline replay decided: give --offline too'],
  [['replay', 'x.ndjson', '--offline', '--keep-created-at'], 2, '--keep-created-at is for a replay onto a broker: an offline replay keeps every recorded time'],
  [['generate', '--rate', 'fast'], 2, '--rate must be a number above 0 and at most 1000000, or max, got "fast"'],
  [['generate', '--duration', 'soon'], 2, '--duration must be a duration within 1ms..168h: a number with ms, s, m or h (seconds without), e.g. 500ms, 60s, 5m, got "soon"'],
  [['batch', 'submit'], 2, 'batch submit needs <file> (usage: paystream batch submit [options] <file>)'],
  [['batch', 'submit', 'b.csv', '--currency', 'EU'], 2, `--currency ${CURRENCY_TEXT}, got "EU"`],
  [['batch', 'submit', 'b.csv', '--control-sum', 'lots'], 2, `--control-sum ${AMOUNT_TEXT}, got "lots"`],
  [['batch', 'submit', 'b.csv', '--mode', 'all'], 2, '--mode must be independent or atomic, got "all"'],
  [['batch', 'submit', 'b.csv', '--type', 'gift'], 2, '--type must be one of payment, authorize, capture, void, refund, payout, cancel, modify, got "gift"'],
  [['batch', 'submit', 'b.csv', '--id', 'pay roll'], 2, `--id must be a batch id: ${ID_TEXT}, got "pay roll"`],
  [['batch', 'sbmit', 'b.csv'], 2, 'unknown command "batch sbmit" (did you mean "batch submit"?); the batch commands are submit'],
  [['demo', '--rate', '0'], 2, '--rate must be a number above 0 and at most 100000, got "0"'],
  [['demo', '--headles'], 2, /^unknown option --headles \(did you mean --headless\?\); demo takes --rate, --dir, --offline, --headless, --metrics-port and the global options \(paystream demo --help\)$/],
];

/** on a ledger: what only the ledger can refuse, and what it does not have */
const LEDGER_ROWS: Row[] = [
  [['accounts', 'deposit', 'm-shop', '1.234'], 2, 'amount "1.234" must have at most 2 decimals in USD'],
  [['accounts', 'deposit', 'm-ramen', '1.5'], 2, 'amount "1.5" must be a whole number in JPY, which has no decimals'],
  [['accounts', 'deposit', 'm-shop', '99999999999999'], 2, 'amount "99999999999999" must be above 0 and at most 10000000000000.00 USD'],
  [['accounts', 'open', '--owner', '4111 1111 1111 1111', '--currency', 'USD'], 2, 'owner must not contain a card number'],
  [['cards', 'add', ...CARD, '--account', 'm-shop'], 2, 'm-shop is not a cardholder account'],
  [['cards', 'show', '9999'], 1, 'no card matches "9999"'],
  [['cards', 'freeze', TOKEN], 1, `no card with token ${TOKEN}`],
  [['accounts', 'show', 'm-nobody'], 1, 'no account m-nobody'],
  [['accounts', 'approve-posting', 'mp_999'], 1, 'no pending posting mp_999'],
  [['orders', 'show', 'o-nope'], 1, 'no order o-nope'],
  [['review', 'approve', 'o-nope'], 1, 'order o-nope does not exist'],
  [['batches', 'show', 'b-nope'], 1, 'no batch b-nope'],
  [['stats'], 1, 'no processor is running on this ledger'],
  [['run', '--rules', '/nonexistent/risk.yaml'], 1, 'cannot open /nonexistent/risk.yaml: no such file or directory'],
  [['replay', '/nonexistent/x.ndjson'], 1, 'cannot open /nonexistent/x.ndjson: no such file or directory'],
  [['batch', 'submit', '/nonexistent/b.csv'], 1, 'cannot open /nonexistent/b.csv: no such file or directory'],
  [['record', '--out', '/nonexistent/r.ndjson'], 1, 'cannot open /nonexistent/r.ndjson: no such file or directory'],
  [['generate', '--duration', '1s'], 1, NO_NATS_TEXT],
  [['--service', 'cards', 'list'], 1, NO_NATS_TEXT],
];

/** on a ledger a running processor holds, whose NATS server is gone */
const LOCKED_ROWS: Row[] = [
  [['cards', 'list'], 1, /^the ledger at \S+ is in use by process \d+ \(paystream run, since \S+\); stop it first, or talk to it through its NATS service; its NATS server nats:\/\/127\.0\.0\.1:1 is not reachable$/],
  [['seed', '--cards', '1'], 1, /^the ledger at \S+ is in use by process \d+ \(paystream run, since \S+\); stop it first, or talk to it through its NATS service$/],
  [['verify'], 1, /^the ledger at \S+ is in use by process \d+ .* its NATS server nats:\/\/127\.0\.0\.1:1 is not reachable$/],
];

/** Exit code, one line on stderr saying `said`, nothing on stdout. */
function expectRefusal(out: Outcome, row: Row): void {
  const [args, code, said] = row;
  expect(out.code, `paystream ${args.join(' ')}: ${out.stderr}`).toBe(code);
  expect(out.stderr, args.join(' ')).toMatch(/^paystream: [^\n]+\n$/);
  const line = out.stderr.slice('paystream: '.length, -1);
  if (typeof said === 'string') expect(line).toBe(said);
  else expect(line).toMatch(said);
  expect(out.stdout).toBe('');
}

describe('a usage error exits 2 with one line: what is wrong and what is allowed, before anything opens', () => {
  it.each([...CARD_AND_ACCOUNT_USAGE, ...QUERY_AND_KEY_USAGE, ...RUNNING_USAGE])('paystream %j', async (...row) => {
    expectRefusal(await paystream(unused, row[0]), row);
    expect(existsSync(unused)).toBe(false);
  });
});

describe('a bad value from the environment is refused the same way, naming the variable', () => {
  it.each([
    ['PAYSTREAM_FOUR_EYES_ABOVE', 'abc', `PAYSTREAM_FOUR_EYES_ABOVE: four-eyes threshold "abc" is not CCY=amount ${FOUR_EYES_TEXT}`],
    ['PAYSTREAM_FOUR_EYES_LAPSE', '0s', 'PAYSTREAM_FOUR_EYES_LAPSE: four-eyes lapse "0s" must be a duration within 1s..30d (e.g. 24h)'],
    ['PAYSTREAM_PREFIX', 'pay.*', 'PAYSTREAM_PREFIX must be subject tokens of A-Z a-z 0-9 _ - joined by dots, e.g. pay, got "pay.*"'],
  ])('%s=%s', async (name, value, said) => {
    vi.stubEnv(name, value);
    try {
      expectRefusal(await paystream(unused, ['cards', 'list']), [['cards', 'list'], 2, said]);
    } finally {
      vi.stubEnv(name, undefined);
    }
    expect(existsSync(unused)).toBe(false);
  });
});

describe('what a refusal never shows', () => {
  it('the value typed after a misspelt flag (a password), or a card number typed as several arguments', async () => {
    const misspelt = await paystream(unused, ['--pasword=s3cret', 'cards', 'list']);
    expect(misspelt.code).toBe(2);
    expect(misspelt.stderr).not.toContain('s3cret');
    const pan = await paystream(unused, ['cards', 'show', '4111', '1111', '1111', '1111']);
    expect(pan.stderr).not.toMatch(/4111|1111/);
    const badPan = await paystream(unused, ['cards', 'add', '--pan', '4111111111111112', '--expiry', '12/29', '--holder', 'Ada']);
    expect(badPan.stderr).not.toMatch(/4111|1112/);
  });
});

describe("what an amount the ledger refuses must be (amountRuleText, for the ledger's message)", () => {
  it.each([
    ['amount_too_precise', 'USD', 'must have at most 2 decimals in USD'],
    ['amount_too_precise', 'JPY', 'must be a whole number in JPY, which has no decimals'],
    ['amount_too_precise', 'KWD', 'must have at most 3 decimals in KWD'],
    ['amount_out_of_range', 'USD', 'must be above 0 and at most 10000000000000.00 USD'],
    ['invalid_amount', 'EUR', 'must be a decimal such as 12.50: digits, then a point and decimals if any, nothing else'],
    ['amount_not_string', 'EUR', 'must be a decimal string such as "12.50", not a JSON number'],
    ['unknown_currency', 'ZZZ', 'cannot be in ZZZ: not an ISO 4217 currency code paystream knows'],
  ] as const)('%s in %s: %s', (reason, currency, text) => {
    expect(amountRuleText(reason, currency)).toBe(text);
  });
});

describe('on a ledger: a refused value exits 2, what is not there or cannot be reached exits 1', () => {
  it.each(LEDGER_ROWS)('paystream %j', async (...row) => {
    expectRefusal(await paystream(ledger, row[0]), row);
  });

  it.each(LOCKED_ROWS)('paystream %j on a ledger held by a processor', async (...row) => {
    expectRefusal(await paystream(locked, row[0]), row);
  });
});

describe('with --json the error also goes to stdout as {"error":{"code","message"}}', () => {
  it.each([
    ['unused', ['--json', 'cards', 'list', '--bogus'], 2, 'usage'],
    ['unused', ['accounts', 'deposit', 'm-shop', '12,50', '--json'], 2, 'usage'],
    ['unused', ['--json', '--cvv', '123', 'cards', 'list'], 2, 'usage'],
    ['ledger', ['accounts', 'deposit', 'm-shop', '1.234', '--json'], 2, 'amount_too_precise'],
    ['ledger', ['--json', 'cards', 'show', '9999'], 1, 'unknown_card'],
    ['ledger', ['--json', 'replay', '/nonexistent/x.ndjson'], 1, 'error'],
    ['ledger', ['generate', '--json', '--duration', '1s'], 1, 'nats_unreachable'],
    ['locked', ['seed', '--json'], 1, 'ledger_locked'],
  ] as const)('on the %s ledger, paystream %j: exit %i, code %s', async (which, args, exit, code) => {
    const out = await paystream(dataDir[which](), [...args]);
    expect(out.code, out.stderr).toBe(exit);
    expect(out.stderr).toMatch(/^paystream: [^\n]+\n$/);
    expect(JSON.parse(out.stdout)).toEqual({ error: { code, message: out.stderr.slice('paystream: '.length, -1) } });
  });
});

/** The command path a row runs (`cards add`), from its leading words. */
function commandOf(program: Command, args: readonly string[]): string {
  const names: string[] = [];
  let at = program;
  for (const word of args) {
    const next = at.commands.find((c) => c.name() === word);
    if (!next) break;
    names.push(word);
    at = next;
  }
  return names.join(' ');
}

/** Every command and command group of the program, by path. */
function everyCommand(at: Command, prefix: string[] = []): string[] {
  return at.commands.flatMap((c) => [[...prefix, c.name()].join(' '), ...everyCommand(c, [...prefix, c.name()])]);
}

describe('the table covers the program', () => {
  it('has a row for every command and every command group', () => {
    const program = buildProgram();
    const rows = [...CARD_AND_ACCOUNT_USAGE, ...QUERY_AND_KEY_USAGE, ...RUNNING_USAGE, ...LEDGER_ROWS, ...LOCKED_ROWS];
    const covered = new Set(rows.map(([args]) => commandOf(program, args)));
    expect(everyCommand(program).filter((name) => !covered.has(name))).toEqual([]);
  });

  it("the README's exit codes name every refusal of a value the CLI exits 2 for", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const cliSection = readme.slice(readme.indexOf('## The CLI'), readme.indexOf('\n## ', readme.indexOf('## The CLI') + 1));
    expect([...INPUT_ERROR_CODES].filter((code) => !cliSection.includes(`\`${code}\``))).toEqual([]);
  });
});

describe('as real processes: the same one line and exit code', () => {
  it('an unknown option, and a bad amount with --json', async () => {
    const unknown = await cli(['--data', unused, 'cards', 'list', '--lmit', '5']);
    expect(unknown.code, unknown.stderr).toBe(2);
    expect(unknown.stderr).toMatch(/^paystream: [^\n]+\n$/);
    expect(unknown.stderr.slice('paystream: '.length, -1)).toMatch(UNKNOWN_LMIT);
    expect(unknown.stdout).toBe('');
    const amount = await cli(['--data', unused, '--json', 'accounts', 'deposit', 'm-shop', '12,50']);
    expect(amount.code, amount.stderr).toBe(2);
    expect(amount.stderr).toBe(`paystream: <amount> ${AMOUNT_TEXT}, got "12,50"\n`);
    expect(JSON.parse(amount.stdout)).toEqual({ error: { code: 'usage', message: `<amount> ${AMOUNT_TEXT}, got "12,50"` } });
    expect(existsSync(unused)).toBe(false);
  }, 30_000);
});
