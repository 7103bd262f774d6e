// One recorded message as one NDJSON line: what `paystream record` writes and `replay` reads.

/** A recorded message. The payload is text when it is valid UTF-8, else base64 in `payloadBase64`. */
export interface RecordLine {
  subject: string;
  headers?: Record<string, string[]>;
  /** the payload as UTF-8 text; empty when `payloadBase64` holds it */
  payload: string;
  /** the payload bytes, base64, when they are not valid UTF-8 */
  payloadBase64?: string;
  /** epoch ms at which the recorder received the message */
  receivedAtMs: number;
  /** the JetStream stream sequence, when recorded from a stream */
  streamSeq?: number;
}

export class RecordingFormatError extends Error {
  override readonly name = 'RecordingFormatError';
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** A received message as a RecordLine (not yet scrubbed: the writer scrubs every line it writes). */
export function toRecordLine(message: {
  subject: string;
  data: Uint8Array;
  headers?: Record<string, string[]>;
  receivedAtMs: number;
  streamSeq?: number;
}): RecordLine {
  // keys in the documented order, so the file reads the same way line after line
  const line = { subject: message.subject } as RecordLine;
  if (message.headers !== undefined && Object.keys(message.headers).length > 0)
    line.headers = message.headers;
  try {
    line.payload = utf8.decode(message.data);
  } catch {
    line.payload = '';
    line.payloadBase64 = Buffer.from(message.data).toString('base64');
  }
  line.receivedAtMs = message.receivedAtMs;
  if (message.streamSeq !== undefined) line.streamSeq = message.streamSeq;
  return line;
}

/** The payload bytes to republish. */
export function payloadBytes(line: RecordLine): Uint8Array {
  return line.payloadBase64 === undefined
    ? encoder.encode(line.payload)
    : Buffer.from(line.payloadBase64, 'base64');
}

/** Parses and checks one line of a recording; `lineNumber` is 1-based, for the error. */
export function parseRecordLine(text: string, lineNumber: number): RecordLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RecordingFormatError('not valid JSON', lineNumber);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RecordingFormatError('not a JSON object', lineNumber);
  }
  const v = value as Record<string, unknown>;
  if (typeof v.subject !== 'string' || v.subject === '') {
    throw new RecordingFormatError('subject must be a non-empty string', lineNumber);
  }
  if (typeof v.payload !== 'string') throw new RecordingFormatError('payload must be a string', lineNumber);
  if (typeof v.receivedAtMs !== 'number' || !Number.isFinite(v.receivedAtMs)) {
    throw new RecordingFormatError('receivedAtMs must be a number', lineNumber);
  }
  const line: RecordLine = { subject: v.subject, payload: v.payload, receivedAtMs: v.receivedAtMs };
  if (v.headers !== undefined) {
    const headers = v.headers;
    const ok =
      typeof headers === 'object' &&
      headers !== null &&
      !Array.isArray(headers) &&
      Object.values(headers).every(
        (values) => Array.isArray(values) && values.every((h) => typeof h === 'string'),
      );
    if (!ok) throw new RecordingFormatError('headers must map names to arrays of strings', lineNumber);
    line.headers = headers as Record<string, string[]>;
  }
  if (v.payloadBase64 !== undefined) {
    if (typeof v.payloadBase64 !== 'string') {
      throw new RecordingFormatError('payloadBase64 must be a string', lineNumber);
    }
    line.payloadBase64 = v.payloadBase64;
  }
  if (v.streamSeq !== undefined) {
    if (typeof v.streamSeq !== 'number' || !Number.isSafeInteger(v.streamSeq) || v.streamSeq < 0) {
      throw new RecordingFormatError('streamSeq must be a non-negative integer', lineNumber);
    }
    line.streamSeq = v.streamSeq;
  }
  return line;
}

const CREATED_AT_RE = /("createdAt"\s*:\s*")([^"\\]*)(")/;

/**
 * Moves an order's `createdAt` by `deltaMs`, so a recording replayed later is not stale on arrival.
 * Only the timestamp's characters change (the rest of the payload stays byte for byte); payloads that are
 * not a JSON object with a parseable top-level createdAt come back unchanged.
 */
export function shiftCreatedAt(payload: string, deltaMs: number): string {
  const match = CREATED_AT_RE.exec(payload);
  if (match === null) return payload;
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return payload;
  }
  const createdAt = (parsed as { createdAt?: unknown } | null)?.createdAt;
  if (typeof createdAt !== 'string' || createdAt !== match[2]) return payload; // the first match is not the top-level field: leave it alone
  const ms = Date.parse(createdAt);
  if (!Number.isFinite(ms)) return payload;
  const shifted = new Date(ms + deltaMs).toISOString();
  return (
    payload.slice(0, match.index) +
    match[1] +
    shifted +
    match[3] +
    payload.slice(match.index + match[0].length)
  );
}
