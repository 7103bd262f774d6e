// The lookup's matches: how many for the query, and as many rows as fit, scrolled to keep the selection in view.

import { Text } from 'ink';
import { redactPans } from '../src/domain/cards.ts';
import { clip, padRight } from './format.ts';
import { Line } from './Panel.tsx';
import { useColor } from './theme.tsx';
import type { CardSummary } from './types.ts';

export interface CardMatchesProps {
  /** the newest answer; undefined before the first (or for an empty query) */
  results: CardSummary[] | undefined;
  /** the query the results answer (shown with any PAN masked) */
  searched: string;
  /** the query of a search in flight, if any: the results shown stay until it answers */
  searching: string | undefined;
  selected: number;
  /** rows for the match rows, under the count line */
  listRows: number;
  /** an error already shown stands for an empty answer */
  error: string | undefined;
}

export function CardMatches({ results, searched, searching, selected, listRows, error }: CardMatchesProps) {
  const c = useColor();
  const busy = searching === undefined ? null : <Text dimColor> · searching "{redactPans(searching)}"…</Text>;
  if (results === undefined) {
    return searching === undefined ? null : <Line dim>searching "{redactPans(searching)}"…</Line>;
  }
  if (results.length === 0) {
    return error ? null : (
      <Text wrap="truncate-end">
        <Text color={c('yellow')}>no card matches "{redactPans(searched)}"</Text>
        {busy}
      </Text>
    );
  }
  const first = Math.max(0, Math.min(selected - listRows + 1, results.length - listRows));
  return (
    <>
      <Text wrap="truncate-end" dimColor>
        {results.length} match{results.length === 1 ? '' : 'es'} for "{redactPans(searched)}" · ↑↓ pick · enter open
        {busy}
      </Text>
      {results.slice(first, first + listRows).map((card, i) => {
        const isSel = first + i === selected;
        return (
          <Text key={card.token} wrap="truncate-end" inverse={isSel}>
            {isSel ? '▸ ' : '  '}
            {padRight(card.masked, 20)}
            {padRight(card.brand, 11)}
            {padRight(clip(card.holder, 22), 23)}
            <Text color={card.status === 'active' ? c('green') : c('red')}>{padRight(card.status, 7)}</Text>
            {card.expiry}
          </Text>
        );
      })}
    </>
  );
}
