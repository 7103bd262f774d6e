// What the ledger knows of the orders stream: which sequences it has applied (a floor and those applied above
// a gap), and which messages were being decided when the process died (the crash-loop guard). Stored forms
// and decisions only; the ledger shell reads and writes them (src/ledger/applied.ts).

import { invariant } from './apply.ts';

/**
 * A message that was in this many attempts that ended with the process gone is tried alone; once it has
 * crashed the process this many times alone it is dead-lettered `poison`, undecided. (A crash is an attempt
 * noted and never committed: a SIGKILL from outside counts too, which is why one crash alone is not enough.)
 */
export const CRASHED_ATTEMPTS_MAX = 3;

/** most sequences a stored list may expand to: a corrupt record must not fill the heap */
export const STORED_SEQS_MAX = 1_000_000;

const isSeq = (n: number): boolean => Number.isSafeInteger(n) && n > 0;

/** Ascending sequences as ranges: `1-5 7 9-12`. */
export function encodeSeqRanges(ascending: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < ascending.length) {
    const from = ascending[i]!;
    let to = from;
    while (i + 1 < ascending.length && ascending[i + 1] === to + 1) to = ascending[++i]!;
    parts.push(from === to ? String(from) : `${from}-${to}`);
    i++;
  }
  return parts.join(' ');
}

/** The sequences of `encodeSeqRanges`' text, ascending; throws on anything else (or more than the bound). */
export function decodeSeqRanges(text: string): number[] {
  const out: number[] = [];
  if (text === '') return out;
  for (const part of text.split(' ')) {
    const dash = part.indexOf('-');
    const from = Number(dash < 0 ? part : part.slice(0, dash));
    const to = dash < 0 ? from : Number(part.slice(dash + 1));
    invariant(isSeq(from) && isSeq(to) && from <= to, `stored sequence range is not "<from>[-<to>]": ${part}`);
    invariant(out.length === 0 || from > out[out.length - 1]!, `stored sequences are not ascending at ${part}`);
    invariant(out.length + (to - from + 1) <= STORED_SEQS_MAX, `stored sequences exceed ${STORED_SEQS_MAX}`);
    for (let seq = from; seq <= to; seq++) out.push(seq);
  }
  return out;
}

/**
 * The ledger's applied sequences: every one at or below `floorSeq`, and `above` (ascending, above floor + 1);
 * and `answeredSeq`, up to which every result went out and was acknowledged (at most the floor: it is the
 * acker's, as of the last write). Delivery restarts after `answeredSeq`: what was applied but maybe not
 * answered comes again, and the ledger answers it as a duplicate.
 */
export interface AppliedSeqs {
  answeredSeq: number;
  floorSeq: number;
  above: number[];
}

/** `<answered> <floor>[ <ranges above>]`: one short line in the usual case (no gap), written with every buffer. */
export const encodeAppliedSeqs = (a: AppliedSeqs): string =>
  a.above.length === 0 ? `${a.answeredSeq} ${a.floorSeq}` : `${a.answeredSeq} ${a.floorSeq} ${encodeSeqRanges(a.above)}`;

export function decodeAppliedSeqs(text: string): AppliedSeqs {
  const [answeredText, floorText, ...ranges] = text.split(' ');
  const answeredSeq = Number(answeredText);
  const floorSeq = Number(floorText);
  invariant(
    Number.isSafeInteger(floorSeq) && floorSeq >= 0 && Number.isSafeInteger(answeredSeq) && answeredSeq >= 0 && answeredSeq <= floorSeq,
    `stored applied record is not "<answered> <floor>[ <ranges>]" with answered <= floor: ${text.slice(0, 40)}`,
  );
  const above = decodeSeqRanges(ranges.join(' '));
  invariant(above.length === 0 || above[0]! > floorSeq + 1, `stored applied sequences start at or next to the floor: ${text.slice(0, 40)}`);
  return { answeredSeq, floorSeq, above };
}

// ---- the crash-loop guard ----

/** The messages of one attempt (a buffer, or a part of one), noted before it is decided. */
export interface AttemptNote {
  seqs: number[];
  /** the attempt held one message only */
  alone: boolean;
}

export const encodeAttempt = (note: AttemptNote): string => `${note.alone ? 'alone' : 'with'} ${encodeSeqRanges(note.seqs)}`;

export function decodeAttempt(text: string): AttemptNote {
  const space = text.indexOf(' ');
  const kind = text.slice(0, space);
  invariant(space > 0 && (kind === 'alone' || kind === 'with'), `stored attempt is not "alone|with <seqs>": ${text.slice(0, 40)}`);
  return { alone: kind === 'alone', seqs: decodeSeqRanges(text.slice(space + 1)) };
}

/** How often a message was in an attempt that crashed, and in how many of those it was alone. */
export interface CrashCount {
  crashes: number;
  alone: number;
}

/** The counts after the attempts in `notes` crashed (each counts once for each of its messages). */
export function countCrashes(counts: ReadonlyMap<number, CrashCount>, notes: readonly AttemptNote[]): Map<number, CrashCount> {
  const out = new Map(counts);
  for (const note of notes) {
    for (const seq of note.seqs) {
      const was = out.get(seq) ?? { crashes: 0, alone: 0 };
      out.set(seq, { crashes: was.crashes + 1, alone: was.alone + (note.alone ? 1 : 0) });
    }
  }
  return out;
}

/** `<seq>:<crashes>:<alone>` (a range of sequences with the same counts as `<from>-<to>:...`), space-separated. */
export function encodeCrashCounts(counts: ReadonlyMap<number, CrashCount>): string {
  const seqs = [...counts.keys()].sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < seqs.length) {
    const from = seqs[i]!;
    const c = counts.get(from)!;
    let to = from;
    while (i + 1 < seqs.length && seqs[i + 1] === to + 1) {
      const next = counts.get(seqs[i + 1]!)!;
      if (next.crashes !== c.crashes || next.alone !== c.alone) break;
      to = seqs[++i]!;
    }
    parts.push(`${from === to ? from : `${from}-${to}`}:${c.crashes}:${c.alone}`);
    i++;
  }
  return parts.join(' ');
}

export function decodeCrashCounts(text: string): Map<number, CrashCount> {
  const out = new Map<number, CrashCount>();
  if (text === '') return out;
  for (const part of text.split(' ')) {
    const [range, crashesText, aloneText, ...rest] = part.split(':');
    const crashes = Number(crashesText);
    const alone = Number(aloneText);
    invariant(
      rest.length === 0 && Number.isSafeInteger(crashes) && Number.isSafeInteger(alone) && alone >= 0 && crashes >= alone && crashes > 0,
      `stored crash count is not "<seqs>:<crashes>:<alone>": ${part.slice(0, 40)}`,
    );
    const seqs = decodeSeqRanges(range ?? '');
    invariant(out.size + seqs.length <= STORED_SEQS_MAX, `stored crash counts exceed ${STORED_SEQS_MAX}`);
    for (const seq of seqs) out.set(seq, { crashes, alone });
  }
  return out;
}

/** One step of deciding a buffer: messages decided together, one decided alone, or one not decided at all. */
export type AttemptStep =
  | { kind: 'together'; at: number[] }
  | { kind: 'alone'; at: number }
  | { kind: 'poison'; at: number; count: CrashCount };

/**
 * Splits a buffer's messages (their stream sequences, in order; undefined: not from the stream) into the steps
 * that decide them, keeping their order: a message that was in CRASHED_ATTEMPTS_MAX crashed attempts is
 * decided alone, so a crash then names it; one that crashed CRASHED_ATTEMPTS_MAX times alone is poison.
 * Without such messages the buffer is one step.
 */
export function planAttempts(seqs: readonly (number | undefined)[], counts: ReadonlyMap<number, CrashCount>): AttemptStep[] {
  const all = seqs.map((_, i) => i);
  if (counts.size === 0) return [{ kind: 'together', at: all }];
  const steps: AttemptStep[] = [];
  let together: number[] = [];
  const flush = () => {
    if (together.length > 0) steps.push({ kind: 'together', at: together });
    together = [];
  };
  seqs.forEach((seq, i) => {
    const count = seq === undefined ? undefined : counts.get(seq);
    if (count === undefined || count.crashes < CRASHED_ATTEMPTS_MAX) {
      together.push(i);
      return;
    }
    flush();
    steps.push(count.alone >= CRASHED_ATTEMPTS_MAX ? { kind: 'poison', at: i, count } : { kind: 'alone', at: i });
  });
  flush();
  return steps;
}

// ---- where delivery starts ----

/** What the ledger says of the stream at start; undefined when it has no record (a new or an older ledger). */
export interface LedgerStreamRecord {
  /** every sequence at or below it applied (or gone from the stream) */
  floorSeq: number;
  /** every sequence at or below it answered and acknowledged: delivery restarts after it */
  answeredSeq: number;
  /** the stream's creation time when the floor was recorded: another one means another stream */
  streamCreated?: string;
}

export interface StreamState {
  firstSeq: number;
  lastSeq: number;
  created: string;
}

export interface ConsumerState {
  ackFloorSeq: number;
  deliveredSeq: number;
  ackPending: number;
}

export interface DeliveryPlan {
  /** every sequence at or below it is answered (or gone from the stream): acks start here, delivery after it */
  floorSeq: number;
  /** (re)create the durable consumer delivering from this sequence (1: everything); undefined: keep it */
  startSeq: number | undefined;
  /** the ledger's sequences are another stream's: forget them */
  resetLedger: boolean;
  why: string;
}

/**
 * Where the durable consumer must deliver from, decided by the ledger, never by the broker's ack floor (a
 * deleted message or a filtered purge moves that floor past messages never applied, and nats-server 2.9
 * reports 0 for a consumer created at a start sequence). Delivery restarts after what the ledger records as
 * answered (applied messages after it are answered again, from the ledger, as duplicates). The consumer is
 * kept only when it agrees with the ledger exactly: nothing unacknowledged, delivered and acked up to there.
 */
export function planDelivery(ledger: LedgerStreamRecord | undefined, stream: StreamState, consumer: ConsumerState | undefined): DeliveryPlan {
  const gone = Math.max(0, stream.firstSeq - 1);
  if (ledger === undefined) {
    // no record yet: take the broker's word once (as before), the ledger keeps its own from now on
    if (consumer === undefined) return { floorSeq: gone, startSeq: 1, resetLedger: false, why: 'new consumer' };
    const floorSeq = Math.max(consumer.ackFloorSeq, gone);
    return consumer.ackPending > 0
      ? { floorSeq, startSeq: floorSeq + 1, resetLedger: false, why: 'no ledger record: from the consumer\'s ack floor' }
      : { floorSeq, startSeq: undefined, resetLedger: false, why: 'no ledger record: the consumer as it is' };
  }
  const otherStream = (ledger.streamCreated !== undefined && ledger.streamCreated !== stream.created) || stream.lastSeq < ledger.floorSeq;
  const answered = ledger.answeredSeq;
  if (otherStream) {
    return {
      floorSeq: gone,
      startSeq: 1,
      resetLedger: true,
      why: `the stream was recreated (ledger floor ${ledger.floorSeq}, stream last ${stream.lastSeq}): delivering all of it`,
    };
  }
  if (
    consumer !== undefined &&
    consumer.ackPending === 0 &&
    consumer.ackFloorSeq === answered &&
    consumer.deliveredSeq === answered
  ) {
    return { floorSeq: Math.max(answered, gone), startSeq: undefined, resetLedger: false, why: 'the consumer agrees with the ledger' };
  }
  const floorSeq = Math.max(answered, gone);
  const why =
    consumer === undefined
      ? 'no consumer'
      : `the consumer disagrees with the ledger (ack floor ${consumer.ackFloorSeq}, delivered ${consumer.deliveredSeq}, ` +
        `unacknowledged ${consumer.ackPending}; ledger answered ${answered}, applied ${ledger.floorSeq})`;
  return { floorSeq, startSeq: floorSeq + 1, resetLedger: false, why };
}
