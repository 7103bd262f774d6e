// `paystream verify`: walk the whole ledger and check its invariants; exit 1 on any violation.

import type { Command } from 'commander';
import { LedgerLockedError } from '../ledger/errors.ts';
import type { LedgerStore } from '../ledger/store.ts';
import type { VerifyReport } from '../ledger/verify.ts';
import type { GlobalOptions, Globals } from './global-options.ts';
import { withLedger } from './ledger-access.ts';
import { print } from './output.ts';
import { type ProgressOptions, QUIET_FLAG_HELP, progressShown, withProgress } from './progress.ts';

export function registerVerify(program: Command, globals: Globals): void {
  program
    .command('verify')
    .description('walk the whole ledger and check its invariants; exit 1 on any violation')
    .option('--json', 'print JSON')
    .option('--quiet', QUIET_FLAG_HELP)
    .action(async (o: { quiet?: boolean }) => {
      const g = globals();
      const watched: ProgressOptions = { label: 'verify', unit: 'record', verb: 'verified', estimate: true, quiet: o.quiet };
      const here = progressShown(watched) && !g.service ? await verifyWatched(g, watched) : undefined;
      if (here) {
        printReport(g, here);
        return;
      }
      await withLedger(g, async (call) => printReport(g, (await call('verify', {})) as VerifyReport));
    });
}

function printReport(g: GlobalOptions, report: VerifyReport): void {
  print(g, report, verifyText);
  if (!report.ok) process.exitCode = 1;
}

/**
 * The walk with a progress bar, on the ledger itself; undefined when a processor holds it (its service
 * then walks it, as for every command, with no progress to show from here).
 */
async function verifyWatched(g: GlobalOptions, watched: ProgressOptions): Promise<VerifyReport | undefined> {
  const [{ LedgerStore }, { verifyLedger }] = await Promise.all([import('../ledger/store.ts'), import('../ledger/verify.ts')]);
  let store: LedgerStore;
  try {
    store = await LedgerStore.open(g.data, { owner: { command: 'paystream verify' } });
  } catch (error) {
    if (error instanceof LedgerLockedError) return undefined;
    throw error;
  }
  try {
    return await withProgress(watched, async (progress) => {
      const report = await verifyLedger(store, { onProgress: (checked, estimate) => progress.update(checked, estimate) });
      progress.finish();
      return report;
    });
  } finally {
    await store.close();
  }
}

function verifyText(r: VerifyReport): string {
  return [
    `${r.ok ? 'OK' : 'VIOLATIONS'}: ${r.cards} cards, ${r.accounts} accounts, ${r.transfers} transfers, ${r.orders} orders`,
    `audit trail: ${r.audit.entries} entries, head ${r.audit.headSeq}${r.audit.firstBrokenSeq === undefined ? ', chain intact' : `, BROKEN at entry ${r.audit.firstBrokenSeq}`}`,
    `sum of balances: ${Object.entries(r.sumByCurrency).map(([c, s]) => `${c} ${s}`).join(', ') || 'no accounts'}`,
    ...r.violations.map((v) => `  ${v.code}: ${v.message}`),
  ].join('\n');
}
