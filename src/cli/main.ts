// The `paystream` command line: one command group a file; this file wires them and maps errors to exit codes.

import path from 'node:path';
import { type Command, CommanderError } from 'commander';
import { PaystreamCommand, natsUrlArg, subjectPrefixArg } from './args.ts';
import { NATS_AUTH_OPTIONS } from '../nats/client-options.ts';
import { registerAccounts } from './accounts.ts';
import { registerAudit } from './audit.ts';
import { registerBatchSubmit, registerBatches } from './batches.ts';
import { registerCards } from './cards.ts';
import { registerDemo } from './demo.ts';
import { registerGenerate } from './generate.ts';
import { parseGlobalOptions } from './global-options.ts';
import { registerKeys } from './keys.ts';
import { registerOrders, registerReview } from './orders.ts';
import { EXIT_OK, jsonRequested, reportError, usageError } from './output.ts';
import { registerRecord } from './record.ts';
import { registerReplay } from './replay.ts';
import { registerRun } from './run.ts';
import { registerSeed } from './seed.ts';
import { registerStats } from './stats.ts';
import { registerVerify } from './verify.ts';

const CVV_FLAG = /^--(cvv|cvc|cvv2|cvc2|cid|security-?code)(=|$)/i;

export function buildProgram(): Command {
  const program = new PaystreamCommand('paystream')
    .description('card-payment stream processor: NATS JetStream in, double-entry LevelDB ledger, live dashboard')
    .version('0.1.0')
    .option('--data <dir>', 'ledger data directory (env PAYSTREAM_DATA)', undefined)
    .option('--nats <url>', 'NATS server URL (env NATS_URL)', natsUrlArg)
    .option('--prefix <subject>', 'subject prefix (env PAYSTREAM_PREFIX)', subjectPrefixArg)
    .option('--json', 'print JSON (query commands)')
    .option('--service', "never open the ledger: call the running processor's service at --nats with the NATS credentials given, as an operator or viewer on another machine does (env PAYSTREAM_SERVICE=1)")
    .option('--key-file <path>', 'the tokenization key file, outside the data directory (env PAYSTREAM_KEY_FILE; or PAYSTREAM_KEY)');
  // NATS credentials and TLS: checked (files read, contradictions refused) by parseGlobalOptions, before anything starts
  for (const [flags, description] of NATS_AUTH_OPTIONS) program.option(flags, description);
  const globals = () => parseGlobalOptions({ ...program.opts() });
  // subcommands accept --json too; their own flag wins
  program.hook('preAction', (_root, action) => {
    if (action.opts().json) program.setOptionValue('json', true);
    // every ledger opened in this process reads its keys from there (src/ledger/keys.ts loadKeys)
    const keyFile = program.opts().keyFile as string | undefined;
    if (keyFile) process.env.PAYSTREAM_KEY_FILE = path.resolve(keyFile);
  });
  // in the order `paystream --help` lists them
  for (const register of [
    registerCards,
    registerAccounts,
    registerVerify,
    registerSeed,
    registerOrders,
    registerReview,
    registerBatches,
    registerAudit,
    registerStats,
    registerRun,
    registerRecord,
    registerReplay,
    registerGenerate,
    registerBatchSubmit,
    registerDemo,
    registerKeys,
  ]) {
    register(program, globals);
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.some((a) => CVV_FLAG.test(a))) {
    return reportError(usageError('a CVV/CVC is never accepted or stored (PCI DSS 3.3); leave it out'), jsonRequested(argv));
  }
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (error) {
    // help and the version asked for; every other complaint of commander's is a usage error (PaystreamCommand)
    if (error instanceof CommanderError && ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code)) return EXIT_OK;
    return reportError(error, Boolean(program.opts().json) || jsonRequested(argv));
  }
}
