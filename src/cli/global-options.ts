// The options every command shares (--data, --nats and its credentials, --prefix, --json, --service), read
// once from the flags and the environment, checked as the flags are.

import path from 'node:path';
import { type FourEyesOptions, fourEyesFromEnv } from '../domain/four-eyes.ts';
import { type NatsAuth, DEFAULT_NATS_URL, parseNatsAuth } from '../nats/client-options.ts';
import { NatsOptionsError } from '../nats/errors.ts';
import { DEFAULT_TOPOLOGY } from '../nats/topology.ts';
import { natsUrlArg, parsedAs, subjectPrefixArg } from './args.ts';
import { usageError } from './output.ts';

/** where the ledger is when neither --data nor PAYSTREAM_DATA says */
export const DEFAULT_DATA_DIR = 'data/ledger';

export interface GlobalOptions {
  /** the ledger directory, resolved (--data, PAYSTREAM_DATA) @default DEFAULT_DATA_DIR */
  data: string;
  /** the NATS URL as given (it may carry credentials: show it only through maskUrl) (--nats, NATS_URL) @default DEFAULT_NATS_URL */
  nats: string;
  /** NATS credentials and TLS from the flags, the environment and the URL, read and checked @default none */
  natsAuth: NatsAuth;
  /** subject prefix (--prefix, PAYSTREAM_PREFIX) @default DEFAULT_TOPOLOGY.prefix */
  prefix: string;
  /** print JSON (--json) @default false */
  json: boolean;
  /** never open the ledger: call the processor's service at `nats` (--service, PAYSTREAM_SERVICE=1) @default false */
  service?: boolean;
}

/** The global options, as each command's action reads them. */
export type Globals = () => GlobalOptions;

/**
 * The global options from the program's flags (checked while commander parsed them) and the environment,
 * whose values are checked here the same way; NATS credentials and TLS are read and checked once.
 */
export function parseGlobalOptions(flags: Record<string, unknown>, env = process.env): GlobalOptions {
  const nats = checked(flags.nats, env.NATS_URL, DEFAULT_NATS_URL, natsUrlArg, ['--nats', 'NATS_URL']);
  let natsAuth: NatsAuth;
  try {
    natsAuth = parseNatsAuth(flags as never, env, nats);
  } catch (error) {
    if (error instanceof NatsOptionsError) throw usageError(error.message);
    throw error;
  }
  return {
    data: path.resolve(String(flags.data ?? env.PAYSTREAM_DATA ?? DEFAULT_DATA_DIR)),
    nats,
    natsAuth,
    prefix: checked(flags.prefix, env.PAYSTREAM_PREFIX, DEFAULT_TOPOLOGY.prefix, subjectPrefixArg, ['--prefix', 'PAYSTREAM_PREFIX']),
    json: Boolean(flags.json),
    service: Boolean(flags.service) || env.PAYSTREAM_SERVICE === '1',
  };
}

/**
 * The flag's value, else the environment's, else the default; checked by the flag's parser and named by
 * where it came from, as a refused flag is: `NATS_URL must be NATS server URLs, ..., got "http://x"`.
 */
function checked(flag: unknown, fromEnv: string | undefined, fallback: string, parse: (v: string) => string, [flagName, envName]: [string, string]): string {
  const value = String(flag ?? fromEnv ?? fallback);
  return parsedAs(flag === undefined ? envName : flagName, parse, value);
}

/**
 * Four eyes on manual postings: the thresholds and the lapse from run's flags, else the environment
 * (PAYSTREAM_FOUR_EYES_ABOVE, PAYSTREAM_FOUR_EYES_LAPSE), else the defaults; a refusal names where the
 * value came from and what it may be.
 */
export function parseFourEyesOptions(env: Record<string, string | undefined> = process.env, flags: { above?: string | undefined; lapse?: string | undefined } = {}): FourEyesOptions {
  const [aboveName, above] = flags.above !== undefined ? ['--four-eyes-above', flags.above] : ['PAYSTREAM_FOUR_EYES_ABOVE', env.PAYSTREAM_FOUR_EYES_ABOVE];
  const [lapseName, lapse] = flags.lapse !== undefined ? ['--four-eyes-lapse', flags.lapse] : ['PAYSTREAM_FOUR_EYES_LAPSE', env.PAYSTREAM_FOUR_EYES_LAPSE];
  const lapseAlone = fourEyesFromEnv({ PAYSTREAM_FOUR_EYES_LAPSE: lapse });
  if (!lapseAlone.ok) throw usageError(`${lapseName}: ${lapseAlone.message}`);
  const parsed = fourEyesFromEnv({ PAYSTREAM_FOUR_EYES_ABOVE: above, PAYSTREAM_FOUR_EYES_LAPSE: lapse });
  if (!parsed.ok) throw usageError(`${aboveName}: ${parsed.message} (CCY=amount, comma-separated, *= for the other currencies, e.g. USD=10000.00,*=10000; or none)`);
  return parsed.options;
}
