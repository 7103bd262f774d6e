// `paystream stats`: the running processor's figures, through its NATS service.

import type { Command } from 'commander';
import type { Globals } from './global-options.ts';
import { withLedger } from './ledger-access.ts';
import { CliError, EXIT_OPERATIONAL, print } from './output.ts';

export function registerStats(program: Command, globals: Globals): void {
  program
    .command('stats')
    .description('figures of the running processor (through its NATS service)')
    .option('--json', 'print JSON')
    .action(async () => {
      const g = globals();
      await withLedger(g, async (call, via) => {
        if (via === 'store') throw new CliError('no processor is running on this ledger', EXIT_OPERATIONAL, 'not_running');
        const out = await call('stats', {});
        print(g, out, (v: unknown) => JSON.stringify(v, null, 2));
      });
    });
}
