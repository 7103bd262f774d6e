// Four eyes: the thresholds parsed once, which postings wait, and what a checker may decide.
import { describe, expect, it } from 'vitest';
import { DEFAULT_FOUR_EYES_SPEC, type Posting, checkDecision, fourEyesFromEnv, needsSecondOperator, parseFourEyes } from '../../src/domain/four-eyes.ts';

const parsed = (spec: string, lapse = '24h') => {
  const p = parseFourEyes(spec, lapse);
  if (!p.ok) throw new Error(p.message);
  return p.options;
};

describe('four-eyes thresholds', () => {
  it('waits above the amount of the currency (not at it), in the currency\'s own exponent', () => {
    const o = parsed('USD=10000.00,JPY=1500000');
    expect(needsSecondOperator(o, 'USD', 1_000_000n)).toBe(false);
    expect(needsSecondOperator(o, 'USD', 1_000_001n)).toBe(true);
    expect(needsSecondOperator(o, 'JPY', 1_500_001n)).toBe(true);
    expect(needsSecondOperator(o, 'EUR', 10n ** 15n)).toBe(false);
  });

  it('applies `*` (whole major units) to currencies not listed, and none to no posting', () => {
    const o = parsed('USD=50.00,*=100');
    expect(needsSecondOperator(o, 'EUR', 10_000n)).toBe(false);
    expect(needsSecondOperator(o, 'EUR', 10_001n)).toBe(true);
    expect(needsSecondOperator(o, 'JPY', 101n)).toBe(true);
    expect(needsSecondOperator(parsed('none'), 'USD', 10n ** 15n)).toBe(false);
  });

  it('has a documented default: above 10,000.00 USD/EUR, 24 h to approve', () => {
    const o = fourEyesFromEnv({});
    if (!o.ok) throw new Error(o.message);
    expect(needsSecondOperator(o.options, 'USD', 1_000_000n)).toBe(false);
    expect(needsSecondOperator(o.options, 'EUR', 1_000_001n)).toBe(true);
    expect(needsSecondOperator(o.options, 'SEK', 1_000_001n)).toBe(true);
    expect(o.options.lapseMs).toBe(24 * 3_600_000);
    expect(DEFAULT_FOUR_EYES_SPEC).toContain('USD=10000.00');
    const env = fourEyesFromEnv({ PAYSTREAM_FOUR_EYES_ABOVE: 'USD=1.00', PAYSTREAM_FOUR_EYES_LAPSE: '30m' });
    expect(env.ok && env.options.lapseMs).toBe(1_800_000);
  });

  it('refuses a spec it cannot read, with a message naming the part', () => {
    for (const [spec, lapse, words] of [
      ['USD', '24h', 'not CCY=amount'],
      ['XXQ=10', '24h', 'unknown currency'],
      ['USD=1.001', '24h', 'USD=1.001'],
      ['USD=1,USD=2', '24h', 'given twice'],
      ['*=1.5', '24h', 'whole number'],
      ['USD=10.00', '0h', 'lapse'],
      ['USD=10.00', '31d', 'lapse'],
      ['USD=10.00', 'soon', 'lapse'],
    ] as const) {
      const p = parseFourEyes(spec, lapse);
      expect(p.ok, spec).toBe(false);
      if (!p.ok) expect(p.message).toContain(words);
    }
  });
});

describe('a checker\'s decision', () => {
  const posting: Posting = {
    id: 'mp_000001',
    kind: 'deposit',
    accountId: 'acct_a',
    amountMinor: 2_000_000n,
    currency: 'USD',
    madeBy: 'local:alice',
    createdAtMs: 1_000,
    expiresAtMs: 2_000,
    status: 'pending',
  };
  it('refuses the maker, a lapsed posting and a decided one; lets a different operator in time', () => {
    expect(checkDecision(posting, 'local:alice', 1_500)).toBe('same_operator');
    expect(checkDecision(posting, 'local:bob', 2_001)).toBe('posting_lapsed');
    expect(checkDecision({ ...posting, status: 'approved' }, 'local:bob', 1_500)).toBe('not_pending');
    expect(checkDecision(posting, 'local:bob', 2_000)).toBeUndefined();
  });
});
