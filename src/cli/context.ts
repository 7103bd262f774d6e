// Split into output.ts (exit codes, errors, print), global-options.ts and ledger-access.ts; these names stay
// importable from here until the integration moves their importers.

export { CliError, EXIT_OK, EXIT_OPERATIONAL, EXIT_USAGE, describeError, print } from './output.ts'; // SHIM(integration): remove
export { type GlobalOptions, parseGlobalOptions as globalsFrom } from './global-options.ts'; // SHIM(integration): remove
export { type Call, withLedger } from './ledger-access.ts'; // SHIM(integration): remove
