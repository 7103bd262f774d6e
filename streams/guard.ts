// The per-message guard: an exception raised while handling one message becomes that message's outcome (a
// dead letter with reason internal_error, logged once), so the buffer, the pipeline and the process go on.

import type { DlqReason } from '../src/domain/reasons.ts';
import { log } from '../src/log.ts';
import type { DeadLetter, InboundMessage } from './types.ts';

/** The stages the guard covers, as the test seam names them. */
export const FAULT_STAGES = ['decode', 'validate', 'apply', 'settle', 'scrub'] as const;
export type FaultStage = (typeof FAULT_STAGES)[number];

/**
 * Test seam: each guarded stage calls it with the message's order id (when the stage knows one); a hook that
 * throws makes that stage fail for that message as a bug would. Processors run without one unless
 * PAYSTREAM_TEST_FAULT names a stage and an order id (faultsFromSpec).
 */
export type FaultHook = (stage: FaultStage, orderId: string | undefined) => void;

export class InjectedFault extends Error {
  override name = 'InjectedFault';
}

/**
 * `stage:orderId[,stage:orderId...]` (PAYSTREAM_TEST_FAULT) as a hook that throws InjectedFault at that stage
 * for that order; undefined for an empty spec. A spec it cannot read is an error, not silently no fault.
 */
export function faultsFromSpec(spec: string | undefined): FaultHook | undefined {
  if (spec === undefined || spec.trim() === '') return undefined;
  const targets = new Set<string>();
  for (const part of spec.split(',')) {
    const [stage, orderId, extra] = part.trim().split(':');
    if (!FAULT_STAGES.includes(stage as FaultStage) || !orderId || extra !== undefined) {
      throw new Error(`PAYSTREAM_TEST_FAULT: "${part}" is not stage:orderId with a stage of ${FAULT_STAGES.join(', ')}`);
    }
    targets.add(`${stage}:${orderId}`);
  }
  return (stage, orderId) => {
    if (orderId !== undefined && targets.has(`${stage}:${orderId}`)) {
      throw new InjectedFault(`injected fault in ${stage} for order ${orderId}`);
    }
  };
}

/** What a dead letter keeps of a payload refused unread or that failed: its first this-many bytes. */
export const DEAD_LETTER_PREFIX_BYTES_MAX = 1024;

/** Reasons whose dead letter carries only a bounded prefix of the payload (scrubbed), not the whole of it. */
const PREFIX_ONLY: ReadonlySet<DlqReason> = new Set<DlqReason>(['internal_error', 'too_large', 'too_deep']);

const EMPTY = new Uint8Array(0);

/**
 * Logs one failure of one message (once: callers log nowhere else) and returns the detail its dead letter
 * carries: the stage, the stream sequence and the error's name. Neither the detail nor the log holds the
 * payload; the error's message goes to the log only, with digit runs masked, since a message may echo input.
 */
export function reportInternalError(stage: FaultStage, error: unknown, msg: InboundMessage, orderId?: string): string {
  const name = error instanceof Error ? error.name : typeof error;
  const at = msg.streamSeq === undefined ? 'no stream sequence' : `stream sequence ${msg.streamSeq}`;
  log().error(
    { stage, streamSeq: msg.streamSeq, orderId, err: describeError(error) },
    `one message failed in ${stage}: dead-lettered internal_error, the pipeline goes on`,
  );
  return `${stage} failed at ${at} (${name})`;
}

function describeError(error: unknown): { type: string; message: string; stack?: string } {
  if (!(error instanceof Error)) return { type: typeof error, message: maskDigits(String(error)).slice(0, 200) };
  const out: { type: string; message: string; stack?: string } = { type: error.name, message: maskDigits(error.message).slice(0, 200) };
  // the frames only: the stack's first line repeats the message
  const frames = error.stack?.split('\n').filter((line) => line.trimStart().startsWith('at ')).slice(0, 8);
  if (frames && frames.length > 0) out.stack = frames.join('\n');
  return out;
}

const maskDigits = (text: string): string => text.replace(/\d[\d\s./-]*\d/g, (run) => (run.replace(/\D/g, '').length >= 6 ? '[digits]' : run));

/**
 * The dead letter of one message, its payload through `scrub`: the whole payload for reasons that parsed it
 * (it is within the size and depth limits), a prefix of DEAD_LETTER_PREFIX_BYTES_MAX bytes for internal_error,
 * too_large and too_deep. A scrub that throws costs only the payload: the letter goes out without it, with
 * reason internal_error and its original reason and detail in the detail.
 */
export function deadLetterOf(
  scrub: (payload: Uint8Array) => Uint8Array,
  msg: InboundMessage,
  reason: DlqReason,
  detail: string,
  orderId?: string,
  faults?: FaultHook,
): DeadLetter {
  const letter: DeadLetter = { reason, detail, subject: msg.subject, payload: EMPTY };
  if (orderId !== undefined) letter.orderId = orderId;
  if (msg.streamSeq !== undefined) letter.streamSeq = msg.streamSeq;
  try {
    faults?.('scrub', orderId);
    letter.payload = PREFIX_ONLY.has(reason)
      ? utf8Prefix(scrub(payloadPrefix(msg.data, DEAD_LETTER_PREFIX_BYTES_MAX)), DEAD_LETTER_PREFIX_BYTES_MAX)
      : scrub(msg.data);
  } catch (error) {
    letter.reason = 'internal_error';
    letter.detail = `${reason}: ${detail}; ${reportInternalError('scrub', error, msg, orderId)}, payload withheld`;
    letter.payload = EMPTY;
  }
  return letter;
}

// what a PAN, its group separators (space, tab, line breaks, '-', '.', '/', an escape such as \u00a0) and
// the letters that may touch it are made of; bytes of 0x80 and above: a multi-byte character (a Unicode
// space, perhaps), possibly cut in half
const isWordOrJoiner = (b: number): boolean =>
  (b >= 0x30 && b <= 0x39) ||
  (b >= 0x41 && b <= 0x5a) ||
  (b >= 0x61 && b <= 0x7a) ||
  b === 0x20 ||
  b === 0x09 ||
  b === 0x0a ||
  b === 0x0d ||
  b === 0x2d ||
  b === 0x2e ||
  b === 0x2f ||
  b === 0x5c ||
  b >= 0x80;

/**
 * The first bytes of a payload, at most `bytesMax`. A cut inside a run of digits, letters, separators or
 * non-ASCII characters moves back to where the run starts (a quote, a comma, a bracket...), so the scrub
 * sees any PAN in the prefix whole, never a tail of it too short to be recognised.
 */
export function payloadPrefix(data: Uint8Array, bytesMax: number): Uint8Array {
  if (data.byteLength <= bytesMax) return data;
  let end = bytesMax;
  if (isWordOrJoiner(data[end]!)) {
    while (end > 0 && isWordOrJoiner(data[end - 1]!)) end--;
  }
  return data.subarray(0, end);
}

/** At most `bytesMax` bytes, cut at a UTF-8 character boundary (the scrub may have lengthened the prefix). */
function utf8Prefix(data: Uint8Array, bytesMax: number): Uint8Array {
  if (data.byteLength <= bytesMax) return data;
  let end = bytesMax;
  // continuation bytes are 10xxxxxx: back off to the start of the character the cut would split
  while (end > 0 && (data[end]! & 0xc0) === 0x80) end--;
  return data.subarray(0, end);
}
