// Card lookup: type a token, last 4 digits or holder name, pick a match, see its account and transfers.

import { Box, type Key, Text, useInput } from 'ink';
import { redactPans } from '../src/domain/cards.ts';
import { CardDetailView } from './CardDetail.tsx';
import { CardMatches } from './CardMatches.tsx';
import { Line } from './Panel.tsx';
import { useColor } from './theme.tsx';
import type { DashboardActions } from './types.ts';
import { type CardLookup, QUERY_CHARS_MAX, stripControls, useCardLookup } from './useCardLookup.ts';

export interface LookupProps {
  actions: Pick<DashboardActions, 'lookupCards' | 'cardDetail'>;
  width: number;
  /** rows available for the whole overlay */
  maxRows: number;
  onClose(): void;
}

export function Lookup({ actions, width, maxRows, onClose }: LookupProps) {
  const c = useColor();
  const lookup = useCardLookup(actions);
  useLookupKeys(lookup, onClose);
  const { query, phase, results, busy, error, detail } = lookup;
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end">
        <Text bold color={c('cyan')}>
          Find card
        </Text>
        {' > '}
        <Text inverse={phase === 'input'}>{redactPans(query) || ' '}</Text>
        {phase === 'input' ? (
          <Text dimColor> token, last 4 digits or holder name · enter to search</Text>
        ) : null}
      </Text>
      {error ? <Line color={c('red')}>{error}</Line> : null}
      {busy ? <Line dim>{phase === 'detail' ? 'loading card…' : 'searching…'}</Line> : null}
      {phase === 'list' && !busy && results ? (
        <CardMatches
          results={results}
          searched={lookup.searched}
          selected={lookup.selected}
          listRows={Math.max(1, maxRows - 3)}
          error={error}
        />
      ) : null}
      {phase === 'detail' && detail ? (
        <CardDetailView detail={detail} width={width} maxRows={maxRows - 1} />
      ) : null}
    </Box>
  );
}

/** esc goes back one step (detail, list, query, closed); the other keys depend on the phase. */
function useLookupKeys(lookup: CardLookup, onClose: () => void): void {
  useInput((input, key) => {
    if (key.escape) {
      lookup.cancel();
      if (lookup.phase === 'detail') lookup.setPhase('list');
      else if (lookup.phase === 'list') lookup.setPhase('input');
      else onClose();
      return;
    }
    const typed: TypedKey = {
      input,
      key,
      printable: input.length > 0 && !key.ctrl && !key.meta && !key.tab && !key.return && !key.escape,
      erase: key.backspace || key.delete,
    };
    if (lookup.phase === 'input') onQueryKey(lookup, typed);
    else if (lookup.phase === 'list') onListKey(lookup, typed);
    else onDetailKey(lookup, typed);
  });
}

interface TypedKey {
  input: string;
  key: Key;
  /** text to add to the query */
  printable: boolean;
  /** backspace or delete */
  erase: boolean;
}

/** Typing the query; enter searches. */
function onQueryKey(lookup: CardLookup, { input, key, printable, erase }: TypedKey): void {
  if (key.return) {
    if (lookup.query.trim()) lookup.search(lookup.query.trim());
  } else if (erase) lookup.setQuery((q) => q.slice(0, -1));
  else if (printable && !key.upArrow && !key.downArrow) {
    // a paste (or keys sent faster than a frame) arrives as one chunk, Enter included
    const enter = input.search(/[\r\n]/);
    if (enter < 0) lookup.type(input);
    else {
      const full = (lookup.query + stripControls(input.slice(0, enter))).slice(0, QUERY_CHARS_MAX).trim();
      lookup.setQuery(full);
      if (full) lookup.search(full);
    }
  }
}

/** Picking a match; enter opens it, typing or erasing goes back to the query. */
function onListKey(lookup: CardLookup, { input, key, printable, erase }: TypedKey): void {
  const n = lookup.results?.length ?? 0;
  if (key.upArrow) lookup.setSelected((i) => Math.max(0, i - 1));
  else if (key.downArrow) lookup.setSelected((i) => Math.min(Math.max(0, n - 1), i + 1));
  else if (key.return) {
    const card = lookup.results?.[lookup.selected];
    if (card && !lookup.busy) lookup.open(card);
  } else if (erase) {
    lookup.setPhase('input');
    lookup.setQuery((q) => q.slice(0, -1));
  } else if (printable) lookup.type(input);
}

/** On a card: erase goes back to the matches, '/' starts a new query. */
function onDetailKey(lookup: CardLookup, { input, erase }: TypedKey): void {
  if (erase) lookup.setPhase('list');
  else if (input === '/') {
    lookup.setPhase('input');
    lookup.setQuery('');
  }
}
