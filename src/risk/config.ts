// Reads and validates the risk rules file (YAML or JSON), with errors that point at the line and column.
import { readFile } from 'node:fs/promises';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type YAMLMap } from 'yaml';
import { parseAmount } from '../domain/money.ts';
import {
  ATTEMPT_TYPES,
  type AttemptType,
  BLOCKLIST_FIELDS,
  type BlocklistField,
  type MoneyLimit,
  RULE_KINDS,
  RULE_SCOPES,
  type Rule,
  type RuleKind,
  type RuleOutcome,
  type RuleScope,
  type RuleSet,
} from '../domain/risk/rules.ts';

/** A rules file that cannot be used; `message` reads `file:line:col: what is wrong`. */
export class RulesConfigError extends Error {
  constructor(
    readonly sourceName: string,
    readonly line: number,
    readonly col: number,
    readonly detail: string,
  ) {
    super(`${sourceName}:${line}:${col}: ${detail}`);
    this.name = 'RulesConfigError';
  }
}

/** Reads `path` and parses it with `parseRules`; an unreadable file is a RulesConfigError at 1:1. */
export async function loadRules(path: string): Promise<RuleSet> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new RulesConfigError(path, 1, 1, `cannot read the rules file: ${(err as Error).message}`);
  }
  return parseRules(text, path);
}

const OUTCOMES: readonly RuleOutcome[] = ['allow', 'review', 'block'];
const COMMON_FIELDS = ['id', 'kind', 'scope', 'outcome', 'enabled', 'description'];
/** Fields each kind accepts besides the common ones. */
const KIND_FIELDS: Readonly<Record<RuleKind, readonly string[]>> = {
  stale: ['maxAgeSeconds'],
  future_skew: ['maxSkewSeconds'],
  blocklist: ['list', 'values'],
  amount_limit: ['period', 'max', 'currency', 'currencies', 'limits'],
  velocity: ['windowSeconds', 'maxCount', 'maxSum', 'types'],
  duplicate: ['windowSeconds'],
  anomaly_amount: ['multiple', 'minOrders'],
  new_country: ['minOrders', 'onlyAboveAverage'],
  decline_burst: ['windowSeconds', 'maxDeclines'],
};
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const TOKEN_RE = /^[0-9a-f]{64}$/;
const BIN_RE = /^\d{1,6}$/;
const MCC_RE = /^\d{4}$/;
const COUNTRY_RE = /^[A-Z]{2}$/;
const CURRENCY_RE = /^[A-Z]{3}$/;
/** A week: longer windows would keep more state than a stream processor should. */
const WINDOW_SECONDS_MAX = 7 * 24 * 3600;

/** Parses and validates a rule set from YAML or JSON text (JSON is YAML). `sourceName` prefixes messages. */
export function parseRules(text: string, sourceName: string): RuleSet {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): { line: number; col: number } => lineCounter.linePos(offset);
  const firstError = doc.errors[0];
  if (firstError !== undefined) {
    const { line, col } = at(firstError.pos[0]);
    throw new RulesConfigError(sourceName, line, col, firstError.message.split('\n')[0] ?? 'syntax error');
  }
  const fail = (node: Node | null | undefined, detail: string): never => {
    const { line, col } = at(node?.range?.[0] ?? 0);
    throw new RulesConfigError(sourceName, line, col, detail);
  };

  const root = doc.contents;
  if (!isMap(root)) return fail(root, 'expected a map with a "rules" list at the top');
  const top = fieldsOf(root, fail, 'the top level');
  for (const [name, { key }] of top) {
    if (name !== 'version' && name !== 'rules')
      fail(key, `unknown top-level field "${name}" (expected version, rules)`);
  }
  const version = top.get('version');
  if (version !== undefined && !(isScalar(version.value) && version.value.value === 1)) {
    fail(version.value, 'version must be 1');
  }
  const rulesField = top.get('rules');
  if (rulesField === undefined) return fail(root, 'missing field "rules" (a list of rules)');
  const list = rulesField.value;
  if (!isSeq(list)) return fail(list ?? rulesField.key, 'field rules must be a list');

  const rules: Rule[] = [];
  const idsAt = new Map<string, number>();
  for (const [index, item] of list.items.entries()) {
    const node = item as Node;
    if (!isMap(node)) return fail(node, `rule #${index + 1} must be a map`);
    const rule = parseRule(node, index, fail);
    const firstLine = idsAt.get(rule.id);
    if (firstLine !== undefined) {
      fail(
        node.get('id', true) as Node,
        `duplicate rule id "${rule.id}" (first defined at line ${firstLine})`,
      );
    }
    idsAt.set(rule.id, at(node.range?.[0] ?? 0).line);
    rules.push(rule);
  }
  return { rules, source: sourceName };
}

type Fail = (node: Node | null | undefined, detail: string) => never;
interface Field {
  key: Node;
  value: Node | null;
}

function fieldsOf(map: YAMLMap, fail: Fail, where: string): Map<string, Field> {
  const out = new Map<string, Field>();
  for (const pair of map.items) {
    const key = pair.key as Node;
    if (!isScalar(key) || typeof key.value !== 'string') fail(key, `field names in ${where} must be strings`);
    out.set((key as { value: string }).value, { key, value: (pair.value as Node | null) ?? null });
  }
  return out;
}

function parseRule(map: YAMLMap, index: number, fail: Fail): Rule {
  const fields = fieldsOf(map, fail, `rule #${index + 1}`);
  let label = `rule #${index + 1}`;

  const idField = fields.get('id');
  if (idField === undefined) return fail(map, `${label} has no id`);
  const idNode = idField.value;
  if (!isScalar(idNode) || typeof idNode.value !== 'string' || !ID_RE.test(idNode.value)) {
    return fail(idNode ?? idField.key, `${label} id must be 1-64 letters, digits, '.', '_' or '-'`);
  }
  const id = idNode.value;
  label = `rule "${id}"`;

  // Readers: each points at the offending node and names the rule and field.
  const value = (name: string): Node | null | undefined => fields.get(name)?.value;
  const where = (name: string): Node => fields.get(name)?.value ?? fields.get(name)?.key ?? map;
  const bad = (name: string, must: string): never => fail(where(name), `${label} field ${name} ${must}`);
  const required = (name: string): Node => {
    const node = value(name);
    if (node === undefined) return fail(map, `${label} is missing field ${name}`);
    if (node === null) return bad(name, 'has no value');
    return node;
  };
  const scalar = (name: string): unknown => {
    const node = required(name);
    return isScalar(node) ? node.value : undefined;
  };
  const str = (name: string, re?: RegExp, must = 'must be a string'): string => {
    const v = scalar(name);
    if (typeof v !== 'string' || (re !== undefined && !re.test(v))) return bad(name, must);
    return v;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[]): T => {
    const v = scalar(name);
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      return bad(name, `must be one of ${allowed.join(', ')}`);
    }
    return v as T;
  };
  const int = (name: string, min: number, max: number): number => {
    const v = scalar(name);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      return bad(
        name,
        min === 1 ? `must be a positive integer up to ${max}` : `must be an integer from ${min} to ${max}`,
      );
    }
    return v;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    if (!fields.has(name)) return fallback;
    const v = scalar(name);
    if (typeof v !== 'boolean') return bad(name, 'must be true or false');
    return v;
  };
  const stringList = (name: string, re: RegExp, must: string): string[] => {
    const node = required(name);
    if (!isSeq(node) || node.items.length === 0) return bad(name, 'must be a non-empty list');
    return node.items.map((item) => {
      const n = item as Node;
      if (!isScalar(n) || typeof n.value !== 'string' || !re.test(n.value)) {
        return fail(n, `${label} field ${name}: ${JSON.stringify(isScalar(n) ? n.value : null)} ${must}`);
      }
      return n.value;
    });
  };
  const moneyLimits = (node: Node, name: string, out: MoneyLimit[]): void => {
    if (!isMap(node)) return void fail(node, `${label} field ${name} must be a map with max and currency`);
    const f = fieldsOf(node, fail, `${label} field ${name}`);
    for (const [k, { key }] of f) {
      if (k !== 'max' && k !== 'currency' && k !== 'currencies') {
        fail(key, `${label} field ${name} has unknown field "${k}" (expected max, currency or currencies)`);
      }
    }
    moneyFrom(f, node, name, out);
  };
  const moneyFrom = (f: Map<string, Field>, owner: Node, name: string, out: MoneyLimit[]): void => {
    // On the rule itself (name 'max') fields are named directly; nested ones under their parent.
    const p = name === 'max' ? `${label} field` : `${label} field ${name}:`;
    const maxField = f.get('max');
    if (maxField === undefined) return void fail(owner, `${p} max is missing`);
    const currencyNodes: Node[] = [];
    const one = f.get('currency');
    const many = f.get('currencies');
    if ((one === undefined) === (many === undefined)) {
      return void fail(owner, `${p} needs either currency or currencies`);
    }
    if (one !== undefined) currencyNodes.push(one.value ?? one.key);
    else {
      const seq = many!.value;
      if (!isSeq(seq) || seq.items.length === 0)
        return void fail(seq ?? many!.key, `${p} currencies must be a non-empty list`);
      for (const item of seq.items) currencyNodes.push(item as Node);
    }
    const maxNode = maxField.value;
    for (const cNode of currencyNodes) {
      const currency = isScalar(cNode) ? cNode.value : undefined;
      if (typeof currency !== 'string' || !CURRENCY_RE.test(currency)) {
        fail(cNode, `${p} currency must be a three-letter uppercase ISO 4217 code`);
      }
      const c = currency as string;
      const raw = isScalar(maxNode) ? maxNode.value : undefined;
      const parsed = parseAmount(raw, c);
      if (!parsed.ok) {
        if (parsed.reason === 'unknown_currency')
          fail(cNode, `${p} currency ${c} is not one paystream knows`);
        if (parsed.reason === 'amount_not_string') {
          fail(maxNode ?? maxField.key, `${p} max must be a quoted decimal string such as "10000.00"`);
        }
        fail(
          maxNode ?? maxField.key,
          `${p} max ${JSON.stringify(raw)} is not a valid ${c} amount (${parsed.reason})`,
        );
      }
      if (out.some((l) => l.currency === c)) fail(cNode, `${p} currency ${c} is listed twice`);
      out.push({ currency: c, maxMinor: (parsed as { amountMinor: bigint }).amountMinor });
    }
  };

  const kindName = scalar('kind');
  if (typeof kindName !== 'string' || !(RULE_KINDS as readonly string[]).includes(kindName)) {
    return bad('kind', `is unknown: ${JSON.stringify(kindName)} (expected one of ${RULE_KINDS.join(', ')})`);
  }
  const kind = kindName as RuleKind;
  const allowedFields = new Set([...COMMON_FIELDS, ...KIND_FIELDS[kind]]);
  for (const [name, { key }] of fields) {
    if (!allowedFields.has(name)) {
      fail(
        key,
        `${label} has unknown field "${name}" for kind ${kind} (expected ${[...allowedFields].join(', ')})`,
      );
    }
  }
  const scopes = RULE_SCOPES[kind];
  const scope: RuleScope = fields.has('scope') ? oneOf('scope', scopes) : scopes[0]!;
  const enabled = bool('enabled', true);
  if (fields.has('description')) str('description');
  const base = { id, scope, enabled };
  const timed = kind === 'stale' || kind === 'future_skew';
  if (timed && fields.has('outcome')) {
    bad('outcome', `is fixed for kind ${kind} (${kind === 'stale' ? 'expire' : 'reject'}): leave it out`);
  }
  const outcome = (): RuleOutcome => oneOf('outcome', OUTCOMES);
  const windowSeconds = (): number => int('windowSeconds', 1, WINDOW_SECONDS_MAX);

  switch (kind) {
    case 'stale':
      return { ...base, kind, maxAgeSeconds: int('maxAgeSeconds', 1, WINDOW_SECONDS_MAX) };
    case 'future_skew':
      return { ...base, kind, maxSkewSeconds: int('maxSkewSeconds', 0, WINDOW_SECONDS_MAX) };
    case 'blocklist': {
      const list = oneOf<BlocklistField>('list', BLOCKLIST_FIELDS);
      const formats: Record<BlocklistField, [RegExp, string]> = {
        card: [TOKEN_RE, 'is not a card token (64 lowercase hex characters)'],
        bin: [BIN_RE, 'is not a BIN prefix (1 to 6 digits)'],
        merchant: [/^.+$/, 'is not a merchant id'],
        mcc: [MCC_RE, 'is not a merchant category code (4 digits)'],
        country: [COUNTRY_RE, 'is not an ISO 3166 alpha-2 country code (two uppercase letters)'],
      };
      const [re, must] = formats[list];
      return { ...base, kind, outcome: outcome(), list, values: stringList('values', re, must) };
    }
    case 'amount_limit': {
      const period = oneOf('period', ['order', 'day'] as const);
      if (period === 'order' && scope !== 'global') bad('scope', 'must be global for period order');
      if (period === 'day' && scope === 'global') bad('scope', 'must be card or account for period day');
      const limits: MoneyLimit[] = [];
      if (fields.has('limits')) {
        if (fields.has('max') || fields.has('currency') || fields.has('currencies')) {
          bad('limits', 'cannot be combined with max/currency/currencies');
        }
        const seq = required('limits');
        if (!isSeq(seq) || seq.items.length === 0)
          bad('limits', 'must be a non-empty list of { max, currency }');
        for (const item of (seq as { items: unknown[] }).items) moneyLimits(item as Node, 'limits', limits);
      } else {
        moneyFrom(fields, map, 'max', limits);
      }
      return { ...base, kind, outcome: outcome(), period, limits };
    }
    case 'velocity': {
      const w = windowSeconds();
      const maxCount = fields.has('maxCount') ? int('maxCount', 1, 65_535) : undefined;
      let maxSum: MoneyLimit[] | undefined;
      if (fields.has('maxSum')) {
        maxSum = [];
        const node = required('maxSum');
        if (isSeq(node)) {
          if (node.items.length === 0) bad('maxSum', 'must not be an empty list');
          for (const item of node.items) moneyLimits(item as Node, 'maxSum', maxSum);
        } else moneyLimits(node, 'maxSum', maxSum);
      }
      if (maxCount === undefined && maxSum === undefined)
        fail(map, `${label} needs maxCount, maxSum or both`);
      const types: AttemptType[] = fields.has('types')
        ? (stringList('types', /^.*$/, '') as AttemptType[])
        : ['payment', 'authorize'];
      for (const t of types) {
        if (!(ATTEMPT_TYPES as readonly string[]).includes(t))
          bad('types', `may only list ${ATTEMPT_TYPES.join(', ')}`);
      }
      return { ...base, kind, outcome: outcome(), windowSeconds: w, maxCount, maxSum, types };
    }
    case 'duplicate':
      return { ...base, kind, outcome: outcome(), windowSeconds: windowSeconds() };
    case 'anomaly_amount': {
      const v = scalar('multiple');
      if (typeof v !== 'number' || !(v > 1) || v > 1000 || Math.round(v * 100) !== v * 100) {
        bad('multiple', 'must be a number above 1 and up to 1000, with at most two decimals');
      }
      return {
        ...base,
        kind,
        outcome: outcome(),
        multiple: v as number,
        minOrders: int('minOrders', 1, 10_000),
      };
    }
    case 'new_country':
      return {
        ...base,
        kind,
        outcome: outcome(),
        minOrders: fields.has('minOrders') ? int('minOrders', 1, 10_000) : 1,
        onlyAboveAverage: bool('onlyAboveAverage', false),
      };
    case 'decline_burst':
      return {
        ...base,
        kind,
        outcome: outcome(),
        windowSeconds: windowSeconds(),
        maxDeclines: int('maxDeclines', 0, 65_535),
      };
  }
}
