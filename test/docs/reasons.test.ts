// The README's reason tables name exactly the codes of the closed lists in src/domain/reasons.ts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as reasons from '../../src/domain/reasons.ts';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** Each closed list in reasons.ts and the first header cell of the README table that explains it. */
const TABLE_TITLES: Record<string, string> = {
  DECLINE_REASONS: 'decline reason',
  REJECT_REASONS: 'reject reason',
  DEAD_LETTER_REASONS: 'dead-letter reason',
  BATCH_REASONS: 'batch reason',
  SERVICE_ERROR_CODES: 'error code',
  RISK_REASONS: 'risk reason',
  VIOLATION_CODES: 'violation code',
  CLI_ERROR_CODES: 'CLI error code',
  NATS_ERROR_CODES: 'NATS error code',
};

const CODE_CELL_RE = /^`([a-z][a-z0-9_]*)`$/;

/** The closed lists reasons.ts exports (constant objects of code -> sentence), by name. */
function closedLists(): Map<string, string[]> {
  const lists = new Map<string, string[]>();
  for (const [name, value] of Object.entries(reasons)) {
    if (typeof value === 'object' && value !== null) lists.set(name, Object.keys(value));
  }
  return lists;
}

/**
 * The codes in the first column of the one markdown table whose header row starts with `| <title> |`, in
 * table order. Throws when there is no such table, more than one, or a first cell that is not one code.
 */
function tableCodes(markdown: string, title: string): string[] {
  const lines = markdown.split('\n');
  const starts = lines.flatMap((line, i) => (line.startsWith(`| ${title} |`) ? [i] : []));
  if (starts.length !== 1) throw new Error(`${starts.length} tables headed "${title}", want 1`);
  const codes: string[] = [];
  for (const line of lines.slice(starts[0]! + 2)) {
    if (!line.startsWith('|')) break;
    const cell = line.split('|')[1]!.trim();
    const code = CODE_CELL_RE.exec(cell)?.[1];
    if (code === undefined) throw new Error(`table "${title}": first cell ${JSON.stringify(cell)} is not one \`code\``);
    codes.push(code);
  }
  return codes;
}

/** How a table differs from its list: codes it lacks, codes on no list, codes it names twice. */
function differences(codes: readonly string[], list: readonly string[]) {
  return {
    missing: list.filter((c) => !codes.includes(c)),
    notOnTheList: codes.filter((c) => !list.includes(c)),
    namedTwice: codes.filter((c, i) => codes.indexOf(c) !== i),
  };
}

const NONE = { missing: [], notOnTheList: [], namedTwice: [] };

describe('README reason tables', () => {
  it('give every closed list in reasons.ts a table, and no table to a list that is gone', () => {
    expect([...closedLists().keys()].sort()).toEqual(Object.keys(TABLE_TITLES).sort());
  });

  for (const [name, title] of Object.entries(TABLE_TITLES)) {
    it(`name every code of ${name} and nothing else (table "${title}")`, () => {
      const list = closedLists().get(name) ?? [];
      expect(differences(tableCodes(README, title), list)).toEqual(NONE);
    });
  }
});

describe('tableCodes', () => {
  const doc = [
    'Some text with `not_a_row`.',
    '',
    '| demo reason | meaning |',
    '|---|---|',
    '| `first` | one |',
    '| `second_one` | two, mentioning `third` |',
    '',
    '| other | x |',
    '|---|---|',
    '| `elsewhere` | y |',
  ].join('\n');

  it('reads the first column of the table with that title, and stops where it ends', () => {
    expect(tableCodes(doc, 'demo reason')).toEqual(['first', 'second_one']);
  });

  it('reports a missing code, a code on no list and a code named twice', () => {
    expect(differences(['first', 'stray', 'first'], ['first', 'second_one'])).toEqual({
      missing: ['second_one'],
      notOnTheList: ['stray'],
      namedTwice: ['first'],
    });
  });

  it('refuses a missing table, a title used twice and a row whose first cell is not one code', () => {
    expect(() => tableCodes(doc, 'absent reason')).toThrow('0 tables headed "absent reason"');
    expect(() => tableCodes(`${doc}\n\n${doc}`, 'demo reason')).toThrow('2 tables headed "demo reason"');
    const twoCodes = doc.replace('| `first` |', '| `first`, `again` |');
    expect(() => tableCodes(twoCodes, 'demo reason')).toThrow('is not one `code`');
  });
});
