// Rule kind `blocklist`: the order's card token, card BIN prefix, merchant, MCC or country is listed.
import type { CompiledBase, Finding, OrderFacts, RuleKindModule } from '../kind.ts';
import { findingBase } from '../kind.ts';
import type { RuleBase, RuleOutcome } from '../rules.ts';

export const BLOCKLIST_FIELDS = ['card', 'bin', 'merchant', 'mcc', 'country'] as const;
export type BlocklistField = (typeof BLOCKLIST_FIELDS)[number];

/** The order's card token / card BIN prefix (from Card.first6) / merchant / MCC / country is listed. */
export interface BlocklistRule extends RuleBase {
  kind: 'blocklist';
  outcome: RuleOutcome;
  list: BlocklistField;
  /** bins: digit prefixes of 1 to 6 digits; countries: ISO 3166 alpha-2, uppercase */
  values: readonly string[];
}

interface CompiledBlocklist extends CompiledBase {
  decision: Finding;
  list: BlocklistField;
  values: Set<string>;
  /** the lengths of the listed BIN prefixes, shortest first: one lookup per length */
  binLengths: number[];
}

/** What a listed value must look like, and what the error says one that does not is not. */
const VALUE_FORMATS: Readonly<Record<BlocklistField, readonly [RegExp, string]>> = {
  card: [/^[0-9a-f]{64}$/, 'is not a card token (64 lowercase hex characters)'],
  bin: [/^\d{1,6}$/, 'is not a BIN prefix (1 to 6 digits)'],
  merchant: [/^.+$/, 'is not a merchant id'],
  mcc: [/^\d{4}$/, 'is not a merchant category code (4 digits)'],
  country: [/^[A-Z]{2}$/, 'is not an ISO 3166 alpha-2 country code (two uppercase letters)'],
};

function listedValue(rule: CompiledBlocklist, { order, cardToken }: OrderFacts): string | undefined {
  switch (rule.list) {
    case 'card':
      return cardToken;
    case 'merchant':
      return order.merchant;
    case 'mcc':
      return order.mcc;
    case 'country':
      return order.country;
    case 'bin':
      return undefined;
  }
}

function binListed(rule: CompiledBlocklist, facts: OrderFacts): boolean {
  const first6 = facts.input.card?.first6;
  if (first6 === undefined) return false;
  for (const length of rule.binLengths) {
    if (rule.values.has(first6.slice(0, length))) return true;
  }
  return false;
}

export const blocklist: RuleKindModule<BlocklistRule, CompiledBlocklist> = {
  phase: 'list',
  scopes: ['global', 'card', 'account', 'merchant'],
  fields: ['list', 'values'],
  parse: (read, base) => {
    const list = read.oneOf('list', BLOCKLIST_FIELDS);
    const [pattern, must] = VALUE_FORMATS[list];
    return {
      ...base,
      kind: 'blocklist',
      outcome: read.outcome(),
      list,
      values: read.stringList('values', pattern, must),
    };
  },
  compile: (rule) => ({
    ...findingBase(rule, `blocklist_${rule.list}`),
    list: rule.list,
    values: new Set(rule.list === 'country' ? rule.values.map((v) => v.toUpperCase()) : rule.values),
    binLengths: rule.list === 'bin' ? [...new Set(rule.values.map((v) => v.length))].sort() : [],
  }),
  check: (rule, facts) => {
    if (rule.list === 'bin') return binListed(rule, facts) ? rule.decision : undefined;
    const value = listedValue(rule, facts);
    return value !== undefined && rule.values.has(value) ? rule.decision : undefined;
  },
};
