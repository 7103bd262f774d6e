// Parses the text of a rules file (YAML or JSON) into a RuleSet, with errors that point at the line and column.
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type YAMLMap } from 'yaml';
import { parseAmount } from '../money.ts';
import type { RuleReader } from './kind.ts';
import { kindNamed, RULE_KINDS } from './kinds.ts';
import { type MoneyLimit, RULE_OUTCOMES, type Rule, type RuleOutcome, type RuleSet } from './rules.ts';

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

const COMMON_FIELDS = ['id', 'kind', 'scope', 'outcome', 'enabled', 'description'];
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const CURRENCY_RE = /^[A-Z]{3}$/;

type Fail = (node: Node | null | undefined, detail: string) => never;
interface Field {
  key: Node;
  value: Node | null;
}

/** Parses and validates a rule set from YAML or JSON text (JSON is YAML). `sourceName` prefixes messages. */
export function parseRules(text: string, sourceName: string): RuleSet {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOf = (node: Node | null | undefined): number => lineCounter.linePos(node?.range?.[0] ?? 0).line;
  const fail: Fail = (node, detail) => {
    const { line, col } = lineCounter.linePos(node?.range?.[0] ?? 0);
    throw new RulesConfigError(sourceName, line, col, detail);
  };
  const firstError = doc.errors[0];
  if (firstError !== undefined) {
    const { line, col } = lineCounter.linePos(firstError.pos[0]);
    throw new RulesConfigError(sourceName, line, col, firstError.message.split('\n')[0] ?? 'syntax error');
  }
  const list = ruleList(doc.contents, fail);
  const rules: Rule[] = [];
  const idsAt = new Map<string, number>();
  for (const [index, item] of list.entries()) {
    if (!isMap(item)) return fail(item, `rule #${index + 1} must be a map`);
    const rule = parseRule(item, index, fail);
    const firstLine = idsAt.get(rule.id);
    if (firstLine !== undefined) {
      fail(
        item.get('id', true) as Node,
        `duplicate rule id "${rule.id}" (first defined at line ${firstLine})`,
      );
    }
    idsAt.set(rule.id, lineOf(item));
    rules.push(rule);
  }
  return { rules, source: sourceName };
}

/** The items of the top-level `rules` list, after checking the top level holds only version and rules. */
function ruleList(root: Node | null, fail: Fail): Node[] {
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
  return list.items as Node[];
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

/** The fields every rule shares (id, kind, scope, enabled, description), then its kind's own. */
function parseRule(map: YAMLMap, index: number, fail: Fail): Rule {
  const fields = fieldsOf(map, fail, `rule #${index + 1}`);
  const id = ruleId(map, fields, `rule #${index + 1}`, fail);
  const read = new YamlRuleReader(map, fields, `rule "${id}"`, fail);
  const kindName = read.scalar('kind');
  const kind = kindNamed(kindName);
  if (kind === undefined) {
    return read.bad(
      'kind',
      `is unknown: ${JSON.stringify(kindName)} (expected one of ${RULE_KINDS.join(', ')})`,
    );
  }
  const allowedFields = new Set([...COMMON_FIELDS, ...kind.fields]);
  for (const [name, { key }] of fields) {
    if (!allowedFields.has(name)) {
      fail(
        key,
        `${read.label} has unknown field "${name}" for kind ${kindName} (expected ${[...allowedFields].join(', ')})`,
      );
    }
  }
  const scope = fields.has('scope') ? read.oneOf('scope', kind.scopes) : kind.scopes[0]!;
  const enabled = read.bool('enabled', true);
  if (fields.has('description')) read.str('description');
  if (kind.fixedOutcome !== undefined && fields.has('outcome')) {
    read.bad('outcome', `is fixed for kind ${kindName} (${kind.fixedOutcome}): leave it out`);
  }
  return kind.parse(read, { id, scope, enabled }) as Rule;
}

function ruleId(map: YAMLMap, fields: Map<string, Field>, label: string, fail: Fail): string {
  const idField = fields.get('id');
  if (idField === undefined) return fail(map, `${label} has no id`);
  const idNode = idField.value;
  if (!isScalar(idNode) || typeof idNode.value !== 'string' || !ID_RE.test(idNode.value)) {
    return fail(idNode ?? idField.key, `${label} id must be 1-64 letters, digits, '.', '_' or '-'`);
  }
  return idNode.value;
}

/** Reads one rule's fields from its YAML map; each error points at the offending node and names the rule. */
class YamlRuleReader implements RuleReader {
  constructor(
    private readonly map: YAMLMap,
    private readonly fields: Map<string, Field>,
    readonly label: string,
    private readonly fail: Fail,
  ) {}

  has(name: string): boolean {
    return this.fields.has(name);
  }

  private where(name: string): Node {
    return this.fields.get(name)?.value ?? this.fields.get(name)?.key ?? this.map;
  }

  bad(name: string, must: string): never {
    return this.fail(this.where(name), `${this.label} field ${name} ${must}`);
  }

  badRule(detail: string): never {
    return this.fail(this.map, `${this.label} ${detail}`);
  }

  private required(name: string): Node {
    const node = this.fields.get(name)?.value;
    if (node === undefined) return this.fail(this.map, `${this.label} is missing field ${name}`);
    if (node === null) return this.bad(name, 'has no value');
    return node;
  }

  scalar(name: string): unknown {
    const node = this.required(name);
    return isScalar(node) ? node.value : undefined;
  }

  str(name: string): string {
    const v = this.scalar(name);
    if (typeof v !== 'string') return this.bad(name, 'must be a string');
    return v;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const v = this.scalar(name);
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      return this.bad(name, `must be one of ${allowed.join(', ')}`);
    }
    return v as T;
  }

  outcome(): RuleOutcome {
    return this.oneOf('outcome', RULE_OUTCOMES);
  }

  int(name: string, min: number, max: number): number {
    const v = this.scalar(name);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      const must =
        min === 1 ? `must be a positive integer up to ${max}` : `must be an integer from ${min} to ${max}`;
      return this.bad(name, must);
    }
    return v;
  }

  bool(name: string, fallback: boolean): boolean {
    if (!this.fields.has(name)) return fallback;
    const v = this.scalar(name);
    if (typeof v !== 'boolean') return this.bad(name, 'must be true or false');
    return v;
  }

  stringList(name: string, pattern: RegExp, must: string): string[] {
    const node = this.required(name);
    if (!isSeq(node) || node.items.length === 0) return this.bad(name, 'must be a non-empty list');
    return node.items.map((item) => {
      const n = item as Node;
      if (!isScalar(n) || typeof n.value !== 'string' || !pattern.test(n.value)) {
        const shown = JSON.stringify(isScalar(n) ? n.value : null);
        return this.fail(n, `${this.label} field ${name}: ${shown} ${must}`);
      }
      return n.value;
    });
  }

  moneyLimits(name: string, form: 'list' | 'map or list'): MoneyLimit[] {
    const node = this.required(name);
    const out: MoneyLimit[] = [];
    if (form === 'list' && (!isSeq(node) || node.items.length === 0)) {
      this.bad(name, 'must be a non-empty list of { max, currency }');
    }
    if (!isSeq(node)) {
      this.moneyMap(node, name, out);
      return out;
    }
    if (node.items.length === 0) this.bad(name, 'must not be an empty list');
    for (const item of node.items) this.moneyMap(item as Node, name, out);
    return out;
  }

  inlineMoneyLimits(): MoneyLimit[] {
    const out: MoneyLimit[] = [];
    this.moneyFrom(this.fields, this.map, `${this.label} field`, out);
    return out;
  }

  /** One { max, currency or currencies } map under the field `name`. */
  private moneyMap(node: Node, name: string, out: MoneyLimit[]): void {
    if (!isMap(node))
      return void this.fail(node, `${this.label} field ${name} must be a map with max and currency`);
    const f = fieldsOf(node, this.fail, `${this.label} field ${name}`);
    for (const [k, { key }] of f) {
      if (k !== 'max' && k !== 'currency' && k !== 'currencies') {
        this.fail(
          key,
          `${this.label} field ${name} has unknown field "${k}" (expected max, currency or currencies)`,
        );
      }
    }
    this.moneyFrom(f, node, `${this.label} field ${name}:`, out);
  }

  /** A max with its currency or currencies from `f`, one limit per currency; `p` prefixes messages. */
  private moneyFrom(f: Map<string, Field>, owner: Node, p: string, out: MoneyLimit[]): void {
    const maxField = f.get('max');
    if (maxField === undefined) return void this.fail(owner, `${p} max is missing`);
    const one = f.get('currency');
    const many = f.get('currencies');
    if ((one === undefined) === (many === undefined)) {
      return void this.fail(owner, `${p} needs either currency or currencies`);
    }
    const currencyNodes: Node[] = [];
    if (one !== undefined) currencyNodes.push(one.value ?? one.key);
    else {
      const seq = many!.value;
      if (!isSeq(seq) || seq.items.length === 0)
        return void this.fail(seq ?? many!.key, `${p} currencies must be a non-empty list`);
      for (const item of seq.items) currencyNodes.push(item as Node);
    }
    for (const cNode of currencyNodes) out.push(this.moneyLimit(maxField, cNode, p, out));
  }

  /** The max in one currency, checked against the limits read so far. */
  private moneyLimit(maxField: Field, cNode: Node, p: string, out: readonly MoneyLimit[]): MoneyLimit {
    const currency = isScalar(cNode) ? cNode.value : undefined;
    if (typeof currency !== 'string' || !CURRENCY_RE.test(currency)) {
      this.fail(cNode, `${p} currency must be a three-letter uppercase ISO 4217 code`);
    }
    const c = currency as string;
    const maxNode = maxField.value;
    const raw = isScalar(maxNode) ? maxNode.value : undefined;
    const parsed = parseAmount(raw, c);
    if (!parsed.ok) {
      if (parsed.reason === 'unknown_currency')
        this.fail(cNode, `${p} currency ${c} is not one paystream knows`);
      if (parsed.reason === 'amount_not_string') {
        this.fail(maxNode ?? maxField.key, `${p} max must be a quoted decimal string such as "10000.00"`);
      }
      this.fail(
        maxNode ?? maxField.key,
        `${p} max ${JSON.stringify(raw)} is not a valid ${c} amount (${parsed.reason})`,
      );
    }
    if (out.some((l) => l.currency === c)) this.fail(cNode, `${p} currency ${c} is listed twice`);
    return { currency: c, maxMinor: (parsed as { amountMinor: bigint }).amountMinor };
  }
}
