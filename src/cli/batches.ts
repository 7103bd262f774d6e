// `paystream batch submit` (publish a batch file and wait for its report) and `paystream batches list |
// show` (open and finished batches): batch payments.

import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { NatsConnection, Subscription } from 'nats';
import { BATCH_MODES, type BatchMode } from '../domain/batch-limits.ts';
import type { BatchFile } from '../domain/batchfile.ts';
import { OptionsError, choiceOption, wholeOption, withDefaults } from '../domain/option-checks.ts';
import { ORDER_TYPES, type OrderType } from '../domain/types.ts';
import { NATS_NAME_TEXT, isNatsName } from '../nats/topology.ts';
import { DURATION_MS_BOUNDS, amountArg, batchIdArg, choiceArg, currencyArg, integerArg, nameArg, parseDurationMs } from './args.ts';
import type { GlobalOptions, Globals } from './global-options.ts';
import { withLedger } from './ledger-access.ts';
import { table } from './format.ts';
import { CliError, print } from './output.ts';
import { type ProgressOptions, QUIET_FLAG_HELP, progressShown, withProgress } from './progress.ts';

/** the orders a batch file may be expected to hold (--count) */
export const EXPECTED_COUNT_BOUNDS = { min: 1, max: 1_000_000 };

export interface BatchSubmitOptions {
  file: string;
  /** @default the file's */
  batchId?: string;
  /** atomic or independent @default the file's, else independent */
  mode?: BatchMode;
  /** the batch currency when the file does not say */
  currency?: string;
  /** order type for lines without one @default 'payout' */
  defaultType: OrderType;
  /** checked against the file before anything is sent */
  expectedCount?: number;
  /** checked against the file before anything is sent */
  expectedControlSum?: string;
  /** publish as this source (a subject token): the batch then takes orders from this source only @default none */
  source?: string;
  /** wait for the batch's report @default true */
  wait: boolean;
  /** how long to wait for the report @default 60_000 */
  timeoutMs: number;
}

export const DEFAULT_BATCH_SUBMIT_OPTIONS = { defaultType: 'payout', wait: true, timeoutMs: 60_000 } as const satisfies Partial<BatchSubmitOptions>;

/** The options of `batch submit`, parsed: defaults, the mode and type among theirs, the figures within their bounds. */
export function parseBatchSubmitOptions(partial: Partial<BatchSubmitOptions> & Pick<BatchSubmitOptions, 'file'>): BatchSubmitOptions {
  const options = withDefaults<BatchSubmitOptions>({ ...DEFAULT_BATCH_SUBMIT_OPTIONS, file: partial.file }, partial);
  if (options.mode !== undefined && !BATCH_MODES.includes(options.mode)) throw new OptionsError('--mode must be atomic or independent');
  choiceOption('--type', options.defaultType, ORDER_TYPES);
  if (options.expectedCount !== undefined) wholeOption('--count', options.expectedCount, EXPECTED_COUNT_BOUNDS);
  wholeOption('--timeout (ms)', options.timeoutMs, DURATION_MS_BOUNDS);
  if (options.source !== undefined && !isNatsName(options.source)) throw new OptionsError(`--source ${NATS_NAME_TEXT}`);
  return options;
}

interface BatchSubmitFlags {
  id?: string;
  mode?: BatchMode;
  currency?: string;
  type: OrderType;
  count?: number;
  controlSum?: string;
  source?: string;
  wait: boolean;
  timeout: number;
  quiet?: boolean;
}

export function registerBatchSubmit(program: Command, globals: Globals): void {
  const batch = program.command('batch').description('submit batch payment files');
  batch
    .command('submit <file>')
    .description('publish a batch from CSV, NDJSON or ISO 20022 pain.001 XML, and wait for its report')
    .option('--id <batchId>', 'batch id (default: from the file)', batchIdArg)
    .option('--mode <mode>', 'atomic or independent', choiceArg(BATCH_MODES))
    .option('--currency <ccy>', 'batch currency when the file does not say', currencyArg)
    .option('--type <type>', 'order type for lines without one', choiceArg(ORDER_TYPES), DEFAULT_BATCH_SUBMIT_OPTIONS.defaultType)
    .option('--count <n>', 'expected number of orders (checked before sending)', integerArg(EXPECTED_COUNT_BOUNDS))
    .option('--control-sum <amount>', 'expected sum (checked before sending)', amountArg)
    .option('--source <token>', 'publish as this source: the header on <prefix>.batches.<source>.<id>, the orders on <prefix>.orders.<source> (the batch then takes orders from this source only)', nameArg)
    .option('--no-wait', 'return once published')
    .option('--timeout <d>', 'how long to wait for the report', parseDurationMs, DEFAULT_BATCH_SUBMIT_OPTIONS.timeoutMs)
    .option('--json', 'print the report as JSON')
    .option('--quiet', QUIET_FLAG_HELP)
    .action(async (file: string, f: BatchSubmitFlags) => {
      const g = globals();
      const options = parseBatchSubmitOptions({
        file,
        batchId: f.id,
        mode: f.mode,
        currency: f.currency,
        defaultType: f.type,
        expectedCount: f.count,
        expectedControlSum: f.controlSum,
        source: f.source,
        wait: f.wait,
        timeoutMs: f.timeout,
      });
      await submitBatch(g, options, f.quiet);
    });
}

async function submitBatch(g: GlobalOptions, o: BatchSubmitOptions, quiet = false): Promise<void> {
  const parsed = await readBatchFile(o);
  const { connectNats } = await import('../nats/connect.ts');
  const nc = await connectNats({ url: g.nats, name: 'paystream-batch', auth: g.natsAuth });
  try {
    const id = parsed.header.id;
    const reportSub = nc.subscribe(`${g.prefix}.reports.${id}`, { max: 1 });
    const watched: ProgressOptions = { label: 'batch', unit: 'order', verb: 'published', total: parsed.orders.length, quiet };
    // on a terminal the wait shows the batch's orders being decided: their results are counted from before the first is sent
    const decided = progressShown(watched) && o.wait ? countResults(nc, g.prefix, parsed) : undefined;
    await withProgress(watched, async (progress) => {
      // the header goes first: what was sent after it is orders
      await publishBatch(nc, g.prefix, parsed, o.source, (sent) => progress.update(Math.max(0, sent - 1)));
      progress.finish(`of batch ${id}`);
    });
    if (!o.wait) {
      print(g, { batchId: id, published: parsed.orders.length }, (s: { batchId: string; published: number }) => `published batch ${s.batchId} (${s.published} orders)`);
      return;
    }
    const report = await withProgress({ ...watched, verb: 'decided' }, async (progress) => {
      decided?.onCount((n) => progress.update(n));
      const r = await firstReport(reportSub, o.timeoutMs);
      if (r) progress.finish(`of batch ${id}`);
      return r;
    });
    decided?.stop();
    if (!report) throw new CliError(`no report for batch ${id} within ${o.timeoutMs / 1000} s: is a processor running?`);
    print(g, report, (r: BatchReportView) => reportText(id, r));
    if (report.status !== 'completed') process.exitCode = 1;
  } finally {
    await nc.close();
  }
}

async function readBatchFile(o: BatchSubmitOptions): Promise<BatchFile> {
  const { BatchFileError, parseBatchFile } = await import('../domain/batchfile.ts');
  try {
    return parseBatchFile(await readFile(o.file, 'utf8'), {
      createdAt: new Date().toISOString(),
      fileName: o.file,
      defaultType: o.defaultType,
      ...(o.batchId ? { batchId: o.batchId } : {}),
      ...(o.mode ? { mode: o.mode } : {}),
      ...(o.currency ? { currency: o.currency } : {}),
      ...(o.expectedCount !== undefined ? { expectedCount: o.expectedCount } : {}),
      ...(o.expectedControlSum ? { expectedControlSum: o.expectedControlSum } : {}),
    });
  } catch (error) {
    if (error instanceof BatchFileError) throw new CliError(`${o.file}: ${error.message}`);
    throw error;
  }
}

/** The batch's report, or undefined when none came within the timeout. */
async function firstReport(reportSub: Subscription, timeoutMs: number): Promise<BatchReportView | undefined> {
  const timer = setTimeout(() => reportSub.unsubscribe(), timeoutMs);
  let report: BatchReportView | undefined;
  for await (const m of reportSub) report = m.json();
  clearTimeout(timer);
  return report;
}

/**
 * Counts the batch's orders that have a result (pay.results.<status>.<orderId>), each once. A subscription
 * the broker refuses counts nothing: the bar then waits at 0, and the report still ends the wait.
 */
function countResults(nc: NatsConnection, prefix: string, parsed: BatchFile): { onCount: (tell: (decided: number) => void) => void; stop: () => void } {
  const waiting = new Set(parsed.orders.map((order) => order.id));
  let decided = 0;
  let tell: (decided: number) => void = () => undefined;
  const sub = nc.subscribe(`${prefix}.results.>`, {
    callback: (error, m) => {
      if (error || !waiting.delete(m.subject.slice(m.subject.lastIndexOf('.') + 1))) return;
      tell(++decided);
    },
  });
  return {
    onCount: (t) => {
      tell = t;
      t(decided);
    },
    stop: () => sub.unsubscribe(),
  };
}

/** The header first (de-duplicated by its batch id), then every order (by its own id), unpaced. */
async function publishBatch(nc: NatsConnection, prefix: string, parsed: BatchFile, source: string | undefined, onProgress?: (sent: number) => void): Promise<void> {
  const id = parsed.header.id;
  const enc = new TextEncoder();
  const { pacedPublish } = await import('../nats/loadgen.ts');
  await pacedPublish(
    nc,
    [
      { subject: source ? `${prefix}.batches.${source}.${id}` : `${prefix}.batches.${id}`, payload: parsed.header, msgId: `batch-${id}` },
      ...parsed.orders.map((order) => ({ subject: `${prefix}.orders.${source ?? 'batch'}`, payload: order, msgId: order.id })),
    ],
    (m) => ({ subject: m.subject, data: enc.encode(JSON.stringify(m.payload)), msgId: m.msgId, atMs: 0 }),
    { speed: Number.POSITIVE_INFINITY, ...(onProgress ? { onProgress } : {}) },
  );
}

interface BatchReportView {
  status?: string;
  perStatus?: Record<string, { count: number; amount: string }>;
  reason?: string;
}

function reportText(id: string, r: BatchReportView): string {
  const lines = Object.entries(r.perStatus ?? {}).map(([s, t]) => `  ${s.padEnd(10)} ${String(t.count).padStart(6)}  ${t.amount}`);
  return `batch ${id}: ${r.status}${r.reason ? ` (${r.reason})` : ''}\n${lines.join('\n')}`;
}

interface BatchesList {
  open: { id: string; received: number; header?: { count: number } }[];
  finished: { batchId: string; mode: string; status: string; count: number; received: number; controlSum?: string; currency?: string; perStatus: Record<string, { count: number; amount: string }> }[];
}

export function registerBatches(program: Command, globals: Globals): void {
  const batches = program.command('batches').description('batch payments: open and finished batches');
  batches
    .command('list')
    .option('--json', 'print JSON')
    .action(async () => {
      const g = globals();
      await withLedger(g, async (call) => {
        const out = (await call('batches.list', {})) as BatchesList;
        print(g, out, batchesText);
      });
    });
  batches
    .command('show')
    .argument('<batchId>', "the batch's id", batchIdArg)
    .option('--json', 'print JSON')
    .action(async (batchId: string) => {
      const g = globals();
      await withLedger(g, async (call) => {
        const out = await call('batches.show', { batchId });
        print(g, out, (v: unknown) => JSON.stringify(v, null, 2));
      });
    });
}

function batchesText(v: BatchesList): string {
  const finishedRow = (b: BatchesList['finished'][number]) => [
    b.batchId,
    b.mode,
    b.status,
    `${b.received}/${b.count}`,
    `${b.controlSum ?? ''} ${b.currency ?? ''}`,
    Object.entries(b.perStatus).map(([s, t]) => `${s} ${t.count} (${t.amount})`).join(', '),
  ];
  return [
    `open: ${v.open.length === 0 ? 'none' : ''}`,
    ...v.open.map((b) => `  ${b.id}: ${b.received}/${b.header?.count ?? '?'} orders`),
    `finished: ${v.finished.length === 0 ? 'none' : ''}`,
    ...(v.finished.length ? [table(['batch', 'mode', 'status', 'orders', 'control sum', 'per status'], v.finished.map(finishedRow))] : []),
  ].join('\n');
}
