// `paystream verify`: walk the whole ledger and check its invariants; exit 1 on any violation.

import type { Command } from 'commander';
import type { VerifyReport } from '../ledger/verify.ts';
import type { Globals } from './global-options.ts';
import { withLedger } from './ledger-access.ts';
import { print } from './output.ts';

export function registerVerify(program: Command, globals: Globals): void {
  program
    .command('verify')
    .description('walk the whole ledger and check its invariants; exit 1 on any violation')
    .option('--json', 'print JSON')
    .action(async () => {
      const g = globals();
      await withLedger(g, async (call) => {
        const report = (await call('verify', {})) as VerifyReport;
        print(g, report, verifyText);
        if (!report.ok) process.exitCode = 1;
      });
    });
}

function verifyText(r: VerifyReport): string {
  return [
    `${r.ok ? 'OK' : 'VIOLATIONS'}: ${r.cards} cards, ${r.accounts} accounts, ${r.transfers} transfers, ${r.orders} orders`,
    `audit trail: ${r.audit.entries} entries, head ${r.audit.headSeq}${r.audit.firstBrokenSeq === undefined ? ', chain intact' : `, BROKEN at entry ${r.audit.firstBrokenSeq}`}`,
    `sum of balances: ${Object.entries(r.sumByCurrency).map(([c, s]) => `${c} ${s}`).join(', ') || 'no accounts'}`,
    ...r.violations.map((v) => `  ${v.code}: ${v.message}`),
  ].join('\n');
}
