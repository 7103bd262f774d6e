// The command line as commander reads it: a parser for every flag and argument that takes a value, and
// PaystreamCommand, which turns a refused value and each of commander's own complaints (unknown option or
// command, missing argument or value, too many arguments) into one usage error: exit 2 (main.ts) with one
// line that says what is wrong and what is allowed, before the command opens a ledger, connects or starts.

import { type Argument, Command, type ErrorOptions, type HelpContext, InvalidArgumentError, type Option } from 'commander';
import { BATCH_ID_RE } from '../domain/batch.ts';
import { checkPan, containsPan, isExpired, parseExpiry } from '../domain/cards.ts';
import { maskUrl } from '../domain/credentials.ts';
import { ORDER_ID_RE } from '../domain/decode.ts';
import { AMOUNT_MINOR_MAX, currencyExponent, formatAmount, parseAmount } from '../domain/money.ts';
import { ACCOUNT_ID_PATTERN } from '../domain/operator-commands.ts';
import {
  type Bounds,
  SHARE_TEXT,
  aboveZeroAtMostText,
  isAboveZeroAtMost,
  isShare,
  isWholeWithin,
  wholeWithinText,
} from '../domain/option-checks.ts';
import { COUNT_MAX } from '../domain/operations.ts';
import { METRICS_PORT_BOUNDS } from '../metrics/port.ts';
import { NATS_NAME_TEXT, SUBJECT_PREFIX_TEXT, isNatsName, isSubjectPrefix } from '../nats/topology.ts';
import { usageError } from './output.ts';

/** what a whole number flag may look like: digits, an optional minus (so "-1" is refused by range, not shape) */
const INTEGER_RE = /^-?\d{1,16}$/;
/** a plain decimal: no exponent, hex, Infinity or spaces */
const DECIMAL_RE = /^-?\d{1,16}(?:\.\d{1,9})?$/;

/** A whole number within the bounds (both inclusive). */
export function integerArg(bounds: Bounds): (value: string) => number {
  return (value) => {
    const n = INTEGER_RE.test(value) ? Number(value) : Number.NaN;
    if (!isWholeWithin(n, bounds)) throw new InvalidArgumentError(wholeWithinText(bounds));
    return n;
  };
}

/** A decimal number above 0 and at most max. */
export function positiveArg(max: number): (value: string) => number {
  return (value) => {
    const n = DECIMAL_RE.test(value) ? Number(value) : Number.NaN;
    if (!isAboveZeroAtMost(n, max)) throw new InvalidArgumentError(aboveZeroAtMostText(max));
    return n;
  };
}

/** A share: a decimal number within 0..1. */
export function shareArg(value: string): number {
  const n = DECIMAL_RE.test(value) ? Number(value) : Number.NaN;
  if (!isShare(n)) throw new InvalidArgumentError(SHARE_TEXT);
  return n;
}

/** A positive number at most max, or `max` (as fast as possible: Infinity). */
export function numberOrMaxArg(max: number): (value: string) => number {
  const positive = positiveArg(max);
  return (value) => {
    if (value === 'max') return Number.POSITIVE_INFINITY;
    try {
      return positive(value);
    } catch {
      throw new InvalidArgumentError(`${aboveZeroAtMostText(max)}, or max`);
    }
  };
}

/** A value `accepts` takes, as typed; `must` says what it must be (`must be ...`). */
export function checkedArg(accepts: (value: string) => boolean, must: string): (value: string) => string {
  return (value) => {
    if (!accepts(value)) throw new InvalidArgumentError(must);
    return value;
  };
}

/** One of `choices`, exactly as written. */
export function choiceArg<T extends string>(choices: readonly T[]): (value: string) => T {
  const list = choices.length > 2 ? `one of ${choices.join(', ')}` : choices.join(' or ');
  return (value) => {
    if (!choices.includes(value as T)) throw new InvalidArgumentError(`must be ${list}`);
    return value as T;
  };
}

/** A duration flag takes 1 ms up to a week. */
export const DURATION_MS_BOUNDS: Bounds = { min: 1, max: 7 * 24 * 3_600_000 };
const DURATION_TEXT = 'must be a duration within 1ms..168h: a number with ms, s, m or h (seconds without), e.g. 500ms, 60s, 5m';

/** A duration: a number with an optional unit (ms, s, m, h; seconds by default), above 0 and at most a week. */
export function parseDurationMs(text: string): number {
  const m = /^(\d{1,9}(?:\.\d{1,9})?)(ms|s|m|h)?$/.exec(text.trim());
  const unit = m ? { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'] : 0;
  const ms = m ? Math.round(Number(m[1]) * unit) : Number.NaN;
  if (!isWholeWithin(ms, DURATION_MS_BOUNDS)) throw new InvalidArgumentError(DURATION_TEXT);
  return ms;
}

/** An instant: an ISO 8601 time, or a duration ago (e.g. 10m). */
export function sinceArg(text: string): Date {
  const notATime = new InvalidArgumentError('must be an ISO time (e.g. 2026-01-31T09:00:00Z) or a duration ago (e.g. 10m)');
  if (/^\d/.test(text) && !/^\d+(?:\.\d+)?(ms|s|m|h)?$/.test(text)) {
    const at = new Date(text);
    if (Number.isNaN(at.getTime())) throw notATime;
    return at;
  }
  try {
    return new Date(Date.now() - parseDurationMs(text));
  } catch {
    throw notATime;
  }
}

/** A subject prefix: one or more tokens of letters, digits, _ and - joined by dots (no wildcards, no spaces). */
export function subjectPrefixArg(value: string): string {
  if (!isSubjectPrefix(value)) throw new InvalidArgumentError(SUBJECT_PREFIX_TEXT);
  return value;
}

/** a subject to subscribe to: tokens without spaces joined by dots, `*` for any one token, `>` (last) for the rest */
const SUBJECT_FILTER_RE = /^(?:(?:[^\s.*>]+|\*)(?:\.(?:[^\s.*>]+|\*))*(?:\.>)?|>)$/;

/** A subject or a subject filter: `pay.>`, `pay.orders.*`. */
export const subjectArg = checkedArg(
  (v) => v.length <= 256 && SUBJECT_FILTER_RE.test(v),
  'must be a NATS subject: tokens without spaces joined by dots, * for one token, > at the end for the rest, e.g. pay.>',
);

/** A JetStream stream prefix, a consumer name or one subject token (a batch source): letters, digits, _ and -, at most 64. */
export function nameArg(value: string): string {
  if (!isNatsName(value)) throw new InvalidArgumentError(NATS_NAME_TEXT);
  return value;
}

/** NATS server URLs at most: more in one flag is a mistake */
const NATS_URLS_MAX = 16;

/** NATS server URLs, comma-separated: nats://, tls://, ws:// or wss:// with a host, or host:port. */
export function natsUrlArg(value: string): string {
  const parts = value.split(',').map((p) => p.trim());
  const ok = parts.every((part) => {
    const withScheme = /^[a-z]+:\/\//i.test(part) ? part : `nats://${part}`;
    try {
      const url = new URL(withScheme);
      return ['nats:', 'tls:', 'ws:', 'wss:'].includes(url.protocol) && url.hostname !== '' && (url.port === '' || Number(url.port) >= 1);
    } catch {
      return false;
    }
  });
  if (parts.length === 0 || parts.length > NATS_URLS_MAX || !ok) {
    throw new InvalidArgumentError('must be NATS server URLs, comma-separated: nats://, tls://, ws:// or wss:// with a host and a port within 1..65535, e.g. nats://127.0.0.1:4222');
  }
  return value;
}

/** A TCP port to listen on (a flag names one: 0, any free port, is for tests). */
export const portArg = integerArg({ min: 1, max: METRICS_PORT_BOUNDS.max });
/** the seeds of the deterministic generators */
export const SEED_BOUNDS: Bounds = { min: 0, max: 2 ** 31 - 1 };
/** A seed of the deterministic generators. */
export const seedArg = integerArg(SEED_BOUNDS);
/** --limit and --transfers of the queries: what the service accepts (1..COUNT_MAX) */
export const countArg = integerArg({ min: 1, max: COUNT_MAX });

// ---- money, cards and ids: the checks that need nothing from the ledger, so a typo never opens it ----

/** an amount as typed: digits and an optional fraction; how many decimals its currency allows is the ledger's check */
const AMOUNT_TEXT_RE = /^\d{1,16}(?:\.\d{1,9})?$/;

/** An amount above 0 as a decimal string (e.g. 12.50), passed on as typed: it becomes money in its account's currency. */
export function amountArg(value: string): string {
  if (!AMOUNT_TEXT_RE.test(value) || !/[1-9]/.test(value)) throw new InvalidArgumentError('must be an amount above 0 written as a decimal, e.g. 100 or 12.50');
  return value;
}

/** An amount above 0 that is money in `currency` (its decimals, at most AMOUNT_MINOR_MAX), as typed. */
export function amountInArg(currency: string): (value: string) => string {
  const exponent = currencyExponent(currency) ?? 0;
  const most = formatAmount(AMOUNT_MINOR_MAX, currency, { grouping: false });
  return (value) => {
    if (!AMOUNT_TEXT_RE.test(value) || !parseAmount(value, currency).ok) {
      throw new InvalidArgumentError(`must be an amount above 0 and at most ${most}, with at most ${exponent} decimals, e.g. 100 or 12.50`);
    }
    return value;
  };
}

/** An ISO 4217 code paystream knows, in any case; upper case from here on. */
export function currencyArg(value: string): string {
  const code = value.toUpperCase();
  if (currencyExponent(code) === undefined) throw new InvalidArgumentError('must be an ISO 4217 currency code paystream knows, e.g. USD, EUR, GBP or JPY');
  return code;
}

/** A person's or business's name: not blank (one holding a card number the ledger refuses). */
export const nameTextArg = checkedArg((v) => v.trim() !== '', 'must be a name, not blank');

/** A card's expiry, MM/YY or MM/YYYY, this month or later. */
export function expiryArg(value: string): string {
  if (!parseExpiry(value).ok) throw new InvalidArgumentError('must be MM/YY or MM/YYYY with month 01-12, e.g. 09/29');
  if (isExpired(value, Date.now())) throw new InvalidArgumentError('must be this month or later: a card past its expiry is not registered');
  return value;
}

/** A card number (spaces and dashes allowed), or '-': read it from stdin. Never echoed: PaystreamCommand leaves --pan's value out. */
export function panArg(value: string): string {
  if (value === '-') return value;
  const pan = checkPan(value);
  if (!pan.ok) throw new InvalidArgumentError(`must be a card number, 12 to 19 digits passing the Luhn check: ${pan.message}`);
  return value;
}

/** A card token: 64 hex digits (any case; lower case from here on), as `cards show` prints it. */
export function tokenArg(value: string): string {
  if (!/^[0-9a-f]{64}$/i.test(value)) throw new InvalidArgumentError('must be a card token, 64 hex digits, as cards show prints it (cards list shows the first 16)');
  return value.toLowerCase();
}

/** An id of the ledger's: `what` names it in the refusal. */
function idArg(what: string, pattern: RegExp): (value: string) => string {
  return (value) => {
    if (!pattern.test(value)) throw new InvalidArgumentError(`must be ${what}: 1-64 of A-Z a-z 0-9 _ -`);
    return value;
  };
}

export const accountIdArg = idArg('an account id', ACCOUNT_ID_PATTERN);
export const orderIdArg = idArg('an order id', ORDER_ID_RE);
export const batchIdArg = idArg('a batch id', BATCH_ID_RE);

/** a pending posting's id: mp_ and its number (src/domain/operator-commands.ts names them) */
const POSTING_ID_RE = /^mp_\d{1,19}$/;

/** A pending posting's id, as `accounts pending` lists it. */
export function postingIdArg(value: string): string {
  if (!POSTING_ID_RE.test(value)) throw new InvalidArgumentError('must be a posting id such as mp_12 (accounts pending lists them)');
  return value;
}

// ---- one line for every usage error ----

/** flags whose values are secrets or card numbers: a refusal never shows them */
const VALUES_NEVER_SHOWN: ReadonlySet<string> = new Set(['--pan', '--token', '--password']);
/** a refused value is shown up to this many characters */
const VALUE_SHOWN_CHARS_MAX = 80;

/** A value as a refusal quotes it: a URL's credentials masked, a long one cut. */
function shownValue(value: string): string {
  const masked = maskUrl(value);
  return JSON.stringify(masked.length > VALUE_SHOWN_CHARS_MAX ? `${masked.slice(0, VALUE_SHOWN_CHARS_MAX)}...` : masked);
}

/**
 * `parse(value)`, or the usage error naming the flag or argument, what it must be and (unless `shown` is
 * false) the value given: `--limit must be a whole number within 1..1000, got "abc"`.
 */
export function parsedAs<T>(name: string, parse: (value: string) => T, value: string, shown = !VALUES_NEVER_SHOWN.has(name)): T {
  try {
    return parse(value);
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    throw usageError(`${name} ${error.message}${shown ? `, got ${shownValue(value)}` : ''}`);
  }
}

/**
 * The program and every command made under it: a value a parser refuses, and whatever commander itself
 * refuses, is a usage error of one line (commander's own text is three: the error, a suggestion, a hint).
 */
export class PaystreamCommand extends Command {
  constructor(name?: string) {
    super(name);
    this.exitOverride();
  }

  override createCommand(name?: string): Command {
    return new PaystreamCommand(name);
  }

  override addOption(option: Option): this {
    const parse = option.parseArg as ((value: string, previous: unknown) => unknown) | undefined;
    if (parse) {
      const name = option.long ?? option.flags;
      option.parseArg = ((value: string, previous: unknown) => parsedAs(name, (v) => parse(v, previous), value)) as Option['parseArg'];
    }
    return super.addOption(option);
  }

  override addArgument(argument: Argument): this {
    const parse = argument.parseArg as ((value: string, previous: unknown) => unknown) | undefined;
    if (parse) {
      const name = `<${argument.name()}>`;
      argument.parseArg = ((value: string, previous: unknown) => parsedAs(name, (v) => parse(v, previous), value)) as Argument['parseArg'];
    }
    return super.addArgument(argument);
  }

  override error(message: string, options?: ErrorOptions): never {
    throw usageError(commanderProblem(this, options?.code ?? '', message));
  }

  /** Help asked for is printed; help as commander's answer to a missing or unknown command is a usage error. */
  override help(context?: HelpContext): never;
  override help(cb: (str: string) => string): never;
  override help(context?: HelpContext | ((str: string) => string)): never {
    if (typeof context === 'function' || !context?.error) return super.help(context as HelpContext);
    // `paystream help bogus` lands here too, with the name it did not find
    if (this.args[0] === 'help' && this.args[1] !== undefined) throw usageError(unknownCommand(this, this.args[1]));
    const names = this.commands.map((c) => c.name());
    const choices = `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
    throw usageError(`${this.parent ? `${where(this)} needs a command` : 'a command is needed'}: ${choices} (${helpOf(this)})`);
  }
}

/** One line for what commander refused: its own message gives the flag or argument it names and its suggestion. */
function commanderProblem(cmd: Command, code: string, message: string): string {
  const [first = '', ...rest] = message.replace(/^error: /, '').split('\n');
  const quoted = /'(.*)'/.exec(first)?.[1] ?? '';
  const suggestion = /Did you mean (.+)\?/.exec(rest.join(' '))?.[1];
  switch (code) {
    case 'commander.unknownOption':
      return unknownOption(cmd, quoted, suggestion);
    case 'commander.unknownCommand':
      return unknownCommand(cmd, String(cmd.args[0]), suggestion);
    case 'commander.missingArgument':
      return `${where(cmd)} needs <${quoted}> (usage: ${usageOf(cmd)})`;
    case 'commander.optionMissingArgument':
      return described(cmd, quoted, 'needs a value');
    case 'commander.missingMandatoryOptionValue':
      return `${where(cmd)} needs ${described(cmd, quoted)}`;
    case 'commander.excessArguments':
      return excessArguments(cmd);
    default:
      return [first, ...rest].join('; ');
  }
}

/** `cards list`; the program itself is `paystream`. */
function where(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.length === 0 ? 'paystream' : names.join(' ');
}

function usageOf(cmd: Command): string {
  return `paystream ${cmd.parent ? `${where(cmd)} ` : ''}${cmd.usage()}`;
}

function helpOf(cmd: Command): string {
  return `paystream ${cmd.parent ? `${where(cmd)} ` : ''}--help`;
}

function commandsOf(cmd: Command): string {
  return `${cmd.parent ? `the ${where(cmd)} commands are` : 'the commands are'} ${cmd.commands.map((c) => c.name()).join(', ')}`;
}

/** An option by its flags as commander quotes them, then what it is for: `--limit <n> needs a value: how many`. */
function described(cmd: Command, flags: string, said = ''): string {
  for (let c: Command | null = cmd; c; c = c.parent) {
    const option = c.options.find((o) => o.flags === flags);
    if (option?.description) return `${option.flags}${said ? ` ${said}` : ''}: ${option.description}`;
  }
  return `${flags}${said ? ` ${said}` : ''}`;
}

function unknownOption(cmd: Command, flag: string, suggestion: string | undefined): string {
  // `--pasword=secret`: the name only, never what was typed after it
  const name = flag.split('=')[0];
  const own = cmd.options.filter((o) => !o.hidden && o.long).map((o) => o.long);
  const allowed = cmd.parent
    ? `${where(cmd)} takes ${own.length ? `${own.join(', ')} and ` : ''}the global options`
    : `the global options are ${own.join(', ')}`;
  return `unknown option ${name}${suggestion ? ` (did you mean ${suggestion}?)` : ''}; ${allowed} (${helpOf(cmd)})`;
}

function unknownCommand(cmd: Command, name: string, suggestion?: string): string {
  const full = (n: string) => JSON.stringify(cmd.parent ? `${where(cmd)} ${n}` : n);
  return `unknown command ${full(name)}${suggestion ? ` (did you mean ${full(suggestion)}?)` : ''}; ${commandsOf(cmd)}`;
}

function excessArguments(cmd: Command): string {
  const takes = cmd.registeredArguments.length === 0 ? 'none' : cmd.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`)).join(' ');
  // a card number typed with spaces arrives as several arguments: none of them is shown then
  const given = containsPan(cmd.args.join(' ')) ? `${cmd.args.length} arguments holding a card number` : cmd.args.map(shownValue).join(' ');
  return `too many arguments for ${where(cmd)}: it takes ${takes}, got ${given}`;
}
