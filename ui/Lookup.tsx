// Card lookup: type a token, last 4 digits or holder name and the matches narrow as you type; pick one to see
// its account and transfers. esc steps back one level: card -> matches -> dashboard.

import { Box, type Key, Text, useInput } from 'ink';
import { redactPans } from '../src/domain/cards.ts';
import { CardDetailView } from './CardDetail.tsx';
import { CardMatches } from './CardMatches.tsx';
import { Line } from './Panel.tsx';
import { useColor } from './theme.tsx';
import type { DashboardActions } from './types.ts';
import { type CardLookup, useCardLookup } from './useCardLookup.ts';

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
  const { query, phase, error, detail } = lookup;
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end">
        <Text bold color={c('cyan')}>
          Find card
        </Text>
        {' > '}
        <Text inverse={phase === 'search'}>{redactPans(query) || ' '}</Text>
        {phase === 'search' ? (
          <Text dimColor> token, last 4 digits or holder name · narrows as you type</Text>
        ) : null}
      </Text>
      {error ? <Line color={c('red')}>{error}</Line> : null}
      {phase === 'search' ? (
        <CardMatches
          results={lookup.results}
          searched={lookup.searched}
          searching={lookup.searching ? lookup.pending : undefined}
          selected={lookup.selected}
          listRows={Math.max(1, maxRows - 3)}
          error={error}
        />
      ) : null}
      {phase === 'detail' && lookup.loadingDetail ? <Line dim>loading card…</Line> : null}
      {phase === 'detail' && detail ? <CardDetailView detail={detail} width={width} maxRows={maxRows - 1} /> : null}
    </Box>
  );
}

interface TypedKey {
  input: string;
  key: Key;
  /** text to add to the query */
  printable: boolean;
  /** backspace or delete */
  erase: boolean;
}

/** esc steps back one level (card -> matches -> closed); the other keys depend on the phase. */
function useLookupKeys(lookup: CardLookup, onClose: () => void): void {
  useInput((input, key) => {
    if (key.escape) {
      if (lookup.phase === 'detail') lookup.closeDetail();
      else {
        lookup.cancel();
        onClose();
      }
      return;
    }
    const typed: TypedKey = {
      input,
      key,
      printable: input.length > 0 && !key.ctrl && !key.meta && !key.tab && !key.return,
      erase: key.backspace || key.delete,
    };
    if (lookup.phase === 'search') onSearchKey(lookup, typed);
    else onDetailKey(lookup, typed);
  });
}

/** Typing edits the query (the search follows), arrows pick a match, enter searches now or opens the pick. */
function onSearchKey(lookup: CardLookup, { input, key, printable, erase }: TypedKey): void {
  if (key.upArrow) lookup.move(-1);
  else if (key.downArrow) lookup.move(1);
  else if (key.return) lookup.submit();
  else if (erase) lookup.edit((q) => q.slice(0, -1));
  else if (printable) {
    // a paste (or keys sent faster than a frame) arrives as one chunk, Enter included
    const enter = input.search(/[\r\n]/);
    lookup.edit((q) => q + (enter < 0 ? input : input.slice(0, enter)));
    if (enter >= 0) lookup.submit();
  }
}

/** On a card: erase goes back to the matches too, '/' starts a new query. */
function onDetailKey(lookup: CardLookup, { input, erase }: TypedKey): void {
  if (erase) lookup.closeDetail();
  else if (input === '/') lookup.restart();
}
