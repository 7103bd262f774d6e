// Progress of long CLI work for the person at the terminal: a cli-progress bar on stderr, redrawn in place
// a few times a second (count, rate, and a share and ETA where the end is known), then one summary line.
// Scripts get nothing extra: no bar and no summary unless stderr is a terminal and stdout goes to the
// terminal or to a file, and never with --quiet.

import { fstatSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as CliProgress from 'cli-progress';

/** redraws a second: the work only stores a count, the drawing happens this often */
export const PROGRESS_FPS = 10;
/** the rate (and so the ETA) is measured over this much of the recent past */
const RATE_WINDOW_MS = 5000;
/** rate samples kept: one a redraw over the window, and one more for its start */
const RATE_SAMPLES_MAX = (RATE_WINDOW_MS * PROGRESS_FPS) / 1000 + 1;
/** until the work has run this long there is no rate (nor ETA) worth showing */
const RATE_SETTLE_MS = 500;
/** the bar's width in characters: as wide as the terminal leaves room for, within these */
const BAR_CHARS = { min: 10, max: 30 } as const;
/** characters kept free at the end of the line, so a full line never wraps */
const LINE_MARGIN_CHARS = 2;
/** the widest the bar's share and ETA get in a run under an hour */
const WIDEST_HEAD = '] 100%  ETA 00:00';
/** with no total, room on the line is kept for counts and rates up to this */
const WIDEST_UNKNOWN_COUNT = 9_999_999;

/** --quiet, on each command that shows progress */
export const QUIET_FLAG_HELP = 'no progress bar or summary on stderr (both appear only at a terminal)';

/** Where the bar would go: process.stderr, or a fake terminal in the tests. */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
/** Where stdout goes: a script reads a pipe; a person watches the terminal or waits for a file. */
export type StdoutKind = 'terminal' | 'file' | 'pipe';

export interface ProgressOptions {
  /** the command, first on the bar: `seed` */
  label: string;
  /** what is counted, singular (an s makes the plural): `card` */
  unit: string;
  /** what the summary says was done: `seeded` */
  verb: string;
  /** how many there will be, when known @default unknown: count and rate, no ETA */
  total?: number;
  /** the total is an estimate (the share and ETA are shown, not "of N") @default false */
  estimate?: boolean;
  /** the work ends after this long whatever the count (generate): the share and ETA go by the clock @default none */
  durationMs?: number;
  /** the command writes its results to stdout as it goes: no bar while they scroll on the same terminal @default false */
  writesAsItGoes?: boolean;
  /** --quiet: nothing extra @default false */
  quiet?: boolean;
  /** @default process.stderr */
  stream?: ProgressStream;
  /** @default where fd 1 goes */
  stdout?: StdoutKind;
}

/** What the work reports to; every method is a no-op when no bar is shown. */
export interface Progress {
  /** whether a bar is on the screen (a terminal, not --quiet) */
  readonly shown: boolean;
  /** Stores how far the work is (and the total, once known or better estimated): cheap enough for every item. */
  update(done: number, total?: number): void;
  /** The bar gives way to the summary: `seeded 200,000 cards in 9.8 s (20,408 cards/s)`; `detail` follows the count. */
  finish(detail?: string): void;
}

/**
 * Runs `work` with a progress bar when the operator watches (see `progressShown`), and takes the bar off
 * the screen whatever happens; `work` calls finish() for the summary once its result is in.
 */
export async function withProgress<T>(options: ProgressOptions, work: (progress: Progress) => Promise<T>): Promise<T> {
  if (!progressShown(options)) return work(NO_PROGRESS);
  const bar = new TerminalProgress(options, options.stream ?? process.stderr);
  try {
    return await work(bar);
  } finally {
    bar.stop();
  }
}

/** A bar only for a person: stderr a terminal (not a dumb one), stdout the terminal or a file, no --quiet. */
export function progressShown(o: Pick<ProgressOptions, 'quiet' | 'stream' | 'stdout' | 'writesAsItGoes'>, env = process.env): boolean {
  const stream = o.stream ?? process.stderr;
  if (o.quiet || stream.isTTY !== true || env.TERM === 'dumb') return false;
  const stdout = o.stdout ?? stdoutKind();
  return stdout === 'file' || (stdout === 'terminal' && !o.writesAsItGoes);
}

/** Where this process's stdout goes. */
export function stdoutKind(): StdoutKind {
  if (process.stdout.isTTY) return 'terminal';
  try {
    return fstatSync(1).isFile() ? 'file' : 'pipe';
  } catch {
    return 'pipe';
  }
}

const NO_PROGRESS: Progress = { shown: false, update: () => undefined, finish: () => undefined };

// loaded when a bar is drawn, so the commands a script runs never load it
const requireHere = createRequire(import.meta.url);

/** The bar on a terminal: cli-progress draws it at PROGRESS_FPS; each frame reads the latest count. */
class TerminalProgress implements Progress {
  readonly shown = true;
  private done = 0;
  private total: number | undefined;
  private readonly startedMs = Date.now();
  private readonly samples: { atMs: number; done: number }[] = [];
  private readonly bar: CliProgress.SingleBar;
  private readonly formatBar: CliProgress.BarFormatter;
  private stopped = false;

  constructor(
    private readonly o: ProgressOptions,
    private readonly stream: ProgressStream,
  ) {
    this.total = o.total;
    const { SingleBar, Format } = requireHere('cli-progress') as typeof CliProgress;
    this.formatBar = Format.BarFormat;
    this.bar = new SingleBar({
      stream,
      fps: PROGRESS_FPS,
      barsize: BAR_CHARS.max,
      format: (options, params) => this.frame(options, params.maxWidth),
      // cut to the terminal's width rather than turn line wrapping off (which a killed process would leave off)
      linewrap: true,
      hideCursor: false,
      clearOnComplete: true,
    });
    this.bar.start(1, 0);
  }

  update(done: number, total?: number): void {
    this.done = done;
    if (total !== undefined) this.total = total;
  }

  finish(detail?: string): void {
    if (this.stopped) return;
    this.stop();
    this.stream.write(`${progressSummary(this.o, this.done, Date.now() - this.startedMs, detail)}\n`);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.bar.stop();
  }

  /** One frame: `seed [=====-----] 52%  ETA 0:04  104,000/200,000 cards  21,300/s`, as wide as the terminal allows. */
  private frame(options: CliProgress.Options, widthChars: number): string {
    const nowMs = Date.now();
    const rate = this.sampleRate(nowMs);
    const share = this.share(nowMs);
    const units = plural(this.o.unit);
    const of = this.total !== undefined && !this.o.estimate ? `/${count(this.total)}` : '';
    const speed = rate === undefined ? '' : `  ${count(rate)}/s`;
    // the time so far, in whole seconds gone by (the clock rounds up, for an ETA)
    if (share === undefined) return `${this.o.label}  ${count(this.done)}${of} ${units}${speed}  ${clock(Math.floor((nowMs - this.startedMs) / 1000) * 1000)}`;
    const head = `] ${Math.floor(share * 100)}%  ETA ${this.etaText(nowMs, rate)}`;
    // each tail with its widest form (every figure as long as the total), so the bar keeps its width as figures grow
    const wide = count(Math.max(this.total ?? WIDEST_UNKNOWN_COUNT, this.done));
    const tails: [string, string][] = [
      [`  ${count(this.done)}${of} ${units}${speed}`, `  ${wide}${of} ${units}  ${wide}/s`],
      [`  ${count(this.done)}${of} ${units}`, `  ${wide}${of} ${units}`],
      [`  ${count(this.done)}`, `  ${wide}`],
    ];
    const room = widthChars - LINE_MARGIN_CHARS - this.o.label.length - 2 - Math.max(head.length, WIDEST_HEAD.length);
    // on a narrow terminal the rate goes first, then the total: the bar, share and ETA stay
    const [tail, widest] = tails.find(([, w]) => room - w.length >= BAR_CHARS.min) ?? tails.at(-1)!;
    const barChars = Math.max(BAR_CHARS.min, Math.min(BAR_CHARS.max, room - widest.length));
    return `${this.o.label} [${this.formatBar(share, { ...options, barsize: barChars })}${head}${tail}`;
  }

  /** How much of the work is done, when that can be told: by the clock (durationMs), else by count. */
  private share(nowMs: number): number | undefined {
    if (this.o.durationMs !== undefined) return Math.min(1, (nowMs - this.startedMs) / this.o.durationMs);
    if (this.total === undefined) return undefined;
    return this.total <= 0 ? 1 : Math.min(1, this.done / this.total);
  }

  private etaText(nowMs: number, rate: number | undefined): string {
    if (this.o.durationMs !== undefined) return clock(this.startedMs + this.o.durationMs - nowMs);
    if (this.total === undefined || rate === undefined || rate <= 0) return '-:--';
    return clock((Math.max(0, this.total - this.done) / rate) * 1000);
  }

  /** Keeps this frame's count; the rate over the samples of the last RATE_WINDOW_MS, once it has settled. */
  private sampleRate(nowMs: number): number | undefined {
    this.samples.push({ atMs: nowMs, done: this.done });
    if (this.samples.length > RATE_SAMPLES_MAX) this.samples.shift();
    const first = this.samples[0]!;
    if (nowMs - this.startedMs < RATE_SETTLE_MS || nowMs - first.atMs <= 0) return undefined;
    return ((this.done - first.done) * 1000) / (nowMs - first.atMs);
  }
}

/** The line a finished bar leaves: what was done, how many, how long, how fast. */
export function progressSummary(o: Pick<ProgressOptions, 'unit' | 'verb'>, done: number, elapsedMs: number, detail?: string): string {
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  return `${o.verb} ${count(done)} ${done === 1 ? o.unit : plural(o.unit)}${detail ? ` ${detail}` : ''} in ${duration(elapsedMs)} (${count(rate)} ${plural(o.unit)}/s)`;
}

const plural = (unit: string): string => `${unit}s`;

// made on first use: the first Intl.NumberFormat of a process costs about 25 ms, which every command (and
// --help) would pay for when this module loads
let grouped: Intl.NumberFormat | undefined;
let oneDecimal: Intl.NumberFormat | undefined;

/** A count or a rate, grouped by thousands; a rate below 10 keeps a decimal. */
function count(n: number): string {
  if (n < 10 && !Number.isInteger(n)) {
    oneDecimal ??= new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
    return oneDecimal.format(n);
  }
  grouped ??= new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  return grouped.format(n);
}

/** A time on the bar, in whole seconds rounded up (so it does not flicker): 0:04, 1:05, 1:02:03. */
export function clock(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  const mmss = `${Math.floor((seconds % 3600) / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  return seconds < 3600 ? mmss : `${Math.floor(seconds / 3600)}:${mmss.padStart(5, '0')}`;
}

/** 0.4 s, 9.8 s, 1 min 05 s, 2 h 03 min. */
export function duration(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
  return `${Math.floor(whole / 3600)} h ${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')} min`;
}
