import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { RiskEngine } from '../../../src/domain/risk/engine.ts';
import { RULE_KINDS } from '../../../src/domain/risk/kinds.ts';
import { parseRules, RulesConfigError } from '../../../src/domain/risk/rules-text.ts';

const defaultRules = async () =>
  parseRules(await readFile(new URL('../../../data/risk.yaml', import.meta.url), 'utf8'), 'data/risk.yaml');

function errorOf(text: string, source = 'rules.yaml'): RulesConfigError {
  try {
    parseRules(text, source);
  } catch (err) {
    expect(err).toBeInstanceOf(RulesConfigError);
    return err as RulesConfigError;
  }
  throw new Error('expected a RulesConfigError');
}

describe('the default rule set (data/risk.yaml)', () => {
  it('loads, compiles and covers every rule kind', async () => {
    const rules = await defaultRules();
    expect(new Set(rules.rules.map((r) => r.kind))).toEqual(new Set(RULE_KINDS));
    expect(new RiskEngine(rules).stats().rulesEnabled).toBe(rules.rules.length);
  });

  it('holds what the issue asks for', async () => {
    const byId = new Map((await defaultRules()).rules.map((r) => [r.id, r]));
    expect(byId.get('order-amount-review')).toMatchObject({
      outcome: 'review',
      limits: [
        { currency: 'USD', maxMinor: 1_000_000n },
        { currency: 'EUR', maxMinor: 1_000_000n },
        { currency: 'CNY', maxMinor: 1_000_000n },
      ],
    });
    expect(byId.get('order-amount-block')).toMatchObject({
      outcome: 'block',
      limits: [{ maxMinor: 5_000_000n }, {}, {}],
    });
    expect(byId.get('velocity-card')).toMatchObject({ windowSeconds: 60, maxCount: 10, outcome: 'review' });
    expect(byId.get('duplicate-payment')).toMatchObject({ windowSeconds: 30, outcome: 'block' });
    expect(byId.get('stale-order')).toMatchObject({ maxAgeSeconds: 300 });
    expect(byId.get('future-dated')).toMatchObject({ maxSkewSeconds: 30 });
    expect(byId.get('amount-anomaly')).toMatchObject({ multiple: 10, minOrders: 5, outcome: 'review' });
    expect(byId.get('new-country')).toMatchObject({ onlyAboveAverage: true, outcome: 'review' });
    expect(byId.get('decline-burst')).toMatchObject({ windowSeconds: 120, maxDeclines: 4, outcome: 'block' });
  });
});

/** A rule item that parseRules refuses, and what its message says. */
const REJECTED: [string, string, RegExp][] = [
  ['an unknown kind', '  - { id: a, kind: teleport }', /1?:?\d+: rule "a" field kind is unknown: "teleport"/],
  [
    'an unknown field (a typo)',
    '  - { id: a, kind: duplicate, outcome: block, windowSecond: 3 }',
    /rule "a" has unknown field "windowSecond" for kind duplicate/,
  ],
  [
    'a missing field',
    '  - { id: a, kind: duplicate, outcome: block }',
    /rule "a" is missing field windowSeconds/,
  ],
  [
    'a bad outcome',
    '  - { id: a, kind: duplicate, outcome: maybe, windowSeconds: 3 }',
    /field outcome must be one of allow, review, block/,
  ],
  [
    'a bad scope',
    '  - { id: a, kind: velocity, scope: global, outcome: review, windowSeconds: 3, maxCount: 1 }',
    /field scope must be one of card, merchant/,
  ],
  [
    'an outcome on a time rule',
    '  - { id: a, kind: stale, maxAgeSeconds: 3, outcome: block }',
    /outcome is fixed for kind stale \(expire\)/,
  ],
  [
    'an amount as a number',
    '  - { id: a, kind: amount_limit, period: order, outcome: block, max: 10.5, currency: USD }',
    /max must be a quoted decimal string/,
  ],
  [
    'too many decimals',
    '  - { id: a, kind: amount_limit, period: order, outcome: block, max: "10.555", currency: USD }',
    /max "10.555" is not a valid USD amount \(amount_too_precise\)/,
  ],
  [
    'an unknown currency',
    '  - { id: a, kind: amount_limit, period: order, outcome: block, max: "10", currency: ABC }',
    /currency ABC is not one paystream knows/,
  ],
  [
    'a currency listed twice',
    '  - { id: a, kind: amount_limit, period: order, outcome: block, max: "10", currencies: [USD, USD] }',
    /currency USD is listed twice/,
  ],
  [
    'a day limit without a card or account scope',
    '  - { id: a, kind: amount_limit, period: day, outcome: block, max: "10", currency: USD }',
    /field scope must be card or account for period day/,
  ],
  [
    'a velocity rule with no limit',
    '  - { id: a, kind: velocity, outcome: block, windowSeconds: 3 }',
    /rule "a" needs maxCount, maxSum or both/,
  ],
  [
    'a velocity type that opens no money movement',
    '  - { id: a, kind: velocity, outcome: block, windowSeconds: 3, maxCount: 2, types: [refund] }',
    /field types may only list payment, authorize, payout/,
  ],
  [
    'a bad BIN',
    '  - { id: a, kind: blocklist, list: bin, outcome: block, values: ["41x"] }',
    /field values: "41x" is not a BIN prefix/,
  ],
  [
    'a lowercase country',
    '  - { id: a, kind: blocklist, list: country, outcome: block, values: [kp] }',
    /"kp" is not an ISO 3166 alpha-2 country code/,
  ],
  [
    'an empty list',
    '  - { id: a, kind: blocklist, list: mcc, outcome: block, values: [] }',
    /field values must be a non-empty list/,
  ],
  [
    'a multiple of 1 or less',
    '  - { id: a, kind: anomaly_amount, outcome: review, multiple: 1, minOrders: 3 }',
    /field multiple must be a number above 1/,
  ],
  ['a bad id', '  - { id: "a b", kind: stale, maxAgeSeconds: 3 }', /rule #1 id must be 1-64 letters/],
];

describe('parseRules', () => {
  it('accepts JSON as well as YAML', () => {
    const json = JSON.stringify({
      version: 1,
      rules: [
        { id: 'big', kind: 'amount_limit', period: 'order', outcome: 'block', max: '10.00', currency: 'EUR' },
      ],
    });
    expect(parseRules(json, 'rules.json').rules).toEqual([
      {
        id: 'big',
        kind: 'amount_limit',
        scope: 'global',
        enabled: true,
        period: 'order',
        outcome: 'block',
        limits: [{ currency: 'EUR', maxMinor: 1000n }],
      },
    ]);
  });

  it('points at the line and column of a bad field value, naming the rule', () => {
    const e = errorOf(`version: 1
rules:
  - id: velocity-card
    kind: velocity
    scope: card
    outcome: review
    windowSeconds: 0
    maxCount: 10
`);
    expect(e.message).toBe(
      'rules.yaml:7:20: rule "velocity-card" field windowSeconds must be a positive integer up to 604800',
    );
    expect([e.line, e.col]).toEqual([7, 20]);
  });

  it.each(REJECTED)('rejects %s', (_name, rule, message) => {
    expect(errorOf(`rules:\n${rule}\n`).message).toMatch(message);
  });

  it('rejects duplicate rule ids, pointing at the second', () => {
    const e = errorOf(`rules:
  - id: a
    kind: stale
    maxAgeSeconds: 1
  - id: a
    kind: future_skew
    maxSkewSeconds: 1
`);
    expect(e.message).toBe('rules.yaml:5:9: duplicate rule id "a" (first defined at line 2)');
  });

  it('reports YAML syntax errors and a wrong shape with positions', () => {
    expect(errorOf('rules:\n  - id: a\n   kind: [stale\n').message).toMatch(/^rules\.yaml:\d+:\d+: /);
    expect(errorOf('- just a list\n').message).toBe(
      'rules.yaml:1:1: expected a map with a "rules" list at the top',
    );
    expect(errorOf('rules: {}\n').message).toBe('rules.yaml:1:8: field rules must be a list');
    expect(errorOf('rule: []\n').message).toMatch(/unknown top-level field "rule"/);
    expect(errorOf('version: 2\nrules: []\n').message).toBe('rules.yaml:1:10: version must be 1');
    expect(errorOf('rules: []\nrules: []\n').message).toMatch(/^rules\.yaml:2:1: .*unique/i);
  });
});
