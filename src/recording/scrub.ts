// Keeps card data out of every sink. Recordings keep their shape (replayable): a `pan` field becomes a `card`
// token, any other PAN is redacted, sensitive authentication data is blanked. Dead letters keep an allow-list
// of fields and the names of the others. Every walk here uses an explicit stack: no input nests too deep.
import {
  checkPan,
  containsPan,
  findPanRuns,
  isSadKey,
  looksLikeTrackData,
  replacePanRuns,
} from '../domain/cards.ts';
import { WIRE_BATCH_HEADER_FIELDS, WIRE_ORDER_FIELDS } from '../domain/types.ts';
import type { RecordLine } from './line.ts';

export const PAN_REDACTED = '[PAN REDACTED]';
/** what stands in place of a CVV, track data or a PIN (the key stays, so a replay is refused the same way) */
export const SAD_REDACTED = '[SAD REDACTED]';
/** in subjects, where spaces and brackets are not allowed */
const PAN_REDACTED_TOKEN = 'PAN-REDACTED';

/**
 * Replaces every PAN in free text (cards.findPanRuns: Luhn-valid runs of 12-19 digits in any script, next to
 * letters or split by spaces of any kind, dashes, dots, slashes; a 64-hex card token is left whole).
 */
export function redactPanRuns(text: string, replacement: string = PAN_REDACTED): string {
  return replacePanRuns(text, () => replacement);
}

/** A NATS subject with no PAN in it (each PAN becomes PAN-REDACTED, a valid subject token). */
export function scrubSubject(subject: string): string {
  return redactPanRuns(subject, PAN_REDACTED_TOKEN);
}

// `name: value`, `name=value` or `"name":"value"` in free text, where the name is sensitive authentication data.
const SAD_PAIR_RE = /([A-Za-z][A-Za-z0-9_. -]{0,40}?)("?\s*[:=]\s*"?)([^\s"&,;}]*)/g;
// track-data layouts in free text (whole runs, sentinels included)
const TRACK_TEXT_RE = /%?B\d{12,19}\^[^^\n]{0,26}\^[^\s?"]*\??|;?\d{12,19}[=D]\d{4}[^\s?"]*\??/g;

/** Free text (non-JSON payloads, header values) with no track data, no value of a CVV/PIN pair and no PAN. */
export function scrubText(text: string): string {
  let out = text;
  if (out.indexOf('^') !== -1 || out.indexOf('=') !== -1 || out.indexOf('D') !== -1) {
    out = out.replace(TRACK_TEXT_RE, (run) => (looksLikeTrackData(run) ? SAD_REDACTED : run));
  }
  if (out.indexOf(':') !== -1 || out.indexOf('=') !== -1) {
    out = out.replace(SAD_PAIR_RE, (pair, name: string, sep: string, value: string) =>
      value.length > 0 && (isSadKey(name) ?? isSadKey(lastWord(name))) !== undefined ? `${name}${sep}${SAD_REDACTED}` : pair,
    );
  }
  return redactPanRuns(out);
}

function lastWord(name: string): string {
  const words = name.trim().split(/[\s&?]+/);
  return words[words.length - 1] ?? '';
}

// Number literals of 12+ digits lose precision in JSON.parse (and may be a PAN written as a number, even as
// 4111111111111111.0): they are carried through as marked strings holding their literal text.
const NUMBER_MARK = '\u0000num:';
const NUMBER_LITERAL_RE = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** A JSON value whose payload was parsed with marked long numbers, or undefined if it is not JSON. */
function parseMarked(payload: string): unknown {
  try {
    return JSON.parse(markLongNumbers(payload));
  } catch {
    return undefined;
  }
}

type Container = unknown[] | Record<string, unknown>;

interface ScrubState {
  changed: boolean;
  tokenize: ((pan: string) => string) | undefined;
}

/** A string value of a recording: track data blanked, PANs redacted; a marked number stays a number if clean. */
function scrubLeafString(value: string, state: ScrubState): string {
  if (value.startsWith(NUMBER_MARK)) {
    if (!containsPan(value.slice(NUMBER_MARK.length))) return value;
    state.changed = true;
    return PAN_REDACTED;
  }
  if (looksLikeTrackData(value)) {
    state.changed = true;
    return SAD_REDACTED;
  }
  const redacted = redactPanRuns(value);
  if (redacted !== value) state.changed = true;
  return redacted;
}

/** A key of a recording: PAN runs redacted (the key of a sensitive value stays, its value is blanked). */
function scrubKey(key: string, state: ScrubState): string {
  const redacted = looksLikeTrackData(key) ? SAD_REDACTED : redactPanRuns(key);
  if (redacted !== key) state.changed = true;
  return redacted;
}

/**
 * The recording form of one parsed object's field `pan`: a checked PAN becomes `card` (its token) or
 * PAN_REDACTED without a tokenizer; a PAN that checkPan refuses (dots, other scripts...) is redacted, so a
 * replay is still rejected for it; a value that is no PAN at all is kept.
 */
function scrubPanField(input: Record<string, unknown>, inner: unknown, out: Record<string, unknown>, state: ScrubState): boolean {
  if (typeof inner !== 'string') return false;
  const literal = inner.startsWith(NUMBER_MARK) ? inner.slice(NUMBER_MARK.length) : inner;
  // a field that names a PAN: any Luhn-valid run counts, brand or not (checkPan accepts numbers of no brand)
  if (findPanRuns(literal, true).length === 0) return false;
  state.changed = true;
  const checked = checkPan(literal);
  if (checked.ok && state.tokenize !== undefined && literal === inner) {
    // a token in place of the PAN keeps the order replayable; never both card and pan
    if (!Object.hasOwn(input, 'card')) define(out, 'card', state.tokenize(checked.pan));
  } else {
    define(out, 'pan', PAN_REDACTED);
  }
  return true;
}

/** Rebuilds a parsed JSON value with no card data left, iteratively (one frame a container, no recursion). */
function scrubTree(root: unknown, state: ScrubState): unknown {
  if (typeof root === 'string') return scrubLeafString(root, state);
  if (typeof root !== 'object' || root === null) return root;
  const rootOut: Container = Array.isArray(root) ? [] : {};
  const stack: { input: Container; out: Container }[] = [{ input: root as Container, out: rootOut }];
  while (stack.length > 0) {
    const { input, out } = stack.pop()!;
    if (Array.isArray(input)) {
      const list = out as unknown[];
      for (const item of input) list.push(scrubChild(item, state, stack));
      continue;
    }
    const record = out as Record<string, unknown>;
    for (const key of Object.keys(input)) {
      const inner = input[key];
      if (key === 'pan' && scrubPanField(input, inner, record, state)) continue;
      const cleanKey = scrubKey(key, state);
      if (isSadKey(key) !== undefined) {
        // the key stays, so a replay is refused (cvv_forbidden, sad_forbidden) as the original was
        if (inner !== SAD_REDACTED) state.changed = true;
        define(record, cleanKey, SAD_REDACTED);
        continue;
      }
      define(record, cleanKey, scrubChild(inner, state, stack));
    }
  }
  return rootOut;
}

/** A leaf scrubbed now, or an empty container for a frame pushed to fill later (its place is kept). */
function scrubChild(value: unknown, state: ScrubState, stack: { input: Container; out: Container }[]): unknown {
  if (typeof value === 'string') return scrubLeafString(value, state);
  if (typeof value !== 'object' || value === null) return value;
  const out: Container = Array.isArray(value) ? [] : {};
  stack.push({ input: value as Container, out });
  return out;
}

/**
 * The payload with no card data left: in JSON, a valid PAN in a `pan` field becomes `card` (its token, from
 * `tokenize`) in the same place, or `[PAN REDACTED]` without `tokenize`; a `pan` that is not a PAN is kept, so
 * a replay is still rejected for it; PANs in any other key, string or number are redacted; the value of a
 * sensitive-authentication-data key (cvv, track2, pinBlock... at any depth) and any track data become
 * `[SAD REDACTED]`. Non-JSON text gets scrubText. A payload with nothing to scrub is returned byte for byte.
 * Any depth: the walks are iterative.
 */
export function scrubPayload(payload: string, tokenize?: (pan: string) => string): string {
  const start = payload.trimStart()[0];
  if (start !== '{' && start !== '[') return scrubText(payload);
  const parsed = parseMarked(payload);
  if (parsed === undefined) return scrubText(payload);
  const state: ScrubState = { changed: false, tokenize };
  const scrubbed = scrubTree(parsed, state);
  return state.changed ? stringifyMarked(scrubbed) : payload;
}

/** A whole record line scrubbed: subject, header names and values, and the payload (text or bytes). */
export function scrubRecordLine(line: RecordLine, tokenize?: (pan: string) => string): RecordLine {
  const out: RecordLine = { ...line, subject: scrubSubject(line.subject) };
  if (line.headers !== undefined) {
    out.headers = Object.fromEntries(
      Object.entries(line.headers).map(([name, values]) => [
        redactPanRuns(name, PAN_REDACTED_TOKEN),
        isSadKey(name) !== undefined ? values.map(() => SAD_REDACTED) : values.map((v) => scrubText(v)),
      ]),
    );
  }
  if (line.payloadBase64 !== undefined) {
    // Not UTF-8: scrub in place, one byte a character (ASCII digits, NBSP as a separator).
    const latin1 = Buffer.from(line.payloadBase64, 'base64').toString('latin1');
    const scrubbed = scrubText(latin1);
    if (scrubbed !== latin1) out.payloadBase64 = Buffer.from(scrubbed, 'latin1').toString('base64');
  } else {
    out.payload = scrubPayload(line.payload, tokenize);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Dead letters: an allow-list, never a deny-list.

/** The order fields a dead letter keeps (a valid `pan` is kept as its token, `card`). */
export const DEAD_LETTER_ORDER_FIELDS: readonly string[] = Object.freeze(WIRE_ORDER_FIELDS.filter((field) => field !== 'pan'));
/** The batch-header fields a dead letter keeps. */
export const DEAD_LETTER_BATCH_FIELDS: readonly string[] = Object.freeze([...WIRE_BATCH_HEADER_FIELDS]);

export type DeadLetterKind = 'order' | 'batch';

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

/** The dead-letter scrub as the apply stage takes it (ApplyDeps.scrub): bytes in, the allow-listed payload's bytes out. */
export function deadLetterScrubber(tokenize: (pan: string) => string): (payload: Uint8Array, kind?: DeadLetterKind) => Uint8Array {
  return (payload, kind) => utf8Encoder.encode(deadLetterPayload(utf8Decoder.decode(payload), kind ?? 'order', tokenize));
}

/** a kept value longer than this is cut (every valid one fits: ids are at most 64, a token 64) */
const KEPT_VALUE_CHARS_MAX = 64;
/** names of dropped fields listed, at most; `droppedFieldCount` says how many there were */
const DROPPED_NAMES_MAX = 12;
const DROPPED_NAME_CHARS_MAX = 32;
/** what a dead letter's payload may weigh, whatever the input (a header-sized JSON object) */
export const DEAD_LETTER_PAYLOAD_BYTES_MAX = 1024;

const ORDER_FIELD_SET: ReadonlySet<string> = new Set(DEAD_LETTER_ORDER_FIELDS);
const BATCH_FIELD_SET: ReadonlySet<string> = new Set(DEAD_LETTER_BATCH_FIELDS);

function truncate(text: string, charsMax: number): string {
  return text.length > charsMax ? `${text.slice(0, charsMax - 1)}…` : text;
}

/** A top-level field as scanTopLevel reads it: a string, a number's literal text, a JSON literal, or a container. */
type TopValue = { kind: 'string'; text: string } | { kind: 'number'; text: string } | { kind: 'literal'; value: boolean | null } | { kind: 'container' };

const JSON_NUMBER_RE = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** A cursor over a JSON object's text that reads its top-level fields (scanTopLevel); never recurses. */
class TopLevelCursor {
  private i = 0;
  constructor(private readonly text: string) {}

  get atEnd(): boolean {
    return this.i >= this.text.length;
  }

  /** steps over `char` when it is next (after white space) */
  skip(char: string): boolean {
    this.skipSpace();
    if (this.text[this.i] !== char) return false;
    this.i++;
    return true;
  }

  /**
   * The next field, or undefined when none starts here (the end, or not a quoted key). A field whose value is
   * cut or broken is the last: its name is kept, its value is a container (not kept).
   */
  readField(): { key: string; value: TopValue; last: boolean } | undefined {
    this.skipSpace();
    if (this.text[this.i] !== '"') return undefined;
    const key = this.readString();
    if (key === undefined) return undefined;
    if (!this.skip(':')) return { key, value: { kind: 'container' }, last: true };
    this.skipSpace();
    const value = this.readValue();
    this.skipSpace();
    const after = this.text[this.i];
    // a value is whole only once what follows it is seen: a cut right after it could have cut it short
    if (value === undefined || (after !== ',' && after !== '}'))
      return { key, value: { kind: 'container' }, last: true };
    this.i++;
    return { key, value, last: after === '}' };
  }

  private skipSpace(): void {
    const { text } = this;
    while (
      this.i < text.length &&
      (text[this.i] === ' ' || text[this.i] === '\n' || text[this.i] === '\r' || text[this.i] === '\t')
    )
      this.i++;
  }

  /** a whole value at the cursor, which moves past it; undefined (the cursor where it was) when cut or not JSON */
  private readValue(): TopValue | undefined {
    const c = this.text[this.i];
    if (c === '"') {
      const text = this.readString();
      return text === undefined ? undefined : { kind: 'string', text };
    }
    if (c === '{' || c === '[') return this.skipContainer() ? { kind: 'container' } : undefined;
    if (c !== undefined && (c === '-' || (c >= '0' && c <= '9'))) return this.readNumber();
    return this.readLiteral();
  }

  /** the end of the string literal starting at `from` (a quote), or -1 if it does not end */
  private stringEnd(from: number): number {
    for (let j = from + 1; j < this.text.length; j++) {
      const c = this.text.charCodeAt(j);
      if (c === 92) j++;
      else if (c === 34) return j + 1;
    }
    return -1;
  }

  private readString(): string | undefined {
    const end = this.stringEnd(this.i);
    if (end < 0) return undefined;
    try {
      const value = JSON.parse(this.text.slice(this.i, end)) as string;
      this.i = end;
      return value;
    } catch {
      return undefined;
    }
  }

  /** skips a nested array or object by counting brackets outside strings; false when the text ends inside it */
  private skipContainer(): boolean {
    let depth = 0;
    while (this.i < this.text.length) {
      const b = this.text.charCodeAt(this.i);
      if (b === 34) {
        const end = this.stringEnd(this.i);
        if (end < 0) break;
        this.i = end;
        continue;
      }
      if (b === 123 || b === 91) depth++;
      else if (b === 125 || b === 93) depth--;
      this.i++;
      if (depth === 0) break;
    }
    return depth === 0;
  }

  /** a number's literal text, only when something follows it (at the end, a cut may have shortened it) */
  private readNumber(): TopValue | undefined {
    let j = this.i;
    while (j < this.text.length && /[0-9eE+.-]/.test(this.text[j]!)) j++;
    const literal = this.text.slice(this.i, j);
    if (!JSON_NUMBER_RE.test(literal) || j >= this.text.length) return undefined;
    this.i = j;
    return { kind: 'number', text: literal };
  }

  private readLiteral(): TopValue | undefined {
    for (const [word, literal] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.text.startsWith(word, this.i)) {
        this.i += word.length;
        return { kind: 'literal', value: literal };
      }
    }
    return undefined;
  }
}

/**
 * The top-level fields of a JSON object, in order, read with a cursor (no JSON.parse, no recursion: nested
 * arrays and objects are skipped by counting brackets, however deep). Tolerant: it stops at the first thing
 * that is not JSON or at the end of a cut payload (a prefix), returning the fields read whole until then; a
 * field whose value was cut or broken is returned as a container (its name known, its value not kept).
 */
function scanTopLevel(text: string): { key: string; value: TopValue }[] | undefined {
  const cursor = new TopLevelCursor(text);
  if (!cursor.skip('{')) return undefined;
  const fields: { key: string; value: TopValue }[] = [];
  while (!cursor.atEnd) {
    const field = cursor.readField();
    if (field === undefined) break;
    fields.push({ key: field.key, value: field.value });
    if (field.last) break;
  }
  return fields;
}

/** A kept field's value: strings, numbers, booleans and null only, PAN-free and short; else undefined (dropped). */
function keptValue(value: TopValue): unknown {
  switch (value.kind) {
    case 'literal':
      return value.value;
    case 'container':
      return undefined;
    case 'number': {
      if (containsPan(value.text)) return PAN_REDACTED;
      const number = Number(value.text);
      return String(number) === value.text ? number : truncate(value.text, KEPT_VALUE_CHARS_MAX);
    }
    case 'string':
      if (looksLikeTrackData(value.text)) return undefined;
      return truncate(redactPanRuns(value.text), KEPT_VALUE_CHARS_MAX);
  }
}

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/**
 * What a dead letter keeps of a payload: a JSON object with the allow-listed top-level fields of an order (or
 * of a batch header) whose values are strings, numbers, booleans or null, each PAN-free and at most 64
 * characters; a `pan` that checkPan accepts becomes `card` (its token, when there is no `card` already). Every
 * other field is dropped and its name listed in `droppedFields` (names PAN-redacted, cut to 32 characters, at
 * most 12 listed; `droppedFieldCount` counts them all when more). A payload that is not a JSON object (not JSON,
 * an array) keeps nothing: `{"kept":"nothing","payloadChars":n}`. A cut or broken object (a prefix of a payload
 * too large or too deep, say) keeps the fields read whole before the cut. Nested values are never read (no
 * recursion, any depth), and the result is at most DEAD_LETTER_PAYLOAD_BYTES_MAX bytes.
 */
export function deadLetterPayload(payload: string, kind: DeadLetterKind, tokenize?: (pan: string) => string): string {
  const fields = scanTopLevel(payload);
  if (fields === undefined) return JSON.stringify({ kept: 'nothing', payloadChars: payload.length });
  const allowed = kind === 'order' ? ORDER_FIELD_SET : BATCH_FIELD_SET;
  const hasCard = fields.some((f) => f.key === 'card');
  const out: Record<string, unknown> = {};
  const kept: string[] = [];
  const dropped: string[] = [];
  const droppedNames = new Set<string>();
  let droppedCount = 0;
  const drop = (key: string) => {
    const name = truncate(redactPanRuns(looksLikeTrackData(key) ? SAD_REDACTED : key), DROPPED_NAME_CHARS_MAX);
    if (droppedNames.has(name)) return;
    droppedNames.add(name);
    droppedCount++;
    if (dropped.length < DROPPED_NAMES_MAX) dropped.push(name);
  };
  for (const { key, value } of fields) {
    if (kind === 'order' && key === 'pan' && value.kind === 'string' && tokenize !== undefined && !hasCard) {
      const checked = checkPan(value.text);
      if (checked.ok) {
        if (!Object.hasOwn(out, 'card')) kept.push('card');
        define(out, 'card', tokenize(checked.pan));
        continue;
      }
    }
    const clean = allowed.has(key) ? keptValue(value) : undefined;
    if (clean === undefined) drop(key);
    else {
      if (!Object.hasOwn(out, key)) kept.push(key);
      define(out, key, clean);
    }
  }
  const render = () => {
    const letter: Record<string, unknown> = {};
    for (const key of kept) define(letter, key, out[key]);
    if (droppedCount > 0) {
      letter.droppedFields = dropped;
      if (droppedCount > dropped.length) letter.droppedFieldCount = droppedCount;
    }
    return JSON.stringify(letter);
  };
  let text = render();
  // bounded whatever the input: names go first, then kept fields from the last (ids stay longest)
  while (utf8Bytes(text) > DEAD_LETTER_PAYLOAD_BYTES_MAX) {
    if (dropped.length > 0) dropped.pop();
    else {
      droppedCount++;
      kept.pop();
    }
    text = render();
  }
  return text;
}

// ---------------------------------------------------------------------------------------------------------

/** Own enumerable property even for '__proto__', which a plain assignment would turn into a prototype. */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * JSON text of a scrubbed tree, iteratively (JSON.stringify recurses and throws past ~10,000 levels); marked
 * numbers are written back as the literal they were.
 */
function stringifyMarked(root: unknown): string {
  const parts: string[] = [];
  // each frame: a container and the index of its next entry; closing brackets are written when it is done
  const stack: { value: Container; keys: string[] | undefined; index: number }[] = [];
  const open = (value: unknown): void => {
    if (typeof value === 'string') {
      const literal = value.startsWith(NUMBER_MARK) ? value.slice(NUMBER_MARK.length) : undefined;
      // only what markLongNumbers made goes out raw: a string that merely starts with the mark stays a string
      parts.push(literal !== undefined && NUMBER_LITERAL_RE.test(literal) ? literal : JSON.stringify(value));
    } else if (Array.isArray(value)) {
      parts.push('[');
      stack.push({ value, keys: undefined, index: 0 });
    } else if (typeof value === 'object' && value !== null) {
      parts.push('{');
      stack.push({ value: value as Record<string, unknown>, keys: Object.keys(value), index: 0 });
    } else {
      parts.push(JSON.stringify(value) ?? 'null');
    }
  };
  open(root);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.keys === undefined) {
      const list = frame.value as unknown[];
      if (frame.index >= list.length) {
        parts.push(']');
        stack.pop();
        continue;
      }
      if (frame.index > 0) parts.push(',');
      open(list[frame.index++]);
      continue;
    }
    if (frame.index >= frame.keys.length) {
      parts.push('}');
      stack.pop();
      continue;
    }
    const key = frame.keys[frame.index++]!;
    parts.push(`${frame.index > 1 ? ',' : ''}${JSON.stringify(key)}:`);
    open((frame.value as Record<string, unknown>)[key]);
  }
  return parts.join('');
}

/** Wraps number literals with 12 or more digits outside strings as marked strings of their text. */
function markLongNumbers(text: string): string {
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
      let j = i;
      let digits = 0;
      while (j < text.length) {
        const d = text.charCodeAt(j);
        if (isDigit(d)) digits++;
        else if (d !== 45 && d !== 43 && d !== 46 && d !== 101 && d !== 69) break; // - + . e E
        j++;
      }
      if (digits >= 12) {
        out += `${text.slice(copied, i)}"${NUMBER_MARK.replace('\u0000', '\\u0000')}${text.slice(i, j)}"`;
        copied = j;
      }
      i = j;
      continue;
    }
    i++;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
