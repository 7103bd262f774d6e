// The per-message guard in each stage: a message whose handling throws (made to, through the test seam, or
// by a scrub or risk engine that fails) becomes its own internal_error outcome; the messages before and
// after it in the same buffer get their usual results, and the ledger stays consistent.

import type { NatsConnection, PublishOptions } from 'nats';
import { from, lastValueFrom, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { tokenizePan } from '../../src/domain/cards.ts';
import { DEFAULT_APPLY_OPTIONS, WorkingSet } from '../../src/domain/apply.ts';
import type { Order } from '../../src/domain/types.ts';
import type { LedgerStore } from '../../src/ledger/store.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { DEFAULT_BATCH_LIMITS } from '../../src/domain/batch-limits.ts';
import { BatchTracker } from '../../src/ledger/batches.ts';
import { log } from '../../src/log.ts';
import { natsPublisher } from '../../src/nats/results.ts';
import { scrubPayload } from '../../src/recording/scrub.ts';
import { type ApplyDeps, applyStage } from '../../streams/apply.ts';
import { decode } from '../../streams/decode.ts';
import {
  DEAD_LETTER_PREFIX_BYTES_MAX,
  type FaultHook,
  InjectedFault,
  deadLetterOf,
  faultsFromSpec,
  payloadPrefix,
} from '../../streams/guard.ts';
import type { AppliedBuffer, DeadLetter, InboundMessage, Item } from '../../streams/types.ts';
import { validate } from '../../streams/validate.ts';
import { TEST_CARD_TOKEN, TEST_NOW_MS, TEST_PANS, TEST_TOKEN_KEY, aWireOrder } from '../domain/builders.ts';
import { aCard, aFundingAccount, aMerchant, anAccount, aTempStore, removeDataDir } from '../ledger/builders.ts';
import type { RiskEvaluator } from '../../src/domain/risk/decision.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();
const PAN = TEST_PANS.visa[0];

let seq = 100;
const msg = (payload: unknown, subject = 'pay.orders.test'): InboundMessage => ({
  subject,
  data: enc.encode(typeof payload === 'string' ? payload : JSON.stringify(payload)),
  receivedAtMs: TEST_NOW_MS,
  streamSeq: ++seq,
});

/** A hook that throws at `stage` for `orderId`, as a bug in that stage would. */
const faultAt = (stage: string, orderId: string): FaultHook => faultsFromSpec(`${stage}:${orderId}`)!;

describe('faultsFromSpec (PAYSTREAM_TEST_FAULT)', () => {
  it('throws InjectedFault at the named stage for the named order only', () => {
    const hook = faultsFromSpec('apply:o2, validate:o5')!;
    expect(() => hook('apply', 'o2')).toThrow(InjectedFault);
    expect(() => hook('validate', 'o5')).toThrow('injected fault in validate for order o5');
    expect(() => hook('apply', 'o5')).not.toThrow();
    expect(() => hook('decode', 'o2')).not.toThrow();
    expect(() => hook('apply', undefined)).not.toThrow();
  });

  it('is no hook when unset or empty, and an error when it cannot be read', () => {
    expect(faultsFromSpec(undefined)).toBeUndefined();
    expect(faultsFromSpec(' ')).toBeUndefined();
    for (const bad of ['apply', 'commit:o1', 'apply:', 'apply:o1:x', ':o1']) {
      expect(() => faultsFromSpec(bad)).toThrow(/PAYSTREAM_TEST_FAULT/);
    }
  });
});

describe('decode stage guard', () => {
  it('dead-letters the message whose decoding throws as internal_error, with its stream sequence, and decodes its neighbours', async () => {
    const messages = [msg(aWireOrder({ id: 'd1' })), msg(aWireOrder({ id: 'd2' })), msg(aWireOrder({ id: 'd3' }))];
    const errors = vi.spyOn(log(), 'error').mockImplementation(() => undefined);
    try {
      const out = await lastValueFrom(from(messages).pipe(decode({ payloadBytesMax: 8192 }, 'pay.batches.', faultAt('decode', 'd2')), toArray()));
      expect(out.map((d) => (d.kind === 'dead' ? d.reason : d.kind))).toEqual(['decoded', 'internal_error', 'decoded']);
      expect(out[1]).toMatchObject({ detail: `decode failed at stream sequence ${messages[1]!.streamSeq} (InjectedFault)` });
      // logged once, without the payload
      expect(errors).toHaveBeenCalledTimes(1);
      expect(JSON.stringify(errors.mock.calls[0])).not.toContain('"d2"');
    } finally {
      errors.mockRestore();
    }
  });

  it('dead-letters the issue poison as too_deep at decode', async () => {
    const poison = msg(`{"id":"p1","amount":"bad","extra":${'['.repeat(3000)}${']'.repeat(3000)}}`);
    const [out] = await lastValueFrom(from([poison]).pipe(decode({ payloadBytesMax: 8192 }, 'pay.batches.'), toArray()));
    expect(out).toMatchObject({ kind: 'dead', reason: 'too_deep' });
  });
});

describe('validate stage guard', () => {
  const options = { tokenizePan: (pan: string) => tokenizePan(pan, TEST_TOKEN_KEY), clock: () => TEST_NOW_MS, futureSkewMs: 30_000 };

  it('rejects the order whose validation throws as internal_error and validates its neighbours', async () => {
    const messages = [msg(aWireOrder({ id: 'v1' })), msg(aWireOrder({ id: 'v2' })), msg(aWireOrder({ id: 'v3' }))];
    const errors = vi.spyOn(log(), 'error').mockImplementation(() => undefined);
    try {
      const out = await lastValueFrom(
        from(messages).pipe(decode({ payloadBytesMax: 8192 }, 'pay.batches.'), validate({ ...options, faults: faultAt('validate', 'v2') }), toArray()),
      );
      expect(out.map((i) => i.kind)).toEqual(['order', 'rejected', 'order']);
      expect(out[1]).toMatchObject({
        orderId: 'v2',
        reason: 'internal_error',
        message: `validate failed at stream sequence ${messages[1]!.streamSeq} (InjectedFault)`,
      });
      expect(errors).toHaveBeenCalledTimes(1);
    } finally {
      errors.mockRestore();
    }
  });
});

describe('payloadPrefix', () => {
  it('keeps a payload within the limit whole', () => {
    const data = enc.encode('{"id":"a"}');
    expect(payloadPrefix(data, 10)).toBe(data);
  });

  it('cuts at the limit when the cut falls between runs', () => {
    expect(dec.decode(payloadPrefix(enc.encode('{"id":"abc","x":1}'), 11))).toBe('{"id":"abc"');
  });

  it.each([
    ['plain digits', `{"n":"${PAN}"}`],
    ['digits grouped by spaces', `{"n":"${PAN.match(/.{4}/g)!.join(' ')}"}`],
    ['digits grouped by dots', `{"n":"${PAN.match(/.{4}/g)!.join('.')}"}`],
    ['digits grouped by escaped no-break spaces', `{"n":"${PAN.match(/.{4}/g)!.join('\\u00a0')}"}`],
    ['digits touching letters', `{"n":"xx${PAN}yy"}`],
  ])('never splits a PAN written as %s: the cut moves back to where its run starts', (_what, text) => {
    const start = text.indexOf(':"') + 2;
    for (let cut = start + 1; cut < text.length - 2; cut++) {
      expect(dec.decode(payloadPrefix(enc.encode(text), cut))).toBe('{"n":"');
    }
  });

  it('never splits a multi-byte character', () => {
    const data = enc.encode('{"n":"ééé"}');
    expect(dec.decode(payloadPrefix(data, 8))).toBe('{"n":"');
  });
});

describe('deadLetterOf', () => {
  const scrub = (p: Uint8Array) => enc.encode(scrubPayload(dec.decode(p)));

  it('keeps a scrubbed prefix of at most 1 KiB for internal_error, too_large and too_deep, and the whole payload otherwise', () => {
    const big = msg(`{"id":"a","pan":"${PAN}","memo":"${'x'.repeat(3000)}"}`);
    for (const reason of ['internal_error', 'too_large', 'too_deep'] as const) {
      const letter = deadLetterOf(scrub, big, reason, 'd');
      expect(letter.payload.byteLength).toBeLessThanOrEqual(DEAD_LETTER_PREFIX_BYTES_MAX);
      expect(dec.decode(letter.payload)).not.toContain(PAN);
      expect(dec.decode(letter.payload).startsWith('{"id":"a"')).toBe(true);
    }
    const whole = deadLetterOf(scrub, msg(`{"id":"a","pan":"${PAN}","amount":12}`), 'amount_not_string', 'd', 'a');
    expect(dec.decode(whole.payload)).toBe('{"id":"a","pan":"[PAN REDACTED]","amount":12}');
    expect(whole).toMatchObject({ reason: 'amount_not_string', orderId: 'a', streamSeq: seq });
  });

  it('withholds the payload when the scrub throws: an internal_error letter that keeps the first reason in its detail', () => {
    const errors = vi.spyOn(log(), 'error').mockImplementation(() => undefined);
    try {
      const m = msg(`{"id":"a","pan":"${PAN}"}`);
      const letter = deadLetterOf(() => { throw new RangeError('Maximum call stack size exceeded'); }, m, 'invalid_amount', 'amount: bad', 'a');
      expect(letter).toMatchObject({ reason: 'internal_error', orderId: 'a', streamSeq: m.streamSeq });
      expect(letter.payload.byteLength).toBe(0);
      expect(letter.detail).toBe(`invalid_amount: amount: bad; scrub failed at stream sequence ${m.streamSeq} (RangeError), payload withheld`);
      expect(errors).toHaveBeenCalledTimes(1);
    } finally {
      errors.mockRestore();
    }
  });
});

describe('dead-letter headers', () => {
  it('never carry a line break, which NATS refuses (the publish would throw and stop the pipeline)', () => {
    const sent: { subject: string; options?: PublishOptions }[] = [];
    const nc = { publish: (subject: string, _data: Uint8Array, options?: PublishOptions) => sent.push({ subject, ...(options ? { options } : {}) }) };
    const publisher = natsPublisher(nc as unknown as NatsConnection, { results: 'pay.results', reports: 'pay.reports', dlq: 'pay.dlq' });
    // a forbidden field under a key with line breaks in it: its path is quoted in the detail
    const letter: DeadLetter = { reason: 'cvv_forbidden', detail: 'a\r\nb\n.cvv: CVV/CVC must never be sent', subject: 'pay.orders.x', payload: new Uint8Array(0), streamSeq: 7 };
    expect(() => publisher.deadLetter(letter)).not.toThrow();
    const h = sent[0]!.options!.headers!;
    expect(h.get('Paystream-Detail')).not.toMatch(/[\r\n]/);
    expect(h.get('Paystream-Detail').startsWith('a  b .cvv: ')).toBe(true);
    expect(h.get('Paystream-Stream-Seq')).toBe('7');
  });
});

interface GuardedLedger {
  store: LedgerStore;
  dataDir: string;
  /** the guard's log: each failure is logged once */
  errors: ReturnType<typeof vi.spyOn>;
}

/**
 * For each test of the block: Alice's card with 100.00 USD deposited from funding and the merchant m_coffee
 * (books verify can check), on a fresh LevelDB; the guard's error log caught.
 */
function guardedLedger(): GuardedLedger {
  const env = {} as GuardedLedger;
  beforeEach(async () => {
    Object.assign(env, await aTempStore());
    const ws = new WorkingSet();
    for (const a of [anAccount(), aMerchant(), aFundingAccount('USD')]) ws.putAccount(a);
    ws.transfer({ id: 'tx_seed', debit: 'funding-USD', credit: 'acct_alice', amountMinor: 10_000n, currency: 'USD', kind: 'deposit', orderId: 'seed', atMs: TEST_NOW_MS });
    await env.store.commit(ws);
    const card = aCard();
    await env.store.write([{ type: 'put', sublevel: env.store.cards, key: card.token, value: JSON.stringify(card) }]);
    env.store.forgetCaches();
    env.errors = vi.spyOn(log(), 'error').mockImplementation(() => undefined);
  });
  afterEach(async () => {
    env.errors.mockRestore();
    await env.store.close();
    await removeDataDir(env.dataDir);
  });
  return env;
}

const pay = (id: string, amountMinor: bigint, extra: Partial<Order> = {}): Item => {
  const order: Order = { id, type: 'payment', cardToken: TEST_CARD_TOKEN, merchant: 'm_coffee', amountMinor, currency: 'USD', createdAtMs: TEST_NOW_MS, ...extra };
  return { kind: 'order', msg: msg({ id, type: 'payment', card: TEST_CARD_TOKEN, amount: String(amountMinor) }), order };
};
const depsOn = (store: LedgerStore, extra: Partial<ApplyDeps> = {}): ApplyDeps => ({
  store,
  options: DEFAULT_APPLY_OPTIONS,
  clock: () => TEST_NOW_MS,
  virtualTime: false,
  scrub: (p: Uint8Array) => p,
  ...extra,
});
const run = async (buffers: Item[][], d: ApplyDeps): Promise<AppliedBuffer[]> => lastValueFrom(from(buffers).pipe(applyStage(d), toArray()));
const statuses = (applied: AppliedBuffer) => applied.results.map(({ result: r }) => `${r.orderId}:${r.status}${r.reason ? `:${r.reason}` : ''}`);

describe('apply stage guard (on a real LevelDB): a decision that throws', () => {
  const env = guardedLedger();
  const deps = (extra: Partial<ApplyDeps> = {}) => depsOn(env.store, extra);

  it('takes back an order whose decision threw after it moved money, rejects it internal_error, and decides the orders around it', async () => {
    const items = [pay('a1', 1_000n), pay('a2', 2_000n, { merchant: 'm_new' }), pay('a3', 500n)];
    const [applied] = await run([items], deps({ faults: faultAt('apply', 'a2') }));
    expect(statuses(applied!)).toEqual(['a1:approved', 'a2:rejected:internal_error', 'a3:approved']);
    expect(applied!.deadLetters).toEqual([
      expect.objectContaining({
        reason: 'internal_error',
        orderId: 'a2',
        streamSeq: items[1]!.msg.streamSeq,
        detail: `apply failed at stream sequence ${items[1]!.msg.streamSeq} (InjectedFault)`,
      }),
    ]);
    // a2 had moved 20.00 and opened m_new before it threw: neither is in the ledger
    expect((await env.store.getAccount('acct_alice'))?.balanceMinor).toBe(8_500n);
    expect(await env.store.getAccount('m_new')).toBeUndefined();
    expect(await env.store.transfers.get('tx_a2')).toBeUndefined();
    expect((await verifyLedger(env.store)).violations).toEqual([]);
    expect(env.errors).toHaveBeenCalledTimes(1);
  });

  it('answers a redelivery of the failed order with its first result, as a duplicate (one result per id)', async () => {
    const failing = pay('r1', 1_000n);
    const again: Item = { ...failing, msg: { ...failing.msg, redelivered: true } };
    const out = await run([[failing], [again]], deps({ faults: faultAt('apply', 'r1') }));
    expect(out[1]!.results.map(({ result }) => result)).toEqual([expect.objectContaining({ orderId: 'r1', status: 'rejected', reason: 'internal_error', duplicate: true })]);
    expect((await env.store.getAccount('acct_alice'))?.balanceMinor).toBe(10_000n);
  });

  it('takes back what a risk engine that throws half-way had decided (no seam: a real exception)', async () => {
    const risk: RiskEvaluator = {
      evaluate: () => ({ outcome: 'allow' }),
      observe: (order) => {
        if (order.id === 'k2') throw new TypeError("Cannot read properties of undefined (reading 'push')");
      },
    };
    const [applied] = await run([[pay('k1', 100n), pay('k2', 200n), pay('k3', 300n)]], deps({ risk }));
    expect(statuses(applied!)).toEqual(['k1:approved', 'k2:rejected:internal_error', 'k3:approved']);
    expect((await env.store.getAccount('acct_alice'))?.balanceMinor).toBe(9_600n);
    expect((await verifyLedger(env.store)).violations).toEqual([]);
  });

  it('turns a validate-stage internal_error into a rejected result and a dead letter with the guard detail', async () => {
    const m = msg({ id: 'vx' });
    const item: Item = { kind: 'rejected', msg: m, orderId: 'vx', reason: 'internal_error', field: '', message: 'validate failed at stream sequence 9 (TypeError)' };
    const [applied] = await run([[pay('n1', 100n), item, pay('n2', 100n)]], deps());
    expect(statuses(applied!)).toEqual(['n1:approved', 'vx:rejected:internal_error', 'n2:approved']);
    expect(applied!.results[1]!.result.field).toBeUndefined();
    expect(applied!.deadLetters).toEqual([expect.objectContaining({ reason: 'internal_error', orderId: 'vx', detail: 'validate failed at stream sequence 9 (TypeError)' })]);
  });
});

describe('apply stage guard (on a real LevelDB): a dead-letter scrub or a batch settle that throws', () => {
  const env = guardedLedger();
  const deps = (extra: Partial<ApplyDeps> = {}) => depsOn(env.store, extra);

  it('survives a dead-letter scrub that throws: the rejection stands, its letter goes out payload-free, the next order is decided', async () => {
    const scrub = (p: Uint8Array) => {
      if (dec.decode(p).includes('"bad"')) throw new RangeError('Maximum call stack size exceeded');
      return p;
    };
    const bad = msg({ id: 's2', amount: 'bad', pan: PAN });
    const rejected: Item = { kind: 'rejected', msg: bad, orderId: 's2', reason: 'invalid_amount', field: 'amount', message: 'not a decimal' };
    const notJson = msg('{"bad" ');
    const dead: Item = { kind: 'dead', msg: notJson, reason: 'not_json', detail: 'payload is not valid JSON' };
    const [applied] = await run([[pay('s1', 100n), rejected, dead, pay('s3', 100n)]], deps({ scrub }));
    expect(statuses(applied!)).toEqual(['s1:approved', 's2:rejected:invalid_amount', 's3:approved']);
    expect(applied!.deadLetters.map((l) => [l.reason, l.payload.byteLength, l.orderId])).toEqual([
      ['internal_error', 0, 's2'],
      ['internal_error', 0, undefined],
    ]);
    expect(applied!.deadLetters[0]!.detail).toBe(`invalid_amount: amount: not a decimal; scrub failed at stream sequence ${bad.streamSeq} (RangeError), payload withheld`);
    expect(applied!.deadLetters[1]!.detail).toMatch(/^not_json: payload is not valid JSON; scrub failed at stream sequence \d+ \(RangeError\), payload withheld$/);
    expect((await verifyLedger(env.store)).violations).toEqual([]);
  });

  it('dead-letters an order whose failure leaves the scrub failing too, with no payload, and goes on', async () => {
    const scrub = () => {
      throw new Error('scrub broken');
    };
    const [applied] = await run([[pay('t1', 100n), pay('t2', 100n), pay('t3', 100n)]], deps({ scrub, faults: faultAt('apply', 't2') }));
    expect(statuses(applied!)).toEqual(['t1:approved', 't2:rejected:internal_error', 't3:approved']);
    expect(applied!.deadLetters).toEqual([expect.objectContaining({ reason: 'internal_error', orderId: 't2', payload: new Uint8Array(0) })]);
    expect(applied!.deadLetters[0]!.detail).toMatch(/^internal_error: apply failed .*; scrub failed .*payload withheld$/);
  });

  it('rejects a batch whose settling throws whole, internal_error, and settles the orders around it as usual', async () => {
    const tracker = new BatchTracker(env.store, DEFAULT_BATCH_LIMITS, { prefix: 'pay' });
    await tracker.load();
    const header: Item = { kind: 'batch', msg: msg({}, 'pay.batches.b1'), raw: { id: 'b1', count: 2, currency: 'USD', controlSum: '3.00', mode: 'independent' } };
    const items = [pay('g1', 100n), header, pay('b1-1', 100n, { batchId: 'b1' }), pay('b1-2', 200n, { batchId: 'b1' }), pay('g2', 100n)];
    const [applied] = await run([items], deps({ batches: tracker, faults: faultAt('settle', 'b1-2') }));
    expect(statuses(applied!).sort()).toEqual(['b1-1:rejected:internal_error', 'b1-2:rejected:internal_error', 'g1:approved', 'g2:approved']);
    expect(applied!.reports).toEqual([{ batchId: 'b1', report: expect.objectContaining({ status: 'rejected', reason: 'internal_error' }) }]);
    expect(applied!.deadLetters).toEqual([expect.objectContaining({ reason: 'internal_error', detail: expect.stringMatching(/^batch b1: settle failed .*rejected whole, internal_error$/) })]);
    expect((await env.store.getAccount('acct_alice'))?.balanceMinor).toBe(9_800n);
    expect((await verifyLedger(env.store)).violations).toEqual([]);
  });
});
