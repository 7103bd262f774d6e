// Pins every message parseRules and the engine's compile give, and the exact rules they build, so a
// change to how rules are read shows up here as a changed line.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { RiskEngine } from '../../../src/domain/risk/engine.ts';
import { parseRules } from '../../../src/domain/risk/rules-text.ts';

/** JSON with bigints as "<n>n" and present-but-undefined fields kept, so key sets and order are pinned too. */
const pinned = (value: unknown, space?: number): string =>
  JSON.stringify(
    value,
    (_k, v) => (typeof v === 'bigint' ? `${v}n` : v === undefined ? '<undefined>' : v),
    space,
  );

const messageOf = (work: () => unknown): string => {
  try {
    work();
    return 'OK';
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
};

const item = (rule: string): string => `rules:\n  - ${rule}\n`;

const DOCUMENTS: [string, string][] = [
  [
    'rules:\n  - id: a\n   kind: [stale\n',
    'RulesConfigError: rules.yaml:3:1: Sequence item without - indicator',
  ],
  ['- just a list\n', 'RulesConfigError: rules.yaml:1:1: expected a map with a "rules" list at the top'],
  ['rules: {}\n', 'RulesConfigError: rules.yaml:1:8: field rules must be a list'],
  [
    'rule: []\n',
    'RulesConfigError: rules.yaml:1:1: unknown top-level field "rule" (expected version, rules)',
  ],
  ['version: 2\nrules: []\n', 'RulesConfigError: rules.yaml:1:10: version must be 1'],
  ['version: x\nrules: []\n', 'RulesConfigError: rules.yaml:1:10: version must be 1'],
  ['rules: []\nrules: []\n', 'RulesConfigError: rules.yaml:2:1: Map keys must be unique'],
  ['version: 1\n', 'RulesConfigError: rules.yaml:1:1: missing field "rules" (a list of rules)'],
  ['rules:\n', 'RulesConfigError: rules.yaml:1:7: field rules must be a list'],
  [item('5'), 'RulesConfigError: rules.yaml:2:5: rule #1 must be a map'],
  ['{1: a, rules: []}\n', 'RulesConfigError: rules.yaml:1:2: field names in the top level must be strings'],
  ['', 'RulesConfigError: rules.yaml:1:1: expected a map with a "rules" list at the top'],
  [
    'rules:\n  - id: a\n    kind: stale\n    maxAgeSeconds: 1\n  - id: a\n    kind: future_skew\n    maxSkewSeconds: 1\n',
    'RulesConfigError: rules.yaml:5:9: duplicate rule id "a" (first defined at line 2)',
  ],
  [
    '{"rules": [{"id": "x", "kind": "duplicate", "outcome": "block", "windowSeconds": -5}]}',
    'RulesConfigError: rules.yaml:1:82: rule "x" field windowSeconds must be a positive integer up to 604800',
  ],
  [item('{ kind: stale }'), 'RulesConfigError: rules.yaml:2:5: rule #1 has no id'],
  [
    item('{ id: "a b", kind: stale }'),
    "RulesConfigError: rules.yaml:2:11: rule #1 id must be 1-64 letters, digits, '.', '_' or '-'",
  ],
  [
    item('{ id: , kind: stale }'),
    "RulesConfigError: rules.yaml:2:11: rule #1 id must be 1-64 letters, digits, '.', '_' or '-'",
  ],
  [
    item('{ id: 7, kind: stale }'),
    "RulesConfigError: rules.yaml:2:11: rule #1 id must be 1-64 letters, digits, '.', '_' or '-'",
  ],
  [item('{ id: a, 5: x }'), 'RulesConfigError: rules.yaml:2:14: field names in rule #1 must be strings'],
  [item('{ id: a }'), 'RulesConfigError: rules.yaml:2:5: rule "a" is missing field kind'],
  [
    item('{ id: a, kind: }'),
    'RulesConfigError: rules.yaml:2:20: rule "a" field kind is unknown: null (expected one of stale, future_skew, blocklist, amount_limit, velocity, duplicate, anomaly_amount, new_country, decline_burst)',
  ],
  [
    item('{ id: a, kind: teleport }'),
    'RulesConfigError: rules.yaml:2:20: rule "a" field kind is unknown: "teleport" (expected one of stale, future_skew, blocklist, amount_limit, velocity, duplicate, anomaly_amount, new_country, decline_burst)',
  ],
  [
    item('{ id: a, kind: [x] }'),
    'RulesConfigError: rules.yaml:2:20: rule "a" field kind is unknown: undefined (expected one of stale, future_skew, blocklist, amount_limit, velocity, duplicate, anomaly_amount, new_country, decline_burst)',
  ],
  [
    item('{ id: a, kind: 5 }'),
    'RulesConfigError: rules.yaml:2:20: rule "a" field kind is unknown: 5 (expected one of stale, future_skew, blocklist, amount_limit, velocity, duplicate, anomaly_amount, new_country, decline_burst)',
  ],
  [
    item('{ id: a, kind: duplicate, outcome: block, windowSecond: 3 }'),
    'RulesConfigError: rules.yaml:2:47: rule "a" has unknown field "windowSecond" for kind duplicate (expected id, kind, scope, outcome, enabled, description, windowSeconds)',
  ],
  [
    item('{ id: a, kind: stale, maxAgeSeconds: 3, list: card }'),
    'RulesConfigError: rules.yaml:2:45: rule "a" has unknown field "list" for kind stale (expected id, kind, scope, outcome, enabled, description, maxAgeSeconds)',
  ],
  [
    item('{ id: a, kind: velocity, scope: global, outcome: review, windowSeconds: 3, maxCount: 1 }'),
    'RulesConfigError: rules.yaml:2:37: rule "a" field scope must be one of card, merchant',
  ],
  [
    item('{ id: a, kind: velocity, scope: , outcome: review, windowSeconds: 3, maxCount: 1 }'),
    'RulesConfigError: rules.yaml:2:37: rule "a" field scope must be one of card, merchant',
  ],
  [
    item('{ id: a, kind: stale, scope: card, maxAgeSeconds: 3 }'),
    'RulesConfigError: rules.yaml:2:34: rule "a" field scope must be one of global',
  ],
  [
    item('{ id: a, kind: stale, enabled: yes, maxAgeSeconds: 3 }'),
    'RulesConfigError: rules.yaml:2:36: rule "a" field enabled must be true or false',
  ],
  [
    item('{ id: a, kind: stale, enabled: "true", maxAgeSeconds: 3 }'),
    'RulesConfigError: rules.yaml:2:36: rule "a" field enabled must be true or false',
  ],
  [
    item('{ id: a, kind: stale, description: 5, maxAgeSeconds: 3 }'),
    'RulesConfigError: rules.yaml:2:40: rule "a" field description must be a string',
  ],
  [
    item('{ id: a, kind: stale, maxAgeSeconds: 3, outcome: block }'),
    'RulesConfigError: rules.yaml:2:54: rule "a" field outcome is fixed for kind stale (expire): leave it out',
  ],
  [
    item('{ id: a, kind: future_skew, maxSkewSeconds: 3, outcome: block }'),
    'RulesConfigError: rules.yaml:2:61: rule "a" field outcome is fixed for kind future_skew (reject): leave it out',
  ],
  [
    item('{ id: a, kind: stale }'),
    'RulesConfigError: rules.yaml:2:5: rule "a" is missing field maxAgeSeconds',
  ],
  [
    item('{ id: a, kind: stale, maxAgeSeconds: 0 }'),
    'RulesConfigError: rules.yaml:2:42: rule "a" field maxAgeSeconds must be a positive integer up to 604800',
  ],
  [
    item('{ id: a, kind: stale, maxAgeSeconds: 604801 }'),
    'RulesConfigError: rules.yaml:2:42: rule "a" field maxAgeSeconds must be a positive integer up to 604800',
  ],
  [
    item('{ id: a, kind: stale, maxAgeSeconds: 1.5 }'),
    'RulesConfigError: rules.yaml:2:42: rule "a" field maxAgeSeconds must be a positive integer up to 604800',
  ],
  [
    item('{ id: a, kind: stale, maxAgeSeconds: "3" }'),
    'RulesConfigError: rules.yaml:2:42: rule "a" field maxAgeSeconds must be a positive integer up to 604800',
  ],
  [
    item('{ id: a, kind: stale, maxAgeSeconds: }'),
    'RulesConfigError: rules.yaml:2:42: rule "a" field maxAgeSeconds must be a positive integer up to 604800',
  ],
  [
    item('{ id: a, kind: future_skew, maxSkewSeconds: -1 }'),
    'RulesConfigError: rules.yaml:2:49: rule "a" field maxSkewSeconds must be an integer from 0 to 604800',
  ],
  [
    item('{ id: a, kind: future_skew }'),
    'RulesConfigError: rules.yaml:2:5: rule "a" is missing field maxSkewSeconds',
  ],
  [
    item('{ id: a, kind: blocklist, outcome: block, values: [x] }'),
    'RulesConfigError: rules.yaml:2:5: rule "a" is missing field list',
  ],
  [
    item('{ id: a, kind: blocklist, list: foo, outcome: block, values: [x] }'),
    'RulesConfigError: rules.yaml:2:37: rule "a" field list must be one of card, bin, merchant, mcc, country',
  ],
  [
    item('{ id: a, kind: blocklist, list: card, values: [x] }'),
    'RulesConfigError: rules.yaml:2:5: rule "a" is missing field outcome',
  ],
  [
    item('{ id: a, kind: blocklist, list: card, outcome: deny, values: [x] }'),
    'RulesConfigError: rules.yaml:2:52: rule "a" field outcome must be one of allow, review, block',
  ],
  [
    item('{ id: a, kind: blocklist, list: card, outcome: block }'),
    'RulesConfigError: rules.yaml:2:5: rule "a" is missing field values',
  ],
  [
    item('{ id: a, kind: blocklist, list: card, outcome: block, values: [] }'),
    'RulesConfigError: rules.yaml:2:67: rule "a" field values must be a non-empty list',
  ],
  [
    item('{ id: a, kind: blocklist, list: card, outcome: block, values: x }'),
    'RulesConfigError: rules.yaml:2:67: rule "a" field values must be a non-empty list',
  ],
  [
    item('{ id: a, kind: blocklist, list: card, outcome: block, values: [abc] }'),
    'RulesConfigError: rules.yaml:2:68: rule "a" field values: "abc" is not a card token (64 lowercase hex characters)',
  ],
  [
    item('{ id: a, kind: blocklist, list: bin, outcome: block, values: ["41x"] }'),
    'RulesConfigError: rules.yaml:2:67: rule "a" field values: "41x" is not a BIN prefix (1 to 6 digits)',
  ],
  [
    item('{ id: a, kind: blocklist, list: bin, outcome: block, values: [4111111] }'),
    'RulesConfigError: rules.yaml:2:67: rule "a" field values: 4111111 is not a BIN prefix (1 to 6 digits)',
  ],
  [
    item('{ id: a, kind: blocklist, list: merchant, outcome: block, values: [""] }'),
    'RulesConfigError: rules.yaml:2:72: rule "a" field values: "" is not a merchant id',
  ],
  [
    item('{ id: a, kind: blocklist, list: mcc, outcome: block, values: ["12345"] }'),
    'RulesConfigError: rules.yaml:2:67: rule "a" field values: "12345" is not a merchant category code (4 digits)',
  ],
  [
    item('{ id: a, kind: blocklist, list: country, outcome: block, values: [kp] }'),
    'RulesConfigError: rules.yaml:2:71: rule "a" field values: "kp" is not an ISO 3166 alpha-2 country code (two uppercase letters)',
  ],
  [
    item('{ id: a, kind: blocklist, list: country, outcome: block, values: [US, [x]] }'),
    'RulesConfigError: rules.yaml:2:75: rule "a" field values: null is not an ISO 3166 alpha-2 country code (two uppercase letters)',
  ],
  [
    item('{ id: a, kind: blocklist, list: country, outcome: block, values: [US, null] }'),
    'RulesConfigError: rules.yaml:2:75: rule "a" field values: null is not an ISO 3166 alpha-2 country code (two uppercase letters)',
  ],
  [
    item('{ id: a, kind: blocklist, scope: account, list: country, outcome: block, values: [US], max: "1" }'),
    'RulesConfigError: rules.yaml:2:92: rule "a" has unknown field "max" for kind blocklist (expected id, kind, scope, outcome, enabled, description, list, values)',
  ],
  [
    item('{ id: a, kind: amount_limit, period: week, outcome: block, max: "10", currency: USD }'),
    'RulesConfigError: rules.yaml:2:42: rule "a" field period must be one of order, day',
  ],
  [
    item('{ id: a, kind: amount_limit, outcome: block, max: "10", currency: USD }'),
    'RulesConfigError: rules.yaml:2:5: rule "a" is missing field period',
  ],
  [
    item(
      '{ id: a, kind: amount_limit, period: order, scope: card, outcome: block, max: "10", currency: USD }',
    ),
    'RulesConfigError: rules.yaml:2:56: rule "a" field scope must be global for period order',
  ],
  [
    item('{ id: a, kind: amount_limit, period: day, outcome: block, max: "10", currency: USD }'),
    'RulesConfigError: rules.yaml:2:5: rule "a" field scope must be card or account for period day',
  ],
  [
    item(
      '{ id: a, kind: amount_limit, period: order, outcome: block, limits: [{max: "1", currency: USD}], max: "2" }',
    ),
    'RulesConfigError: rules.yaml:2:73: rule "a" field limits cannot be combined with max/currency/currencies',
  ],
  [
    item(
      '{ id: a, kind: amount_limit, period: order, outcome: block, limits: [{max: "1", currency: USD}], currency: USD }',
    ),
    'RulesConfigError: rules.yaml:2:73: rule "a" field limits cannot be combined with max/currency/currencies',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, limits: [] }'),
    'RulesConfigError: rules.yaml:2:73: rule "a" field limits must be a non-empty list of { max, currency }',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, limits: x }'),
    'RulesConfigError: rules.yaml:2:73: rule "a" field limits must be a non-empty list of { max, currency }',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, limits: }'),
    'RulesConfigError: rules.yaml:2:73: rule "a" field limits must be a non-empty list of { max, currency }',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, limits: [5] }'),
    'RulesConfigError: rules.yaml:2:74: rule "a" field limits must be a map with max and currency',
  ],
  [
    item(
      '{ id: a, kind: amount_limit, period: order, outcome: block, limits: [{max: "1", currency: USD, per: day}] }',
    ),
    'RulesConfigError: rules.yaml:2:100: rule "a" field limits has unknown field "per" (expected max, currency or currencies)',
  ],
  [
    item(
      '{ id: a, kind: amount_limit, period: order, outcome: block, limits: [{max: "1", currency: USD, 4: x}] }',
    ),
    'RulesConfigError: rules.yaml:2:100: field names in rule "a" field limits must be strings',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, limits: [{currency: USD}] }'),
    'RulesConfigError: rules.yaml:2:74: rule "a" field limits: max is missing',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, limits: [{max: "1"}] }'),
    'RulesConfigError: rules.yaml:2:74: rule "a" field limits: needs either currency or currencies',
  ],
  [
    item(
      '{ id: a, kind: amount_limit, period: order, outcome: block, limits: [{max: "1", currency: USD, currencies: [EUR]}] }',
    ),
    'RulesConfigError: rules.yaml:2:74: rule "a" field limits: needs either currency or currencies',
  ],
  [
    item(
      '{ id: a, kind: amount_limit, period: order, outcome: block, limits: [{max: "1", currencies: []}] }',
    ),
    'RulesConfigError: rules.yaml:2:97: rule "a" field limits: currencies must be a non-empty list',
  ],
  [
    item(
      '{ id: a, kind: amount_limit, period: order, outcome: block, limits: [{max: "1", currencies: USD}] }',
    ),
    'RulesConfigError: rules.yaml:2:97: rule "a" field limits: currencies must be a non-empty list',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, limits: [{max: "1", currencies: }] }'),
    'RulesConfigError: rules.yaml:2:97: rule "a" field limits: currencies must be a non-empty list',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, limits: [{max: "1", currency: usd}] }'),
    'RulesConfigError: rules.yaml:2:95: rule "a" field limits: currency must be a three-letter uppercase ISO 4217 code',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, limits: [{max: "1", currency: }] }'),
    'RulesConfigError: rules.yaml:2:95: rule "a" field limits: currency must be a three-letter uppercase ISO 4217 code',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, limits: [{max: "1", currency: ABC}] }'),
    'RulesConfigError: rules.yaml:2:95: rule "a" field limits: currency ABC is not one paystream knows',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, limits: [{max: 1, currency: USD}] }'),
    'RulesConfigError: rules.yaml:2:80: rule "a" field limits: max must be a quoted decimal string such as "10000.00"',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, limits: [{max: , currency: USD}] }'),
    'RulesConfigError: rules.yaml:2:80: rule "a" field limits: max must be a quoted decimal string such as "10000.00"',
  ],
  [
    item(
      '{ id: a, kind: amount_limit, period: order, outcome: block, limits: [{max: "1.555", currency: USD}] }',
    ),
    'RulesConfigError: rules.yaml:2:80: rule "a" field limits: max "1.555" is not a valid USD amount (amount_too_precise)',
  ],
  [
    item(
      '{ id: a, kind: amount_limit, period: order, outcome: block, limits: [{max: "1", currency: USD}, {max: "2", currency: USD}] }',
    ),
    'RulesConfigError: rules.yaml:2:122: rule "a" field limits: currency USD is listed twice',
  ],
  [
    item(
      '{ id: a, kind: amount_limit, period: order, outcome: block, limits: [{max: "1", currencies: [USD, EUR]}, {max: "2", currency: EUR}] }',
    ),
    'RulesConfigError: rules.yaml:2:131: rule "a" field limits: currency EUR is listed twice',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, currency: USD }'),
    'RulesConfigError: rules.yaml:2:5: rule "a" field max is missing',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, max: "10" }'),
    'RulesConfigError: rules.yaml:2:5: rule "a" field needs either currency or currencies',
  ],
  [
    item(
      '{ id: a, kind: amount_limit, period: order, outcome: block, max: "10", currency: USD, currencies: [EUR] }',
    ),
    'RulesConfigError: rules.yaml:2:5: rule "a" field needs either currency or currencies',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, max: 10.5, currency: USD }'),
    'RulesConfigError: rules.yaml:2:70: rule "a" field max must be a quoted decimal string such as "10000.00"',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, max: "10.555", currency: USD }'),
    'RulesConfigError: rules.yaml:2:70: rule "a" field max "10.555" is not a valid USD amount (amount_too_precise)',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, max: "abc", currency: USD }'),
    'RulesConfigError: rules.yaml:2:70: rule "a" field max "abc" is not a valid USD amount (invalid_amount)',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, max: "0", currency: USD }'),
    'RulesConfigError: rules.yaml:2:70: rule "a" field max "0" is not a valid USD amount (amount_out_of_range)',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, max: "-5", currency: USD }'),
    'RulesConfigError: rules.yaml:2:70: rule "a" field max "-5" is not a valid USD amount (amount_out_of_range)',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, max: "10", currency: ABC }'),
    'RulesConfigError: rules.yaml:2:86: rule "a" field currency ABC is not one paystream knows',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, max: "10", currencies: [USD, USD] }'),
    'RulesConfigError: rules.yaml:2:94: rule "a" field currency USD is listed twice',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, max: "10", currencies: [USD, 5] }'),
    'RulesConfigError: rules.yaml:2:94: rule "a" field currency must be a three-letter uppercase ISO 4217 code',
  ],
  [
    item('{ id: a, kind: amount_limit, period: order, max: "10", currency: USD }'),
    'RulesConfigError: rules.yaml:2:5: rule "a" is missing field outcome',
  ],
  [item('{ id: a, kind: amount_limit, period: order, outcome: block, max: "10", currency: JPY }'), 'OK'],
  [
    item('{ id: a, kind: amount_limit, period: order, outcome: block, max: "10.5", currency: JPY }'),
    'RulesConfigError: rules.yaml:2:70: rule "a" field max "10.5" is not a valid JPY amount (amount_too_precise)',
  ],
  [
    item('{ id: a, kind: velocity, outcome: block, maxCount: 2 }'),
    'RulesConfigError: rules.yaml:2:5: rule "a" is missing field windowSeconds',
  ],
  [
    item('{ id: a, kind: velocity, outcome: block, windowSeconds: 0, maxCount: 2 }'),
    'RulesConfigError: rules.yaml:2:61: rule "a" field windowSeconds must be a positive integer up to 604800',
  ],
  [
    item('{ id: a, kind: velocity, outcome: block, windowSeconds: 3, maxCount: 0 }'),
    'RulesConfigError: rules.yaml:2:74: rule "a" field maxCount must be a positive integer up to 65535',
  ],
  [
    item('{ id: a, kind: velocity, outcome: block, windowSeconds: 3, maxCount: 65536 }'),
    'RulesConfigError: rules.yaml:2:74: rule "a" field maxCount must be a positive integer up to 65535',
  ],
  [
    item('{ id: a, kind: velocity, outcome: block, windowSeconds: 3 }'),
    'RulesConfigError: rules.yaml:2:5: rule "a" needs maxCount, maxSum or both',
  ],
  [
    item('{ id: a, kind: velocity, outcome: block, windowSeconds: 3, maxSum: [] }'),
    'RulesConfigError: rules.yaml:2:72: rule "a" field maxSum must not be an empty list',
  ],
  [
    item('{ id: a, kind: velocity, outcome: block, windowSeconds: 3, maxSum: 5 }'),
    'RulesConfigError: rules.yaml:2:72: rule "a" field maxSum must be a map with max and currency',
  ],
  [
    item('{ id: a, kind: velocity, outcome: block, windowSeconds: 3, maxSum: }'),
    'RulesConfigError: rules.yaml:2:72: rule "a" field maxSum must be a map with max and currency',
  ],
  [
    item(
      '{ id: a, kind: velocity, outcome: block, windowSeconds: 3, maxSum: {max: "1", currency: USD, x: 1} }',
    ),
    'RulesConfigError: rules.yaml:2:98: rule "a" field maxSum has unknown field "x" (expected max, currency or currencies)',
  ],
  [
    item('{ id: a, kind: velocity, outcome: block, windowSeconds: 3, maxSum: {max: "1"} }'),
    'RulesConfigError: rules.yaml:2:72: rule "a" field maxSum: needs either currency or currencies',
  ],
  [
    item(
      '{ id: a, kind: velocity, outcome: block, windowSeconds: 3, maxSum: [{max: "1", currency: USD}, 5] }',
    ),
    'RulesConfigError: rules.yaml:2:100: rule "a" field maxSum must be a map with max and currency',
  ],
  [
    item(
      '{ id: a, kind: velocity, outcome: block, windowSeconds: 3, maxSum: [{max: "1", currency: USD}, {max: 2, currency: EUR}] }',
    ),
    'RulesConfigError: rules.yaml:2:106: rule "a" field maxSum: max must be a quoted decimal string such as "10000.00"',
  ],
  [
    item(
      '{ id: a, kind: velocity, outcome: block, windowSeconds: 3, maxSum: [{max: "1", currency: USD}, {max: "2", currency: USD}] }',
    ),
    'RulesConfigError: rules.yaml:2:121: rule "a" field maxSum: currency USD is listed twice',
  ],
  [
    item('{ id: a, kind: velocity, outcome: block, windowSeconds: 3, maxCount: 2, types: [refund] }'),
    'RulesConfigError: rules.yaml:2:84: rule "a" field types may only list payment, authorize, payout',
  ],
  [
    item('{ id: a, kind: velocity, outcome: block, windowSeconds: 3, maxCount: 2, types: [5] }'),
    'RulesConfigError: rules.yaml:2:85: rule "a" field types: 5 ',
  ],
  [
    item('{ id: a, kind: velocity, outcome: block, windowSeconds: 3, maxCount: 2, types: [] }'),
    'RulesConfigError: rules.yaml:2:84: rule "a" field types must be a non-empty list',
  ],
  [
    item('{ id: a, kind: velocity, outcome: block, windowSeconds: 3, maxCount: 2, types: payment }'),
    'RulesConfigError: rules.yaml:2:84: rule "a" field types must be a non-empty list',
  ],
  [
    item(
      '{ id: a, kind: velocity, outcome: block, windowSeconds: 3, maxCount: 2, types: [payment, capture] }',
    ),
    'RulesConfigError: rules.yaml:2:84: rule "a" field types may only list payment, authorize, payout',
  ],
  [
    item('{ id: a, kind: velocity, windowSeconds: 3, maxCount: 2 }'),
    'RulesConfigError: rules.yaml:2:5: rule "a" is missing field outcome',
  ],
  [
    item('{ id: a, kind: velocity, outcome: block, windowSeconds: 3, maxCount: x, maxSum: 5 }'),
    'RulesConfigError: rules.yaml:2:74: rule "a" field maxCount must be a positive integer up to 65535',
  ],
  [
    item('{ id: a, kind: duplicate, outcome: block }'),
    'RulesConfigError: rules.yaml:2:5: rule "a" is missing field windowSeconds',
  ],
  [
    item('{ id: a, kind: duplicate, windowSeconds: 3 }'),
    'RulesConfigError: rules.yaml:2:5: rule "a" is missing field outcome',
  ],
  [
    item('{ id: a, kind: duplicate, outcome: block, windowSeconds: 604801 }'),
    'RulesConfigError: rules.yaml:2:62: rule "a" field windowSeconds must be a positive integer up to 604800',
  ],
  [
    item('{ id: a, kind: duplicate, scope: merchant, outcome: block, windowSeconds: 3 }'),
    'RulesConfigError: rules.yaml:2:38: rule "a" field scope must be one of card',
  ],
  [
    item('{ id: a, kind: anomaly_amount, outcome: review, multiple: 1, minOrders: 3 }'),
    'RulesConfigError: rules.yaml:2:63: rule "a" field multiple must be a number above 1 and up to 1000, with at most two decimals',
  ],
  [
    item('{ id: a, kind: anomaly_amount, outcome: review, multiple: 1001, minOrders: 3 }'),
    'RulesConfigError: rules.yaml:2:63: rule "a" field multiple must be a number above 1 and up to 1000, with at most two decimals',
  ],
  [
    item('{ id: a, kind: anomaly_amount, outcome: review, multiple: 2.555, minOrders: 3 }'),
    'RulesConfigError: rules.yaml:2:63: rule "a" field multiple must be a number above 1 and up to 1000, with at most two decimals',
  ],
  [
    item('{ id: a, kind: anomaly_amount, outcome: review, multiple: "3", minOrders: 3 }'),
    'RulesConfigError: rules.yaml:2:63: rule "a" field multiple must be a number above 1 and up to 1000, with at most two decimals',
  ],
  [
    item('{ id: a, kind: anomaly_amount, outcome: review, minOrders: 3 }'),
    'RulesConfigError: rules.yaml:2:5: rule "a" is missing field multiple',
  ],
  [
    item('{ id: a, kind: anomaly_amount, outcome: review, multiple: 3 }'),
    'RulesConfigError: rules.yaml:2:5: rule "a" is missing field minOrders',
  ],
  [
    item('{ id: a, kind: anomaly_amount, outcome: review, multiple: 3, minOrders: 0 }'),
    'RulesConfigError: rules.yaml:2:77: rule "a" field minOrders must be a positive integer up to 10000',
  ],
  [
    item('{ id: a, kind: anomaly_amount, multiple: 3, minOrders: 0 }'),
    'RulesConfigError: rules.yaml:2:5: rule "a" is missing field outcome',
  ],
  [
    item('{ id: a, kind: anomaly_amount, outcome: review, multiple: 3, minOrders: 10001 }'),
    'RulesConfigError: rules.yaml:2:77: rule "a" field minOrders must be a positive integer up to 10000',
  ],
  [
    item('{ id: a, kind: new_country, outcome: review, minOrders: 0 }'),
    'RulesConfigError: rules.yaml:2:61: rule "a" field minOrders must be a positive integer up to 10000',
  ],
  [
    item('{ id: a, kind: new_country, outcome: review, onlyAboveAverage: 1 }'),
    'RulesConfigError: rules.yaml:2:68: rule "a" field onlyAboveAverage must be true or false',
  ],
  [
    item('{ id: a, kind: new_country, minOrders: 0 }'),
    'RulesConfigError: rules.yaml:2:5: rule "a" is missing field outcome',
  ],
  [
    item('{ id: a, kind: new_country, outcome: review, minOrders: x, onlyAboveAverage: 1 }'),
    'RulesConfigError: rules.yaml:2:61: rule "a" field minOrders must be a positive integer up to 10000',
  ],
  [
    item('{ id: a, kind: decline_burst, outcome: block, windowSeconds: 3, maxDeclines: -1 }'),
    'RulesConfigError: rules.yaml:2:82: rule "a" field maxDeclines must be an integer from 0 to 65535',
  ],
  [
    item('{ id: a, kind: decline_burst, outcome: block, windowSeconds: 3, maxDeclines: 65536 }'),
    'RulesConfigError: rules.yaml:2:82: rule "a" field maxDeclines must be an integer from 0 to 65535',
  ],
  [
    item('{ id: a, kind: decline_burst, outcome: block, maxDeclines: 3 }'),
    'RulesConfigError: rules.yaml:2:5: rule "a" is missing field windowSeconds',
  ],
  [
    item('{ id: a, kind: decline_burst, outcome: block, windowSeconds: 3 }'),
    'RulesConfigError: rules.yaml:2:5: rule "a" is missing field maxDeclines',
  ],
  [
    item('{ id: a, kind: decline_burst, windowSeconds: 3, maxDeclines: 3 }'),
    'RulesConfigError: rules.yaml:2:5: rule "a" is missing field outcome',
  ],
  [
    'rules:\n  - id: ok\n    kind: stale\n    maxAgeSeconds: 3\n  - id: b\n    kind: velocity\n    outcome: block\n    windowSeconds: 3\n    maxSum:\n      - max: "1.00"\n        currency: EUR\n      - max: "x"\n        currency: USD\n',
    'RulesConfigError: rules.yaml:12:14: rule "b" field maxSum: max "x" is not a valid USD amount (invalid_amount)',
  ],
];

const UNCOMPILABLE: [string, { windowsMax: number }, string][] = [
  [
    '{ id: a, kind: velocity, outcome: block, windowSeconds: 3, maxCount: 4 }',
    { windowsMax: 4 },
    'RangeError: risk rule "a": maxCount 4 needs windowsMax above it (windowsMax is 4)',
  ],
  [
    '{ id: a, kind: decline_burst, outcome: block, windowSeconds: 3, maxDeclines: 4 }',
    { windowsMax: 4 },
    'RangeError: risk rule "a": maxDeclines 4 needs windowsMax above it (windowsMax is 4)',
  ],
  [
    '{ id: a, kind: decline_burst, outcome: block, windowSeconds: 3, maxDeclines: 3 }',
    { windowsMax: 4 },
    'OK',
  ],
];

const PARSED: [string, string][] = [
  [
    '{ id: a, kind: stale, maxAgeSeconds: 3, enabled: false, description: "old ones" }',
    '{"id":"a","scope":"global","enabled":false,"kind":"stale","maxAgeSeconds":3}',
  ],
  [
    '{ id: a, kind: future_skew, scope: global, maxSkewSeconds: 0 }',
    '{"id":"a","scope":"global","enabled":true,"kind":"future_skew","maxSkewSeconds":0}',
  ],
  [
    '{ id: a.b_c-1, kind: blocklist, list: bin, outcome: review, values: ["4", "411111", "5555"] }',
    '{"id":"a.b_c-1","scope":"global","enabled":true,"kind":"blocklist","outcome":"review","list":"bin","values":["4","411111","5555"]}',
  ],
  [
    '{ id: a, kind: blocklist, scope: merchant, list: merchant, outcome: allow, values: [m-1, "m 2"] }',
    '{"id":"a","scope":"merchant","enabled":true,"kind":"blocklist","outcome":"allow","list":"merchant","values":["m-1","m 2"]}',
  ],
  [
    '{ id: a, kind: blocklist, scope: card, list: card, outcome: block, values: ["00000000000000000000000000000000000000000000000000000000000000ff"] }',
    '{"id":"a","scope":"card","enabled":true,"kind":"blocklist","outcome":"block","list":"card","values":["00000000000000000000000000000000000000000000000000000000000000ff"]}',
  ],
  [
    '{ id: a, kind: blocklist, scope: account, list: country, outcome: block, values: [US, FR] }',
    '{"id":"a","scope":"account","enabled":true,"kind":"blocklist","outcome":"block","list":"country","values":["US","FR"]}',
  ],
  [
    '{ id: a, kind: amount_limit, period: order, outcome: block, limits: [{max: "1", currencies: [USD, EUR]}, {max: "250", currency: JPY}] }',
    '{"id":"a","scope":"global","enabled":true,"kind":"amount_limit","outcome":"block","period":"order","limits":[{"currency":"USD","maxMinor":"100n"},{"currency":"EUR","maxMinor":"100n"},{"currency":"JPY","maxMinor":"250n"}]}',
  ],
  [
    '{ id: a, kind: amount_limit, period: day, scope: account, outcome: review, max: "100.00", currency: EUR }',
    '{"id":"a","scope":"account","enabled":true,"kind":"amount_limit","outcome":"review","period":"day","limits":[{"currency":"EUR","maxMinor":"10000n"}]}',
  ],
  [
    '{ id: a, kind: amount_limit, period: day, scope: card, outcome: review, max: "0.01", currencies: [USD] }',
    '{"id":"a","scope":"card","enabled":true,"kind":"amount_limit","outcome":"review","period":"day","limits":[{"currency":"USD","maxMinor":"1n"}]}',
  ],
  [
    '{ id: a, kind: velocity, outcome: review, windowSeconds: 60, maxCount: 3 }',
    '{"id":"a","scope":"card","enabled":true,"kind":"velocity","outcome":"review","windowSeconds":60,"maxCount":3,"maxSum":"<undefined>","types":["payment","authorize"]}',
  ],
  [
    '{ id: a, kind: velocity, scope: merchant, outcome: block, windowSeconds: 1, maxSum: {max: "10", currency: USD}, types: [payout] }',
    '{"id":"a","scope":"merchant","enabled":true,"kind":"velocity","outcome":"block","windowSeconds":1,"maxCount":"<undefined>","maxSum":[{"currency":"USD","maxMinor":"1000n"}],"types":["payout"]}',
  ],
  [
    '{ id: a, kind: velocity, outcome: block, windowSeconds: 5, maxCount: 9, maxSum: [{max: "10", currencies: [USD, EUR]}], types: [payment, authorize, payout] }',
    '{"id":"a","scope":"card","enabled":true,"kind":"velocity","outcome":"block","windowSeconds":5,"maxCount":9,"maxSum":[{"currency":"USD","maxMinor":"1000n"},{"currency":"EUR","maxMinor":"1000n"}],"types":["payment","authorize","payout"]}',
  ],
  [
    '{ id: a, kind: duplicate, scope: card, outcome: allow, windowSeconds: 604800 }',
    '{"id":"a","scope":"card","enabled":true,"kind":"duplicate","outcome":"allow","windowSeconds":604800}',
  ],
  [
    '{ id: a, kind: anomaly_amount, outcome: review, multiple: 2.5, minOrders: 1 }',
    '{"id":"a","scope":"card","enabled":true,"kind":"anomaly_amount","outcome":"review","multiple":2.5,"minOrders":1}',
  ],
  [
    '{ id: a, kind: new_country, outcome: review }',
    '{"id":"a","scope":"card","enabled":true,"kind":"new_country","outcome":"review","minOrders":1,"onlyAboveAverage":false}',
  ],
  [
    '{ id: a, kind: new_country, outcome: block, minOrders: 4, onlyAboveAverage: true }',
    '{"id":"a","scope":"card","enabled":true,"kind":"new_country","outcome":"block","minOrders":4,"onlyAboveAverage":true}',
  ],
  [
    '{ id: a, kind: decline_burst, outcome: block, windowSeconds: 3, maxDeclines: 0 }',
    '{"id":"a","scope":"card","enabled":true,"kind":"decline_burst","outcome":"block","windowSeconds":3,"maxDeclines":0}',
  ],
];

describe('parseRules, pinned', () => {
  it.each(DOCUMENTS)('%j gives %j', (text, message) => {
    expect(messageOf(() => parseRules(text, 'rules.yaml'))).toBe(message);
  });

  it.each(PARSED)('%s builds %s', (rule, json) => {
    expect(pinned(parseRules(item(rule), 'rules.yaml').rules[0])).toBe(json);
  });

  it('reads data/risk.yaml into the rule set pinned in risk-yaml.expected.json', async () => {
    const text = await readFile(new URL('../../../data/risk.yaml', import.meta.url), 'utf8');
    const expected = await readFile(new URL('./risk-yaml.expected.json', import.meta.url), 'utf8');
    // re-serialized, so a formatter's line breaks in the file do not matter (key order still does)
    expect(pinned(parseRules(text, 'data/risk.yaml'), 2)).toBe(JSON.stringify(JSON.parse(expected), null, 2));
  });
});

describe('compiling a rule set, pinned', () => {
  it.each(UNCOMPILABLE)('%s with %j gives %j', (rule, options, message) => {
    expect(messageOf(() => new RiskEngine(parseRules(item(rule), 'rules.yaml'), options))).toBe(message);
  });

  it('refuses a rule set with an id twice, disabled or not', () => {
    const rule = { id: 'a', kind: 'stale', scope: 'global', maxAgeSeconds: 1 } as const;
    const set = {
      rules: [
        { ...rule, enabled: true },
        { ...rule, enabled: false },
      ],
    };
    expect(messageOf(() => new RiskEngine(set))).toBe('RangeError: duplicate risk rule id "a"');
  });
});
