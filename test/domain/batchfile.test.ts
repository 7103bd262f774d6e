import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BatchFileError,
  type BatchFileOptions,
  CSV_BATCH_HEADER,
  detectBatchFileFormat,
  parseBatchFile,
} from '../../src/domain/batchfile.ts';
import {
  DEMO_CARD_COUNT,
  DEMO_MERCHANT_COUNT,
  DEMO_SEED,
  demoCards,
  demoMerchants,
} from '../../src/domain/generate.ts';
import { validateOrder } from '../../src/domain/order.ts';
import { aValidateContext, TEST_CARD_TOKEN, TEST_NOW_MS, TEST_PANS } from './builders.ts';

const NOW = new Date(TEST_NOW_MS).toISOString();
const opts = (o: Partial<BatchFileOptions> = {}): BatchFileOptions => ({ createdAt: NOW, ...o });
const sample = (name: string): string =>
  readFileSync(new URL(`../../data/samples/${name}`, import.meta.url), 'utf8');
const T = TEST_CARD_TOKEN;

function errorOf(fn: () => unknown): BatchFileError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BatchFileError);
    return err as BatchFileError;
  }
  throw new Error('expected a BatchFileError');
}

function pain001(
  txs: { id: string; amount: string; ccy?: string; card?: string }[],
  grp: { count?: string; sum?: string } = {},
): string {
  const sum = txs.reduce((s, t) => s + Math.round(Number(t.amount) * 100), 0);
  return `<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">
  <CstmrCdtTrfInitn>
    <GrpHdr>
      <MsgId>MSG-1</MsgId>
      <NbOfTxs>${grp.count ?? txs.length}</NbOfTxs>
      <CtrlSum>${grp.sum ?? (sum / 100).toFixed(2)}</CtrlSum>
    </GrpHdr>
    <PmtInf>
      <PmtInfId>P1</PmtInfId>
      <DbtrAcct><Id><Othr><Id>m-acme-001</Id></Othr></Id></DbtrAcct>
${txs
  .map(
    (t) => `      <CdtTrfTxInf>
        <PmtId><EndToEndId>${t.id}</EndToEndId></PmtId>
        <Amt><InstdAmt Ccy="${t.ccy ?? 'USD'}">${t.amount}</InstdAmt></Amt>
        <CdtrAcct><Id><Othr><Id>${t.card ?? T}</Id></Othr></Id></CdtrAcct>
      </CdtTrfTxInf>`,
  )
  .join('\n')}
    </PmtInf>
  </CstmrCdtTrfInitn>
</Document>`;
}

describe('the sample batch files', () => {
  it('parses data/samples/payroll.csv into five payouts with a control sum of their amounts', () => {
    const batch = parseBatchFile(
      sample('payroll.csv'),
      opts({ fileName: 'payroll.csv', batchId: 'payroll-june' }),
    );
    expect(batch.header).toEqual({
      id: 'payroll-june',
      count: 5,
      controlSum: '12521.50',
      currency: 'USD',
      mode: 'independent',
    });
    expect(batch.orders.map((o) => o.type)).toEqual(Array(5).fill('payout'));
    expect(batch.orders[2]).toMatchObject({
      id: 'pr-2026-06-003',
      merchant: 'm-grocery-001',
      amount: '3105.75',
      batchId: 'payroll-june',
      createdAt: NOW,
    });
  });

  it('parses data/samples/settlement.ndjson, taking id, count, sum and mode from its header line', () => {
    const batch = parseBatchFile(sample('settlement.ndjson'), opts({ fileName: 'settlement.ndjson' }));
    expect(batch.header).toEqual({
      id: 'settle-coffee-001-20260601',
      count: 6,
      controlSum: '116.10',
      currency: 'USD',
      mode: 'independent',
    });
    expect(batch.orders.every((o) => o.type === 'payment' && o.batchId === batch.header.id)).toBe(true);
  });

  it('parses data/samples/payroll-pain001.xml: EndToEndId, InstdAmt, creditor card and debtor merchant', () => {
    const batch = parseBatchFile(
      sample('payroll-pain001.xml'),
      opts({ fileName: 'payroll-pain001.xml', mode: 'atomic' }),
    );
    expect(batch.header).toEqual({
      id: 'payroll-electronics-2026-06',
      count: 4,
      controlSum: '12150.39',
      currency: 'USD',
      mode: 'atomic',
    });
    expect(batch.orders[0]).toMatchObject({
      id: 'PR-EL-0001',
      type: 'payout',
      merchant: 'm-electronics-001',
      amount: '2800.00',
      currency: 'USD',
    });
    expect(batch.orders[0]!.card).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives orders that the validate stage accepts, for every sample', () => {
    for (const name of ['payroll.csv', 'settlement.ndjson', 'payroll-pain001.xml']) {
      const batch = parseBatchFile(sample(name), opts({ fileName: name }));
      for (const order of batch.orders) {
        const outcome = validateOrder(order as unknown as Record<string, unknown>, aValidateContext());
        expect(outcome, `${name} ${order.id}`).toMatchObject({ ok: true });
      }
    }
  });

  it('pays demo cards from demo merchants, so they work against the demo ledger', () => {
    const tokens = new Set(demoCards(DEMO_CARD_COUNT, DEMO_SEED).map((c) => c.token));
    const merchants = new Set(demoMerchants(DEMO_MERCHANT_COUNT));
    for (const name of ['payroll.csv', 'settlement.ndjson', 'payroll-pain001.xml']) {
      for (const order of parseBatchFile(sample(name), opts({ fileName: name })).orders) {
        expect(tokens.has(order.card!), `${name} ${order.id}`).toBe(true);
        expect(merchants.has(order.merchant!), `${name} ${order.id}`).toBe(true);
      }
    }
  });
});

const csv = (...rows: string[]): string => [CSV_BATCH_HEADER, ...rows].join('\n');

describe('CSV batches: columns, defaults and rows', () => {
  it('defaults type to payout, the id to <batchId>-<n> and the currency to the option', () => {
    const batch = parseBatchFile(
      `card,merchant,amount\n${T},m-a,10.00\n${T},m-a,5`,
      opts({ batchId: 'b1', currency: 'EUR', format: 'csv' }),
    );
    expect(batch.orders.map((o) => [o.id, o.type, o.currency])).toEqual([
      ['b1-1', 'payout', 'EUR'],
      ['b1-2', 'payout', 'EUR'],
    ]);
    expect(batch.header.controlSum).toBe('15.00');
  });

  it('sends a PAN in the card column as pan, for the processor to tokenize', () => {
    const batch = parseBatchFile(
      csv(`${TEST_PANS.visa[0]},m-a,1.00,USD,payout,x1`),
      opts({ batchId: 'b', format: 'csv' }),
    );
    expect(batch.orders[0]).toMatchObject({ pan: TEST_PANS.visa[0] });
    expect(batch.orders[0]!.card).toBeUndefined();
  });

  it('names the line of a bad amount, counting the header and comments', () => {
    const err = errorOf(() =>
      parseBatchFile(
        `# payroll\n${csv(`${T},m-a,1.00,USD,,`, `${T},m-a,1.0.0,USD,,`)}`,
        opts({ format: 'csv' }),
      ),
    );
    expect(err.line).toBe(4);
    expect(err.message).toMatch(/line 4: amount "1\.0\.0"/);
  });

  it('rejects more decimals than the currency allows, JPY included', () => {
    expect(
      errorOf(() => parseBatchFile(csv(`${T},m-a,1.005,USD,,`), opts({ format: 'csv' }))).message,
    ).toMatch(/more decimals than USD allows/);
    expect(
      errorOf(() => parseBatchFile(csv(`${T},m-a,100.5,JPY,,`), opts({ format: 'csv' }))).message,
    ).toMatch(/JPY allows \(0\)/);
  });

  it('rejects an order in another currency than the batch, a repeated id, an unknown column and a bad card', () => {
    expect(
      errorOf(() => parseBatchFile(csv(`${T},m,1.00,USD,,a`, `${T},m,1.00,EUR,,b`), opts({ format: 'csv' })))
        .message,
    ).toMatch(/line 3: currency EUR differs/);
    expect(
      errorOf(() => parseBatchFile(csv(`${T},m,1.00,USD,,a`, `${T},m,1.00,USD,,a`), opts({ format: 'csv' })))
        .message,
    ).toMatch(/"a" repeats line 2/);
    expect(
      errorOf(() =>
        parseBatchFile(`card,merchant,amount,iban\n${T},m,1.00,x`, opts({ format: 'csv', currency: 'USD' })),
      ).message,
    ).toMatch(/unknown column "iban"/);
    expect(errorOf(() => parseBatchFile(csv('12345,m,1.00,USD,,'), opts({ format: 'csv' }))).line).toBe(2);
  });
});

describe('CSV batches: figures, ids and size', () => {
  it('checks expected count and control sum given as options, naming both figures', () => {
    const text = csv(`${T},m,1.00,USD,,`, `${T},m,2.50,USD,,`);
    expect(
      errorOf(() => parseBatchFile(text, opts({ format: 'csv', expectedControlSum: '3.49' }))).message,
    ).toBe('the expected figures says controlSum 3.49 but the orders add up to 3.50');
    expect(errorOf(() => parseBatchFile(text, opts({ format: 'csv', expectedCount: 3 }))).message).toMatch(
      /count 3 but the file has 2/,
    );
    expect(
      parseBatchFile(text, opts({ format: 'csv', expectedControlSum: '3.5', expectedCount: 2 })).header.count,
    ).toBe(2);
  });

  it('derives a stable batch id from the content when none is given, so a resubmitted file is the same batch', () => {
    const text = csv(`${T},m,1.00,USD,,`);
    const a = parseBatchFile(text, opts({ format: 'csv' }));
    expect(a.header.id).toMatch(/^b-[0-9a-f]{16}$/);
    expect(parseBatchFile(text, opts({ format: 'csv', createdAt: '2030-01-01T00:00:00Z' })).header.id).toBe(
      a.header.id,
    );
  });

  it('refuses an empty batch and one over the maximum size', () => {
    expect(errorOf(() => parseBatchFile(`${CSV_BATCH_HEADER}\n`, opts({ format: 'csv' }))).message).toMatch(
      /no orders/,
    );
    const rows = Array.from({ length: 4 }, () => `${T},m,1.00,USD,,`);
    expect(
      errorOf(() => parseBatchFile(csv(...rows), opts({ format: 'csv', ordersMax: 3 }))).message,
    ).toMatch(/4 orders, more than the maximum of 3/);
  });
});

describe('NDJSON batches', () => {
  const line = (o: Record<string, unknown>): string =>
    JSON.stringify({ type: 'payout', card: T, merchant: 'm', currency: 'USD', ...o });

  it('checks the header line count and control sum against the orders', () => {
    const body = [line({ id: 'a', amount: '1.00' }), line({ id: 'b', amount: '2.00' })];
    const withHeader = (h: object) => [JSON.stringify({ header: h }), ...body].join('\n');
    expect(errorOf(() => parseBatchFile(withHeader({ controlSum: '3.01' }), opts())).message).toBe(
      'the file header says controlSum 3.01 but the orders add up to 3.00',
    );
    expect(errorOf(() => parseBatchFile(withHeader({ count: 3 }), opts())).message).toMatch(
      /count 3 but the file has 2/,
    );
    expect(
      parseBatchFile(withHeader({ id: 'nd1', count: 2, controlSum: '3.00', mode: 'atomic' }), opts()).header,
    ).toEqual({
      id: 'nd1',
      count: 2,
      controlSum: '3.00',
      currency: 'USD',
      mode: 'atomic',
    });
  });

  it('lets the mode option win over the file header', () => {
    const text = [JSON.stringify({ header: { mode: 'atomic' } }), line({ id: 'a', amount: '1.00' })].join(
      '\n',
    );
    expect(parseBatchFile(text, opts({ mode: 'independent' })).header.mode).toBe('independent');
  });

  it('rejects a JSON number amount, a header after orders and bad JSON, with the line', () => {
    expect(errorOf(() => parseBatchFile(line({ id: 'a', amount: 12.5 }), opts())).message).toBe(
      'line 1: amount must be a decimal string, not the JSON number 12.5',
    );
    const late = [line({ id: 'a', amount: '1.00' }), JSON.stringify({ header: {} })].join('\n');
    expect(errorOf(() => parseBatchFile(late, opts())).line).toBe(2);
    expect(errorOf(() => parseBatchFile(`${line({ id: 'a', amount: '1.00' })}\n\n{oops`, opts())).line).toBe(
      3,
    );
  });

  it('rejects an order whose batchId is another batch', () => {
    const text = [
      JSON.stringify({ header: { id: 'b1' } }),
      line({ id: 'a', amount: '1.00', batchId: 'b2' }),
    ].join('\n');
    expect(errorOf(() => parseBatchFile(text, opts())).message).toMatch(/line 2: batchId "b2" differs/);
  });
});

describe('pain.001 batches', () => {
  const txs = [
    { id: 'E2E-1', amount: '1500.00' },
    { id: 'E2E-2', amount: '2500.10' },
  ];

  it('maps the transactions to payouts from the debtor merchant to the creditor cards', () => {
    const batch = parseBatchFile(pain001(txs), opts());
    expect(batch.header).toMatchObject({ id: 'MSG-1', count: 2, controlSum: '4000.10', currency: 'USD' });
    expect(batch.orders[1]).toEqual({
      id: 'E2E-2',
      type: 'payout',
      card: T,
      merchant: 'm-acme-001',
      amount: '2500.10',
      currency: 'USD',
      batchId: 'MSG-1',
      createdAt: NOW,
    });
  });

  it('refuses a file whose CtrlSum differs from the transactions, naming both figures', () => {
    const err = errorOf(() => parseBatchFile(pain001(txs, { sum: '4000.11' }), opts()));
    expect(err.message).toBe(
      'line 4: pain.001: GrpHdr: CtrlSum says 4000.11 but the transactions add up to 4000.1',
    );
  });

  it('refuses a file whose NbOfTxs differs from the transactions, naming both figures', () => {
    expect(errorOf(() => parseBatchFile(pain001(txs, { count: '3' }), opts())).message).toMatch(
      /NbOfTxs says 3 but the file has 2 transactions/,
    );
  });

  it('names the line of a bad transaction and refuses mixed currencies', () => {
    const err = errorOf(() =>
      parseBatchFile(pain001([txs[0]!, { id: 'E2E-2', amount: '12,50' }], { sum: '1500.00' }), opts()),
    );
    expect(err.message).toMatch(/amount "12,50"/);
    expect(err.line).toBe(17);
    expect(
      errorOf(() => parseBatchFile(pain001([txs[0]!, { id: 'E2E-2', amount: '1.00', ccy: 'EUR' }]), opts()))
        .message,
    ).toMatch(/currency EUR differs from the batch currency USD/);
  });

  it('reports malformed XML with its line', () => {
    const err = errorOf(() =>
      parseBatchFile('<Document>\n<CstmrCdtTrfInitn>\n</Document>', opts({ format: 'pain001' })),
    );
    expect(err.message).toMatch(/not well-formed XML/);
    expect(err.line).toBeGreaterThan(0);
  });

  it('falls back to a derived id for EndToEndId NOTPROVIDED', () => {
    const batch = parseBatchFile(pain001([{ id: 'NOTPROVIDED', amount: '1.00' }]), opts({ batchId: 'bx' }));
    expect(batch.orders[0]!.id).toBe('bx-1');
  });
});

describe('pain.001 batches of several PmtInf blocks', () => {
  it('counts transaction lines across PmtInf blocks, and checks each block after the group header', () => {
    const tx = (id: string, amount: string): string =>
      `<CdtTrfTxInf><PmtId><EndToEndId>${id}</EndToEndId></PmtId>` +
      `<Amt><InstdAmt Ccy="USD">${amount}</InstdAmt></Amt>` +
      `<CdtrAcct><Id><Othr><Id>${T}</Id></Othr></Id></CdtrAcct></CdtTrfTxInf>`;
    const block = (merchant: string, count: string, txLines: string[]): string =>
      [
        `<PmtInf><NbOfTxs>${count}</NbOfTxs>`,
        `<DbtrAcct><Id><Othr><Id>${merchant}</Id></Othr></Id></DbtrAcct>`,
        ...txLines,
        '</PmtInf>',
      ].join('\n');
    const doc = (secondAmount: string, secondCount: string): string =>
      [
        '<Document><CstmrCdtTrfInitn>',
        '<GrpHdr><MsgId>MSG-2</MsgId><NbOfTxs>3</NbOfTxs></GrpHdr>',
        block('m-a', '1', [tx('E-1', '1.00')]),
        block('m-b', secondCount, [tx('E-2', '2.00'), tx('E-3', secondAmount)]),
        '</CstmrCdtTrfInitn></Document>',
      ].join('\n');
    const batch = parseBatchFile(doc('3.00', '2'), opts());
    expect(batch.orders.map((o) => [o.id, o.merchant, o.amount])).toEqual([
      ['E-1', 'm-a', '1.00'],
      ['E-2', 'm-b', '2.00'],
      ['E-3', 'm-b', '3.00'],
    ]);
    const bad = errorOf(() => parseBatchFile(doc('3,00', '2'), opts()));
    expect(bad.message).toMatch(/amount "3,00"/);
    expect(bad.line).toBe(10);
    expect(errorOf(() => parseBatchFile(doc('3.00', '5'), opts())).message).toMatch(
      /PmtInf 2: NbOfTxs says 5 but the file has 2 transactions/,
    );
  });
});

describe('format detection', () => {
  it('goes by the file name, then by the first character', () => {
    expect(detectBatchFileFormat('', 'a.CSV')).toBe('csv');
    expect(detectBatchFileFormat('', 'a.jsonl')).toBe('ndjson');
    expect(detectBatchFileFormat('', 'a.xml')).toBe('pain001');
    expect(detectBatchFileFormat('\uFEFF  <?xml version="1.0"?>')).toBe('pain001');
    expect(detectBatchFileFormat('{"header":{}}')).toBe('ndjson');
    expect(detectBatchFileFormat('card,merchant,amount')).toBe('csv');
  });
});
