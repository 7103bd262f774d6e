// Keeps card data out of recordings: a `pan` field becomes a `card` token, any other PAN is redacted.
import { looksLikePan, normalizePan } from '../domain/cards.ts';
import type { RecordLine } from './line.ts';

export const PAN_REDACTED = '[PAN REDACTED]';
/** in subjects, where spaces and brackets are not allowed */
const PAN_REDACTED_TOKEN = 'PAN-REDACTED';

// A run of 12-19 digits, optionally grouped by single spaces or dashes, standing on its own. Letters count as
// part of a word, so the digit runs inside a hex card token are never taken for a PAN.
const PAN_RUN_RE = /(?<![0-9A-Za-z])\d(?:[ -]?\d){11,18}(?![0-9A-Za-z])/g;

/** Replaces every PAN-looking run (12-19 digits passing Luhn) in free text. */
export function redactPanRuns(text: string, replacement: string = PAN_REDACTED): string {
  return text.replace(PAN_RUN_RE, (run) => (looksLikePan(run) ? replacement : run));
}

// Integer literals of 12+ digits lose precision in JSON.parse; they are carried through as marked strings.
const LONG_INT_MARK = '\u0000int:';
const LONG_INT_RESTORE_RE = /"\\u0000int:(-?\d+)"/g;

/**
 * The payload with no card data left: in JSON, a valid PAN in a `pan` field becomes `card` (its token, from
 * `tokenize`) in the same place, or `[PAN REDACTED]` without `tokenize`; a `pan` that is not a valid PAN is
 * kept, so a replay is still rejected for it; PAN-looking runs in any other string or number are redacted.
 * Non-JSON text gets the run redaction. A payload with nothing to scrub is returned unchanged, byte for byte.
 */
export function scrubPayload(payload: string, tokenize?: (pan: string) => string): string {
  const start = payload.trimStart()[0];
  if (start === '{' || start === '[') {
    const marked = markLongIntegers(payload);
    let parsed: unknown;
    try {
      parsed = JSON.parse(marked);
    } catch {
      return redactPanRuns(payload);
    }
    const state = { changed: false };
    const scrubbed = scrubValue(parsed, state, tokenize);
    if (!state.changed) return payload;
    return JSON.stringify(scrubbed).replace(LONG_INT_RESTORE_RE, '$1');
  }
  return redactPanRuns(payload);
}

/** A whole record line scrubbed: subject, header values, and the payload (text or bytes). */
export function scrubRecordLine(line: RecordLine, tokenize?: (pan: string) => string): RecordLine {
  const out: RecordLine = { ...line, subject: redactPanRuns(line.subject, PAN_REDACTED_TOKEN) };
  if (line.headers !== undefined) {
    out.headers = Object.fromEntries(
      Object.entries(line.headers).map(([name, values]) => [name, values.map((v) => redactPanRuns(v))]),
    );
  }
  if (line.payloadBase64 !== undefined) {
    // Not UTF-8: scrub the ASCII digits in place, one byte a character.
    const latin1 = Buffer.from(line.payloadBase64, 'base64').toString('latin1');
    const scrubbed = redactPanRuns(latin1);
    if (scrubbed !== latin1) out.payloadBase64 = Buffer.from(scrubbed, 'latin1').toString('base64');
  } else {
    out.payload = scrubPayload(line.payload, tokenize);
  }
  return out;
}

function scrubValue(
  value: unknown,
  state: { changed: boolean },
  tokenize?: (pan: string) => string,
): unknown {
  if (typeof value === 'string') {
    if (value.startsWith(LONG_INT_MARK)) {
      if (!looksLikePan(value.slice(LONG_INT_MARK.length).replace('-', ''))) return value;
      state.changed = true;
      return PAN_REDACTED;
    }
    const redacted = redactPanRuns(value);
    if (redacted !== value) state.changed = true;
    return redacted;
  }
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, state, tokenize));
  if (typeof value !== 'object' || value === null) return value;
  const input = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(input)) {
    if (key === 'pan' && (typeof inner === 'string' || typeof inner === 'number')) {
      const text = typeof inner === 'string' ? inner.replace(LONG_INT_MARK, '') : String(inner);
      if (looksLikePan(text)) {
        state.changed = true;
        // A token in place of the PAN keeps the order replayable; never both card and pan.
        if (tokenize !== undefined && typeof inner === 'string' && !inner.startsWith(LONG_INT_MARK)) {
          if (!Object.hasOwn(input, 'card')) define(out, 'card', tokenize(normalizePan(text)));
        } else {
          define(out, key, PAN_REDACTED);
        }
        continue;
      }
    }
    define(out, key, scrubValue(inner, state, tokenize));
  }
  return out;
}

/** Own enumerable property even for '__proto__', which a plain assignment would turn into a prototype. */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Wraps integer literals of 12 or more digits outside strings as marked strings, so no digit is lost. */
function markLongIntegers(text: string): string {
  let out = '';
  let copied = 0;
  let inString = false;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i += 2; // backslash: skip the escaped character
      else {
        if (c === 34) inString = false;
        i++;
      }
      continue;
    }
    if (c === 34) {
      inString = true;
      i++;
      continue;
    }
    if (c === 45 || isDigit(c)) {
      let j = c === 45 ? i + 1 : i;
      const digitsStart = j;
      while (j < text.length && isDigit(text.charCodeAt(j))) j++;
      let k = j;
      while (k < text.length && /[0-9eE+.-]/.test(text[k]!)) k++;
      if (k === j && j - digitsStart >= 12) {
        out += `${text.slice(copied, i)}"${LONG_INT_MARK.replace('\u0000', '\\u0000')}${text.slice(i, j)}"`;
        copied = j;
      }
      i = k;
      continue;
    }
    i++;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
