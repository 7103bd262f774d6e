// Pure text helpers shared by the panels: sparkline, bars, rates, durations, money, padding.

import { formatAmount } from '../src/domain/money.ts';

const BLOCKS = '▁▂▃▄▅▆▇█';

/** The last `width` values as blocks scaled to their max; zero is a space so gaps stay visible. */
export function sparkline(values: readonly number[], width: number): string {
  const shown = values.slice(Math.max(0, values.length - Math.max(0, width)));
  const max = shown.reduce((a, b) => Math.max(a, b), 0);
  if (max <= 0) return ' '.repeat(shown.length);
  return shown.map((v) => (v <= 0 ? ' ' : BLOCKS[Math.min(7, Math.floor((v / max) * 7.999))]!)).join('');
}

/** A progress bar of `width` cells; fraction is clamped to [0, 1]. */
export function bar(fraction: number, width: number): string {
  const w = Math.max(1, width);
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const filled = Math.round(f * w);
  return '█'.repeat(filled) + '░'.repeat(w - filled);
}

/** numerator / denominator as a fraction of two bigints, precise enough for a bar. */
export function ratio(numerator: bigint, denominator: bigint): number {
  if (denominator <= 0n) return 0;
  return Number((numerator * 10_000n) / denominator) / 10_000;
}

export const count = (n: number): string => Math.round(n).toLocaleString('en-US');

export function rate(perSecond: number): string {
  if (perSecond >= 100) return `${count(perSecond)}/s`;
  return `${perSecond.toFixed(1)}/s`;
}

export function durationMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return uptime(ms);
}

export function uptime(ms: number): string {
  const s = Math.floor(Math.max(0, ms) / 1000);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const two = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d${two(h)}h`;
  if (h > 0) return `${h}h${two(m)}m`;
  if (m > 0) return `${m}m${two(s % 60)}s`;
  return `${s}s`;
}

/** HH:MM:SS in UTC (the day the totals use). */
export const clockUtc = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

/** Grouped amount with the currency's exponent; an unknown currency shows raw minor units rather than crash. */
export function money(amountMinor: bigint, currency: string): string {
  try {
    return formatAmount(amountMinor, currency, { grouping: true });
  } catch {
    return `${amountMinor} minor`;
  }
}

export const padLeft = (s: string, w: number): string => (s.length >= w ? s : ' '.repeat(w - s.length) + s);
export const padRight = (s: string, w: number): string => (s.length >= w ? s : s + ' '.repeat(w - s.length));
/** Cuts to `w` columns with an ellipsis. */
export const clip = (s: string, w: number): string =>
  w <= 0 ? '' : s.length <= w ? s : `${s.slice(0, Math.max(0, w - 1))}…`;

/**
 * Columns of the label after each trend (throughput, lag, latency) in the wide layout: one width for all keeps
 * the newest second of every trend in the same column, so a spike reads across them.
 */
export const TREND_LABEL_COLUMNS = 30;
