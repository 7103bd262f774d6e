// Looking for card data where it must never be: PANs in any separator form, CVV values, PIN blocks.

/** Unicode and ASCII separators an attacker may put between PAN digits (also the JSON-escaped '/'). */
const SEPARATOR_RE = /[\s\u00a0\u1680\u180e\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff./\\_:-]/g;
const UNICODE_ESCAPE_RE = /\\u([0-9a-fA-F]{4})/g;

/** JSON \u escapes resolved, so "\u0034\u0031..." reads as the digits it stands for. */
export function unescapeJson(text: string): string {
  return text.replace(UNICODE_ESCAPE_RE, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/**
 * The planted PANs found in `text`: separators removed, every run of 13+ ASCII digits searched for any
 * 13-19 digit window that is one of `pans`. Letters around a run do not hide it.
 */
export function pansIn(text: string, pans: ReadonlySet<string>): string[] {
  if (pans.size === 0) return [];
  const flat = unescapeJson(text).replace(SEPARATOR_RE, '');
  const found = new Set<string>();
  for (const m of flat.matchAll(/\d{13,}/g)) {
    const run = m[0];
    for (let len = 13; len <= 19 && len <= run.length; len++) {
      for (let i = 0; i + len <= run.length; i++) {
        const window = run.slice(i, i + len);
        if (pans.has(window)) found.add(window);
      }
    }
  }
  return [...found];
}

// What the processor writes on its own that may hold 3-4 digit runs: card tokens and account ids (hex), ISO
// timestamps, and the sizes and counts it reports ("payloadChars":1002).
const TOKEN_RE = /[0-9a-fA-F]{16,}/g;
const ISO_RE = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?/g;
const COUNT_RE = /"[A-Za-z]*(?:Chars|Bytes|Count|Levels|Seq)":\d+/g;
const withoutOwnNumbers = (text: string): string => unescapeJson(text).replace(TOKEN_RE, 'T').replace(ISO_RE, 'D').replace(COUNT_RE, 'C');

/** The CVV values of `cvvs` standing as a digit run of their own in `text` (the processor's own numbers aside). */
export function cvvsIn(text: string, cvvs: ReadonlySet<string>): string[] {
  if (cvvs.size === 0) return [];
  const cleaned = withoutOwnNumbers(text);
  const found = new Set<string>();
  for (const m of cleaned.matchAll(/\d+/g)) if (cvvs.has(m[0])) found.add(m[0]);
  return [...found];
}

/** PIN blocks (16 hex digits) of `secrets` anywhere in the text, any letter case, also inside longer hex runs. */
export function secretsIn(text: string, secrets: ReadonlySet<string>): string[] {
  if (secrets.size === 0) return [];
  const found = new Set<string>();
  for (const m of unescapeJson(text).matchAll(/[0-9a-fA-F]{16,}/g)) {
    const run = m[0].toUpperCase();
    for (let i = 0; i + 16 <= run.length; i++) {
      const window = run.slice(i, i + 16);
      if (secrets.has(window)) found.add(window);
    }
  }
  return [...found];
}

/** How many times each digit run stands on its own in `text` (the processor's own numbers aside). */
export function digitRunCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of withoutOwnNumbers(text).matchAll(/\d+/g)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  return counts;
}
