// Reads the risk rules file from disk; parsing the text is the domain's (src/domain/risk/rules-text.ts).
import { readFile } from 'node:fs/promises';
import { parseRules, RulesConfigError } from '../domain/risk/rules-text.ts';
import type { RuleSet } from '../domain/risk/rules.ts';

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
