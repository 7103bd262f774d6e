// Where the rules file's reader used to live: it is now src/domain/risk/rules-text.ts (the text) and
// src/processor/rules-file.ts (the file).
// SHIM(integration): remove
export { parseRules, RulesConfigError } from '../domain/risk/rules-text.ts';
// SHIM(integration): remove
export { loadRules } from '../processor/rules-file.ts';
