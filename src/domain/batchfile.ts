// Batch files (CSV, NDJSON, ISO 20022 pain.001) parsed into a batch header and wire orders, checked first.
// Pure: the file text and options come in, a batch or a BatchFileError (with the line) comes out.
import { createHash } from 'node:crypto';
import { parse as parseCsv } from 'csv-parse/sync';
import { Decimal } from 'decimal.js';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { currencyExponent, parseAmount } from './money.ts';
import { ORDER_TYPES, type OrderType, WIRE_ORDER_FIELDS } from './types.ts';
import { BATCH_MODES, BATCH_ORDERS_MAX_DEFAULT, type BatchMode } from './batch-limits.ts';

export { BATCH_MODES, type BatchMode };

/** The batch header as published on `<prefix>.batches.<batchId>`. */
export interface WireBatchHeader {
  id: string;
  count: number;
  /** decimal string: the sum of the orders' amounts */
  controlSum: string;
  currency: string;
  mode: BatchMode;
}

/** An order as it travels on `<prefix>.orders.<source>` (the external wire contract). */
export interface WireOrder {
  id: string;
  type: OrderType;
  /** 64-hex card token */
  card?: string;
  /** a raw PAN, tokenized by the processor on arrival; never together with `card` */
  pan?: string;
  merchant?: string;
  /** decimal string, at most the currency's exponent in decimals */
  amount?: string;
  currency?: string;
  ref?: string;
  batchId?: string;
  /** ISO 8601 */
  createdAt: string;
  mcc?: string;
  country?: string;
}

export interface BatchFile {
  header: WireBatchHeader;
  orders: WireOrder[];
}

export type BatchFileFormat = 'csv' | 'ndjson' | 'pain001';

export class BatchFileError extends Error {
  override readonly name = 'BatchFileError';
  /** 1-based line in the file, when the problem has one */
  readonly line: number | undefined;
  constructor(message: string, line?: number) {
    super(line === undefined ? message : `line ${line}: ${message}`);
    this.line = line;
  }
}

/**
 * The CSV header line: one order a line. `card` holds a 64-hex card token or a PAN (sent as `pan`, tokenized
 * on arrival); `type` defaults to `payout` (payroll), `currency` to the batch currency, `id` to
 * `<batchId>-<n>`. Columns may come in any order; `ref`, `mcc`, `country` and `createdAt` are also accepted.
 */
export const CSV_BATCH_HEADER = 'card,merchant,amount,currency,type,id';
const CSV_COLUMNS_KNOWN = new Set([
  'card',
  'pan',
  'merchant',
  'amount',
  'currency',
  'type',
  'id',
  'ref',
  'mcc',
  'country',
  'createdAt',
]);

export interface BatchFileOptions {
  /** `createdAt` of every order that has none (ISO 8601); the caller's clock, so this stays pure */
  createdAt: string;
  /** @default the file's own id (NDJSON header, pain.001 MsgId) or `b-` + 16 hex of the file's SHA-256 */
  batchId?: string;
  /** @default the file's own mode (NDJSON header), else 'independent'; this option wins over the file */
  mode?: BatchMode;
  /** @default detected from fileName, then from the content */
  format?: BatchFileFormat;
  fileName?: string;
  /** batch currency when neither the file header nor the first order gives one */
  currency?: string;
  /** order type where a CSV or NDJSON line has none @default 'payout' */
  defaultType?: OrderType;
  /** checked like a header's count (e.g. `--count` on the CLI for a CSV file) */
  expectedCount?: number;
  /** checked like a header's control sum (e.g. `--control-sum` for a CSV file) */
  expectedControlSum?: string;
  /** @default BATCH_ORDERS_MAX_DEFAULT (the processor's default batchOrdersMax) */
  ordersMax?: number;
}

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const TOKEN_RE = /^[0-9a-f]{64}$/i;
const PAN_RE = /^\d(?:[ -]?\d){11,18}$/;
const DECIMAL_RE = /^(?:0|[1-9]\d*)(?:\.\d+)?$/;
const CURRENCY_RE = /^[A-Z]{3}$/;

export function detectBatchFileFormat(text: string, fileName?: string): BatchFileFormat {
  const lower = fileName?.toLowerCase() ?? '';
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.ndjson') || lower.endsWith('.jsonl')) return 'ndjson';
  if (lower.endsWith('.xml')) return 'pain001';
  const start = text.replace(/^\uFEFF/, '').trimStart();
  if (start.startsWith('<')) return 'pain001';
  if (start.startsWith('{')) return 'ndjson';
  return 'csv';
}

/** Parses and checks a batch file; throws BatchFileError naming the line (and both figures on a mismatch). */
export function parseBatchFile(text: string, options: BatchFileOptions): BatchFile {
  const format = options.format ?? detectBatchFileFormat(text, options.fileName);
  switch (format) {
    case 'csv':
      return parseCsvBatch(text, options);
    case 'ndjson':
      return parseNdjsonBatch(text, options);
    case 'pain001':
      return parsePain001Batch(text, options);
  }
}

interface Draft {
  line: number | undefined;
  order: Omit<WireOrder, 'id' | 'createdAt'> & { id?: string; createdAt?: string };
}

interface FileHeader {
  id?: string;
  count?: number;
  controlSum?: string;
  currency?: string;
  mode?: BatchMode;
}

export function parseCsvBatch(text: string, options: BatchFileOptions): BatchFile {
  let rows: { record: Record<string, string>; info: { lines: number } }[];
  try {
    rows = parseCsv(text, {
      bom: true,
      columns: (names: string[]) => names.map((n) => n.trim()),
      comment: '#',
      skip_empty_lines: true,
      trim: true,
      info: true,
    }) as unknown as typeof rows;
  } catch (err) {
    const line = (err as { lines?: number }).lines;
    throw new BatchFileError(`not valid CSV: ${(err as Error).message}`, line);
  }
  const headerLine =
    text
      .replace(/^\uFEFF/, '')
      .split('\n')
      .findIndex((l) => l.trim() !== '' && !l.startsWith('#')) + 1;
  const first = rows[0];
  if (first === undefined)
    throw new BatchFileError(`no orders (expected a header line "${CSV_BATCH_HEADER}")`);
  const columns = Object.keys(first.record);
  for (const c of columns) {
    if (!CSV_COLUMNS_KNOWN.has(c)) {
      throw new BatchFileError(`unknown column "${c}" (expected "${CSV_BATCH_HEADER}")`, headerLine);
    }
  }
  for (const required of ['merchant', 'amount']) {
    if (!columns.includes(required)) {
      throw new BatchFileError(`missing column "${required}" (expected "${CSV_BATCH_HEADER}")`, headerLine);
    }
  }
  if (!columns.includes('card') && !columns.includes('pan')) {
    throw new BatchFileError(`missing column "card" (expected "${CSV_BATCH_HEADER}")`, headerLine);
  }
  const drafts: Draft[] = rows.map(({ record, info }) => {
    const line = info.lines;
    const order: Draft['order'] = {
      type: orderType(record.type || undefined, options, line),
      ...cardField(record.card || record.pan || '', line),
      merchant: record.merchant,
      amount: record.amount,
    };
    for (const key of ['id', 'currency', 'ref', 'mcc', 'country', 'createdAt'] as const) {
      const value = record[key];
      if (value) order[key] = value;
    }
    return { line, order };
  });
  return finish(text, drafts, {}, options);
}

export function parseNdjsonBatch(text: string, options: BatchFileOptions): BatchFile {
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  let fileHeader: FileHeader = {};
  let headerSeen = false;
  const drafts: Draft[] = [];
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      throw new BatchFileError('not valid JSON', line);
    }
    if (!isRecord(value)) throw new BatchFileError('expected a JSON object', line);
    if ('header' in value) {
      if (drafts.length > 0 || headerSeen)
        throw new BatchFileError('the header object must be the first line', line);
      headerSeen = true;
      fileHeader = readNdjsonHeader(value.header, line);
      return;
    }
    const order: Draft['order'] = { type: orderType(value.type, options, line) };
    for (const key of WIRE_ORDER_FIELDS) {
      if (key === 'type') continue; // read above
      const v = value[key];
      if (v === undefined || v === null) continue;
      if (key === 'amount' && typeof v === 'number') {
        throw new BatchFileError(`amount must be a decimal string, not the JSON number ${v}`, line);
      }
      if (typeof v !== 'string') throw new BatchFileError(`${key} must be a string`, line);
      order[key] = v;
    }
    if (order.card !== undefined && order.pan !== undefined) {
      throw new BatchFileError('give either card or pan, not both', line);
    }
    if (order.card === undefined && order.pan === undefined) throw new BatchFileError('missing card', line);
    if (order.card !== undefined) Object.assign(order, cardField(order.card, line));
    drafts.push({ line, order });
  });
  return finish(text, drafts, fileHeader, options);
}

function readNdjsonHeader(value: unknown, line: number): FileHeader {
  if (!isRecord(value)) throw new BatchFileError('header must be an object', line);
  const header: FileHeader = {};
  if (value.id !== undefined) header.id = stringField(value.id, 'header.id', line);
  if (value.currency !== undefined) header.currency = stringField(value.currency, 'header.currency', line);
  if (value.controlSum !== undefined) {
    if (typeof value.controlSum === 'number') {
      throw new BatchFileError(
        `header.controlSum must be a decimal string, not the JSON number ${value.controlSum}`,
        line,
      );
    }
    header.controlSum = stringField(value.controlSum, 'header.controlSum', line);
  }
  if (value.count !== undefined) {
    if (typeof value.count !== 'number' || !Number.isSafeInteger(value.count) || value.count < 0) {
      throw new BatchFileError('header.count must be a non-negative integer', line);
    }
    header.count = value.count;
  }
  if (value.mode !== undefined) {
    if (!BATCH_MODES.includes(value.mode as BatchMode)) {
      throw new BatchFileError(`header.mode must be one of ${BATCH_MODES.join(', ')}`, line);
    }
    header.mode = value.mode as BatchMode;
  }
  return header;
}

export function parsePain001Batch(text: string, options: BatchFileOptions): BatchFile {
  const root = readPain001Root(text);
  const grpHdr = root.GrpHdr;
  if (!isRecord(grpHdr)) throw new BatchFileError('pain.001: missing GrpHdr');
  const nbOfTxs = xmlText(grpHdr.NbOfTxs);
  if (nbOfTxs === undefined || !/^\d{1,15}$/.test(nbOfTxs)) {
    throw new BatchFileError(
      'pain.001: GrpHdr/NbOfTxs is missing or not a number',
      tagLines(text, 'NbOfTxs')[0],
    );
  }
  const drafts: Draft[] = [];
  const pmtChecks: (() => void)[] = [];
  const pmtLines = tagLines(text, 'PmtInf');
  const txLines = tagLines(text, 'CdtTrfTxInf');
  const pmtInfs = Array.isArray(root.PmtInf) ? root.PmtInf : [];
  pmtInfs.forEach((pmtInf: unknown, pmtIndex) => {
    const pmtLine = pmtLines[pmtIndex];
    const payment = readPaymentInfo(pmtInf, pmtLine, txLines.slice(drafts.length));
    const where = `pain.001: PmtInf ${pmtIndex + 1}`;
    pmtChecks.push(() => checkFigures(where, payment.drafts, payment.count, payment.sum, pmtLine));
    drafts.push(...payment.drafts);
  });
  // The group header is checked against the transactions first, before anything else is returned.
  checkFigures('pain.001: GrpHdr', drafts, nbOfTxs, xmlText(grpHdr.CtrlSum), tagLines(text, 'GrpHdr')[0]);
  for (const check of pmtChecks) check();
  const msgId = xmlText(grpHdr.MsgId);
  const fileHeader: FileHeader = {};
  if (msgId !== undefined && ID_RE.test(msgId)) fileHeader.id = msgId;
  return finish(text, drafts, fileHeader, options);
}

/** The CstmrCdtTrfInitn element of a well-formed pain.001 document. */
function readPain001Root(text: string): Record<string, unknown> {
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new BatchFileError(`not well-formed XML: ${valid.err.msg}`, valid.err.line);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    removeNSPrefix: true,
    // Amounts stay strings: a parsed number would lose "1500.10" vs "1500.1" and invite floats.
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    isArray: (name) => name === 'PmtInf' || name === 'CdtTrfTxInf',
  });
  const doc = parser.parse(text) as Record<string, unknown>;
  const root = isRecord(doc.Document) ? doc.Document.CstmrCdtTrfInitn : undefined;
  if (!isRecord(root)) throw new BatchFileError('not a pain.001 file: no Document/CstmrCdtTrfInitn');
  return root;
}

/** One PmtInf: its transactions as payouts from the paying merchant, and the figures it claims for them. */
function readPaymentInfo(
  pmtInf: unknown,
  pmtLine: number | undefined,
  txLines: readonly number[],
): { drafts: Draft[]; count: string | undefined; sum: string | undefined } {
  if (!isRecord(pmtInf)) throw new BatchFileError('pain.001: PmtInf is empty', pmtLine);
  const merchant = accountId(pmtInf.DbtrAcct);
  if (merchant === undefined) {
    throw new BatchFileError(
      'pain.001: PmtInf has no DbtrAcct/Id (Othr/Id or IBAN), the paying merchant',
      pmtLine,
    );
  }
  const txs = Array.isArray(pmtInf.CdtTrfTxInf) ? pmtInf.CdtTrfTxInf : [];
  const drafts = txs.map((tx: unknown, i) => readCreditTransfer(tx, merchant, txLines[i]));
  return { drafts, count: xmlText(pmtInf.NbOfTxs), sum: xmlText(pmtInf.CtrlSum) };
}

/** One CdtTrfTxInf: a payout to the creditor's card token. */
function readCreditTransfer(tx: unknown, merchant: string, line: number | undefined): Draft {
  if (!isRecord(tx)) throw new BatchFileError('pain.001: CdtTrfTxInf is empty', line);
  const pmtId = isRecord(tx.PmtId) ? tx.PmtId : {};
  const endToEnd = xmlText(pmtId.EndToEndId);
  const instdAmt = isRecord(tx.Amt) ? tx.Amt.InstdAmt : undefined;
  const amount = isRecord(instdAmt) ? xmlText(instdAmt['#text']) : xmlText(instdAmt);
  const currency = isRecord(instdAmt) ? xmlText(instdAmt['@Ccy']) : undefined;
  if (amount === undefined) throw new BatchFileError('pain.001: CdtTrfTxInf has no Amt/InstdAmt', line);
  if (currency === undefined) throw new BatchFileError('pain.001: InstdAmt has no Ccy attribute', line);
  const creditor = accountId(tx.CdtrAcct);
  if (creditor === undefined) {
    throw new BatchFileError('pain.001: CdtTrfTxInf has no CdtrAcct/Id/Othr/Id (the card token)', line);
  }
  const order: Draft['order'] = {
    type: 'payout',
    ...cardField(creditor, line),
    merchant,
    amount,
    currency,
  };
  // NOTPROVIDED is the standard's way of saying "no end-to-end id": fall back to the derived id.
  if (endToEnd !== undefined && endToEnd !== 'NOTPROVIDED') order.id = endToEnd;
  return { line, order };
}

function checkFigures(
  where: string,
  drafts: Draft[],
  count: string | undefined,
  sum: string | undefined,
  line: number | undefined,
): void {
  if (count !== undefined && Number(count) !== drafts.length) {
    throw new BatchFileError(
      `${where}: NbOfTxs says ${count} but the file has ${drafts.length} transactions`,
      line,
    );
  }
  if (sum !== undefined) {
    if (!DECIMAL_RE.test(sum))
      throw new BatchFileError(`${where}: CtrlSum "${sum}" is not a decimal number`, line);
    const actual = sumAmounts(drafts);
    if (!actual.equals(new Decimal(sum))) {
      throw new BatchFileError(
        `${where}: CtrlSum says ${sum} but the transactions add up to ${actual.toFixed()}`,
        line,
      );
    }
  }
}

function sumAmounts(drafts: Draft[]): Decimal {
  let total = new Decimal(0);
  for (const { line, order } of drafts) {
    if (order.amount === undefined || !DECIMAL_RE.test(order.amount)) {
      throw new BatchFileError(
        `amount "${order.amount ?? ''}" is not a positive decimal string like 12.50`,
        line,
      );
    }
    total = total.plus(order.amount);
  }
  return total;
}

/** Shared checks and defaults for every format: ids, currency, amounts, count and control sum. */
function finish(text: string, drafts: Draft[], fileHeader: FileHeader, options: BatchFileOptions): BatchFile {
  const ordersMax = options.ordersMax ?? BATCH_ORDERS_MAX_DEFAULT;
  if (drafts.length === 0) throw new BatchFileError('the batch has no orders');
  if (drafts.length > ordersMax) {
    throw new BatchFileError(`the batch has ${drafts.length} orders, more than the maximum of ${ordersMax}`);
  }
  const id =
    options.batchId ?? fileHeader.id ?? `b-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
  if (!ID_RE.test(id)) throw new BatchFileError(`batch id "${id}" is not 1-64 of A-Za-z0-9_-`);
  const mode = options.mode ?? fileHeader.mode ?? 'independent';
  const currency = fileHeader.currency ?? drafts[0]?.order.currency ?? options.currency;
  if (currency === undefined) throw new BatchFileError('no currency: give a currency column or option');
  if (!CURRENCY_RE.test(currency)) throw new BatchFileError(`currency "${currency}" is not an ISO 4217 code`);
  const exponent = currencyExponent(currency);
  if (exponent === undefined)
    throw new BatchFileError(`currency ${currency} is not an ISO 4217 code paystream knows`);
  if (!Number.isSafeInteger(Date.parse(options.createdAt))) {
    throw new BatchFileError(`createdAt option "${options.createdAt}" is not an ISO 8601 time`);
  }

  const seen = new Map<string, number | undefined>();
  const orders = drafts.map(({ line, order }, index): WireOrder => {
    const orderId = order.id ?? `${id}-${index + 1}`;
    if (!ID_RE.test(orderId))
      throw new BatchFileError(`order id "${orderId}" is not 1-64 of A-Za-z0-9_-`, line);
    if (seen.has(orderId)) {
      const earlier = seen.get(orderId);
      throw new BatchFileError(
        `order id "${orderId}" repeats ${earlier === undefined ? 'an earlier order' : `line ${earlier}`}`,
        line,
      );
    }
    seen.set(orderId, line);
    if (order.batchId !== undefined && order.batchId !== id) {
      throw new BatchFileError(`batchId "${order.batchId}" differs from the batch id "${id}"`, line);
    }
    const orderCurrency = order.currency ?? currency;
    if (orderCurrency !== currency) {
      throw new BatchFileError(`currency ${orderCurrency} differs from the batch currency ${currency}`, line);
    }
    const amount = order.amount;
    const parsed = parseAmount(amount, currency);
    if (amount === undefined || !parsed.ok) {
      const why =
        !parsed.ok && parsed.reason === 'amount_too_precise'
          ? `has more decimals than ${currency} allows (${exponent})`
          : 'is not a positive decimal string like 12.50';
      throw new BatchFileError(`amount "${amount ?? ''}" ${why}`, line);
    }
    if (order.merchant === undefined || order.merchant === '')
      throw new BatchFileError('missing merchant', line);
    // fields in the wire contract's order; createdAt is set below
    const wire = { id: orderId, type: order.type } as WireOrder;
    if (order.card !== undefined) wire.card = order.card;
    if (order.pan !== undefined) wire.pan = order.pan;
    wire.merchant = order.merchant;
    wire.amount = amount;
    wire.currency = currency;
    if (order.ref !== undefined) wire.ref = order.ref;
    wire.batchId = id;
    wire.createdAt = order.createdAt ?? options.createdAt;
    if (order.mcc !== undefined) wire.mcc = order.mcc;
    if (order.country !== undefined) wire.country = order.country;
    return wire;
  });

  const controlSum = sumAmounts(drafts).toFixed(exponent);
  const expectations: [string, number | undefined, string | undefined][] = [
    ['the file header', fileHeader.count, fileHeader.controlSum],
    ['the expected figures', options.expectedCount, options.expectedControlSum],
  ];
  for (const [source, count, sum] of expectations) {
    if (count !== undefined && count !== orders.length) {
      throw new BatchFileError(`${source} says count ${count} but the file has ${orders.length} orders`);
    }
    if (sum !== undefined && (!DECIMAL_RE.test(sum) || !new Decimal(sum).equals(controlSum))) {
      throw new BatchFileError(`${source} says controlSum ${sum} but the orders add up to ${controlSum}`);
    }
  }
  return { header: { id, count: orders.length, controlSum, currency, mode }, orders };
}

function orderType(value: unknown, options: BatchFileOptions, line: number | undefined): OrderType {
  if (value === undefined || value === null || value === '') return options.defaultType ?? 'payout';
  if (typeof value !== 'string' || !ORDER_TYPES.includes(value as OrderType)) {
    throw new BatchFileError(`type "${String(value)}" is not one of ${ORDER_TYPES.join(', ')}`, line);
  }
  return value as OrderType;
}

/** A 64-hex value is a card token; 12-19 digits (spaces or dashes allowed) a PAN, sent as `pan`. */
function cardField(value: string, line: number | undefined): { card: string } | { pan: string } {
  if (TOKEN_RE.test(value)) return { card: value.toLowerCase() };
  if (PAN_RE.test(value)) return { pan: value.replace(/[ -]/g, '') };
  throw new BatchFileError('card must be a 64-hex card token or a 12-19 digit PAN', line);
}

function accountId(acct: unknown): string | undefined {
  if (!isRecord(acct) || !isRecord(acct.Id)) return undefined;
  const othr = acct.Id.Othr;
  return (isRecord(othr) ? xmlText(othr.Id) : undefined) ?? xmlText(acct.Id.IBAN);
}

function xmlText(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

/** 1-based lines of every opening tag `name`, with or without a namespace prefix, in one pass. */
function tagLines(text: string, name: string): number[] {
  const re = new RegExp(`<(?:[A-Za-z0-9_.-]+:)?${name}[\\s>/]`, 'g');
  const lines: number[] = [];
  let line = 1;
  let pos = 0;
  for (let match = re.exec(text); match !== null; match = re.exec(text)) {
    for (; pos < match.index; pos++) if (text.charCodeAt(pos) === 10) line++;
    lines.push(line);
  }
  return lines;
}

function stringField(value: unknown, name: string, line: number): string {
  if (typeof value !== 'string' || value === '')
    throw new BatchFileError(`${name} must be a non-empty string`, line);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
