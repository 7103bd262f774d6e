import { describe, expect, it } from 'vitest';
import { kindNamed, kindOf, RULE_KIND_TABLE, RULE_KINDS } from '../../../src/domain/risk/kinds.ts';
import { parseRules } from '../../../src/domain/risk/rules-text.ts';

/** The smallest valid rule of each kind, written without a scope. */
const MINIMAL: Record<string, string> = {
  stale: '{ id: r, kind: stale, maxAgeSeconds: 1 }',
  future_skew: '{ id: r, kind: future_skew, maxSkewSeconds: 1 }',
  blocklist: '{ id: r, kind: blocklist, list: mcc, outcome: block, values: ["6051"] }',
  amount_limit: '{ id: r, kind: amount_limit, period: order, outcome: block, max: "1", currency: USD }',
  velocity: '{ id: r, kind: velocity, outcome: block, windowSeconds: 1, maxCount: 1 }',
  duplicate: '{ id: r, kind: duplicate, outcome: block, windowSeconds: 1 }',
  anomaly_amount: '{ id: r, kind: anomaly_amount, outcome: review, multiple: 2, minOrders: 1 }',
  new_country: '{ id: r, kind: new_country, outcome: review }',
  decline_burst: '{ id: r, kind: decline_burst, outcome: block, windowSeconds: 1, maxDeclines: 1 }',
};

const COMMON_FIELDS = ['id', 'kind', 'scope', 'outcome', 'enabled', 'description'];

describe('the rule kind table', () => {
  it('names the kinds in the order error messages list them', () => {
    expect(RULE_KINDS).toEqual([
      'stale',
      'future_skew',
      'blocklist',
      'amount_limit',
      'velocity',
      'duplicate',
      'anomaly_amount',
      'new_country',
      'decline_burst',
    ]);
  });

  it.each(RULE_KINDS.map((k) => [k]))(
    'registers %s under the name its rules carry, with its default scope',
    (name) => {
      const [rule] = parseRules(`rules:\n  - ${MINIMAL[name]}\n`, 'kinds.yaml').rules;
      expect(rule!.kind).toBe(name);
      expect(kindOf(rule!)).toBe(RULE_KIND_TABLE[name]);
      expect(rule!.scope).toBe(RULE_KIND_TABLE[name].scopes[0]);
    },
  );

  it.each(RULE_KINDS.map((k) => [k]))('gives %s fields of its own, none of the common ones', (name) => {
    const { fields } = RULE_KIND_TABLE[name];
    expect(fields.length).toBeGreaterThan(0);
    expect(fields.filter((f) => COMMON_FIELDS.includes(f))).toEqual([]);
  });

  it('runs the time kinds first and for every order, with an outcome the rule cannot choose', () => {
    const timed = RULE_KINDS.filter((k) => RULE_KIND_TABLE[k].phase === 'time');
    expect(timed).toEqual(['stale', 'future_skew']);
    for (const k of RULE_KINDS) {
      expect(RULE_KIND_TABLE[k].fixedOutcome !== undefined).toBe(timed.includes(k));
    }
    expect(RULE_KINDS.filter((k) => RULE_KIND_TABLE[k].phase === 'list')).toEqual(['blocklist']);
  });

  it('knows no kind by a name that is not in the table, inherited object keys included', () => {
    for (const name of ['teleport', 'constructor', 'toString', '__proto__', 'hasOwnProperty', '', 5, null]) {
      expect(kindNamed(name)).toBeUndefined();
    }
    expect(() => parseRules('rules:\n  - { id: a, kind: constructor }\n', 'kinds.yaml')).toThrow(
      'kinds.yaml:2:20: rule "a" field kind is unknown: "constructor"',
    );
  });
});
