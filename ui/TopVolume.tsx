// The top merchants and cards by amount in the last minute, per currency (two currencies' amounts are never
// compared); cards masked. Merchants and cards side by side when there is room, one above the other when not.

import { Text } from 'ink';
import type { CurrencyVolume, TopVolumeView, VolumeRow } from '../src/metrics/aggregator.ts';
import { clip, count, money, padLeft, padRight } from './format.ts';
import { Line, Panel, type PanelFrameProps, innerRows, innerWidth } from './Panel.tsx';

export interface TopVolumeProps extends PanelFrameProps {
  top: TopVolumeView;
  /** rows including title and borders */
  maxRows: number;
}

/** Narrowest list (currency, label, amount, count) worth showing beside the other one. */
const LIST_COLUMNS_MIN = 44;
const AMOUNT_COLUMNS = 15;
const COUNT_COLUMNS = 7;

/** Rows for each currency out of `rows`: one each in turn (most orders first) until the rows or the entries run out. */
export function shareRows(lengths: readonly number[], rows: number): number[] {
  const out = lengths.map(() => 0);
  let left = rows;
  for (let given = true; given && left > 0; ) {
    given = false;
    for (let i = 0; i < lengths.length && left > 0; i++) {
      if (out[i]! < lengths[i]!) {
        out[i]!++;
        left--;
        given = true;
      }
    }
  }
  return out;
}

export function TopVolume(props: TopVolumeProps) {
  const { top } = props;
  const w = innerWidth(props);
  const seconds = Math.round(top.windowMs / 1000);
  const right = <Text dimColor>last {seconds}s · approved, authorized and held · by amount in each currency</Text>;
  if (top.currencies.length === 0) {
    return (
      <Panel {...props} title="Top volume" right={right}>
        <Line dim>no money moved in the last {seconds}s</Line>
      </Panel>
    );
  }
  const sideBySide = w >= 2 * LIST_COLUMNS_MIN + 3;
  // under the title: the per-currency line, then each list's heading and rows
  const room = Math.max(1, innerRows(props.maxRows, props) - 2);
  const listW = sideBySide ? Math.floor((w - 3) / 2) : w;
  const list = (kind: string, pick: (c: CurrencyVolume) => VolumeRow[], rows: number) =>
    volumeLines(kind, top.currencies, pick, rows, listW);
  let lines: ListLine[];
  if (sideBySide) {
    const merchants = list('MERCHANT', (c) => c.merchants, room - 1);
    const cards = list('CARD', (c) => c.cards, room - 1);
    lines = Array.from({ length: Math.max(merchants.length, cards.length) }, (_, i) => ({
      key: `${merchants[i]?.key}|${cards[i]?.key}`,
      text: `${padRight(merchants[i]?.text ?? '', listW)} │ ${cards[i]?.text ?? ''}`.trimEnd(),
    }));
  } else {
    lines = [
      ...list('MERCHANT', (c) => c.merchants, Math.max(1, Math.ceil(room / 2) - 1)),
      ...list('CARD', (c) => c.cards, Math.max(1, Math.floor(room / 2) - 1)),
    ];
  }
  return (
    <Panel {...props} title="Top volume" right={right}>
      <Line dim>
        {top.currencies.map((c) => `${c.currency} ${count(c.orders)} orders ${money(c.amountMinor, c.currency)}`).join(' · ')}
        {top.unrankedOrders > 0 ? ` · ${count(top.unrankedOrders)} in other currencies` : ''}
      </Line>
      {lines.map((l) => (
        // the headings dim, like every table's
        <Line key={l.key} dim={l.text.startsWith('CUR ')}>
          {l.text}
        </Line>
      ))}
    </Panel>
  );
}

interface ListLine {
  key: string;
  text: string;
}

/** One kind's heading and its rows: each currency's top entries together (its share of the rows), highest amount first. */
function volumeLines(
  kind: string,
  currencies: readonly CurrencyVolume[],
  pick: (c: CurrencyVolume) => VolumeRow[],
  rows: number,
  width: number,
): ListLine[] {
  const labelW = Math.max(8, width - 4 - AMOUNT_COLUMNS - COUNT_COLUMNS);
  const shares = shareRows(
    currencies.map((c) => pick(c).length),
    Math.max(0, rows),
  );
  const body = currencies.flatMap((c, i) =>
    pick(c)
      .slice(0, shares[i])
      .map((r, j) => ({
        key: `${kind}/${c.currency}/${j}`,
        text:
          padRight(c.currency, 4) +
          padRight(clip(r.label, labelW - 1), labelW) +
          padLeft(money(r.amountMinor, c.currency), AMOUNT_COLUMNS) +
          padLeft(count(r.count), COUNT_COLUMNS),
      })),
  );
  const heading = `CUR ${padRight(kind, labelW)}${padLeft('AMOUNT', AMOUNT_COLUMNS)}${padLeft('N', COUNT_COLUMNS)}`;
  return [{ key: `${kind}/heading`, text: heading }, ...(body.length === 0 ? [{ key: `${kind}/none`, text: '    none' }] : body)];
}
