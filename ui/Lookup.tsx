// Card lookup: type a token, last 4 digits or holder name, pick a match, see its account and transfers.

import { Box, Text, useInput } from 'ink';
import { useEffect, useRef, useState } from 'react';
import { redactPans } from '../src/domain/cards.ts';
import { clip, padLeft, padRight } from './format.ts';
import { Line } from './Panel.tsx';
import { useColor } from './theme.tsx';
import type { CardDetail, CardSummary, DashboardActions } from './types.ts';

export interface LookupProps {
  actions: Pick<DashboardActions, 'lookupCards' | 'cardDetail'>;
  width: number;
  /** rows available for the whole overlay */
  maxRows: number;
  onClose(): void;
}

/** Longest query accepted; a PAN token is 64 hex characters. */
export const QUERY_CHARS_MAX = 64;

type Phase = 'input' | 'list' | 'detail';

/** Control characters never reach the query: a stray CR would move the cursor and garble the line. */
const stripControls = (text: string): string => text.replace(/[\u0000-\u001f\u007f]/g, '');

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function Lookup({ actions, width, maxRows, onClose }: LookupProps) {
  const c = useColor();
  const [query, setQuery] = useState('');
  const [phase, setPhase] = useState<Phase>('input');
  const [results, setResults] = useState<CardSummary[] | undefined>();
  const [searched, setSearched] = useState('');
  const [selected, setSelected] = useState(0);
  const [detail, setDetail] = useState<CardDetail | undefined>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  // Each request takes a number; an answer for an older one (the user moved on) is dropped.
  const seq = useRef(0);
  const mounted = useRef(true);
  useEffect(
    () => () => {
      mounted.current = false;
    },
    [],
  );

  const search = (q: string) => {
    const id = ++seq.current;
    setBusy(true);
    setError(undefined);
    setSearched(q);
    setPhase('list');
    actions.lookupCards(q).then(
      (cards) => {
        if (!mounted.current || id !== seq.current) return;
        setResults(cards);
        setSelected(0);
        setBusy(false);
      },
      (e: unknown) => {
        if (!mounted.current || id !== seq.current) return;
        setResults([]);
        setError(`lookup failed: ${message(e)}`);
        setBusy(false);
      },
    );
  };

  const open = (card: CardSummary) => {
    const id = ++seq.current;
    setBusy(true);
    setError(undefined);
    setPhase('detail');
    setDetail(undefined);
    actions.cardDetail(card.token).then(
      (d) => {
        if (!mounted.current || id !== seq.current) return;
        setBusy(false);
        if (d) setDetail(d);
        else setError(`card ${card.masked} is gone`);
      },
      (e: unknown) => {
        if (!mounted.current || id !== seq.current) return;
        setBusy(false);
        setError(`card detail failed: ${message(e)}`);
      },
    );
  };

  const type = (input: string) => {
    setPhase('input');
    setQuery((q) => (q + stripControls(input)).slice(0, QUERY_CHARS_MAX));
  };

  useInput((input, key) => {
    if (key.escape) {
      seq.current++;
      setBusy(false);
      setError(undefined);
      if (phase === 'detail') setPhase('list');
      else if (phase === 'list') setPhase('input');
      else onClose();
      return;
    }
    const printable = input.length > 0 && !key.ctrl && !key.meta && !key.tab && !key.return && !key.escape;
    const erase = key.backspace || key.delete;
    if (phase === 'input') {
      if (key.return) {
        if (query.trim()) search(query.trim());
      } else if (erase) setQuery((q) => q.slice(0, -1));
      else if (printable && !key.upArrow && !key.downArrow) {
        // a paste (or keys sent faster than a frame) arrives as one chunk, Enter included
        const enter = input.search(/[\r\n]/);
        if (enter < 0) type(input);
        else {
          const full = (query + stripControls(input.slice(0, enter))).slice(0, QUERY_CHARS_MAX).trim();
          setQuery(full);
          if (full) search(full);
        }
      }
      return;
    }
    if (phase === 'list') {
      const n = results?.length ?? 0;
      if (key.upArrow) setSelected((i) => Math.max(0, i - 1));
      else if (key.downArrow) setSelected((i) => Math.min(Math.max(0, n - 1), i + 1));
      else if (key.return) {
        const card = results?.[selected];
        if (card && !busy) open(card);
      } else if (erase) {
        setPhase('input');
        setQuery((q) => q.slice(0, -1));
      } else if (printable) type(input);
      return;
    }
    if (erase) setPhase('list');
    else if (input === '/') {
      setPhase('input');
      setQuery('');
    }
  });

  const listRoom = Math.max(1, maxRows - 3);
  const first = Math.max(0, Math.min(selected - listRoom + 1, (results?.length ?? 0) - listRoom));
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
        results.length === 0 ? (
          error ? null : (
            <Line color={c('yellow')}>no card matches "{redactPans(searched)}"</Line>
          )
        ) : (
          <>
            <Line dim>
              {results.length} match{results.length === 1 ? '' : 'es'} for "{redactPans(searched)}" · ↑↓ pick · enter open
            </Line>
            {results.slice(first, first + listRoom).map((card, i) => {
              const isSel = first + i === selected;
              return (
                <Text key={card.token} wrap="truncate-end" inverse={isSel}>
                  {isSel ? '▸ ' : '  '}
                  {padRight(card.masked, 20)}
                  {padRight(card.brand, 11)}
                  {padRight(clip(card.holder, 22), 23)}
                  <Text color={card.status === 'active' ? c('green') : c('red')}>
                    {padRight(card.status, 7)}
                  </Text>
                  {card.expiry}
                </Text>
              );
            })}
          </>
        )
      ) : null}
      {phase === 'detail' && detail ? (
        <CardDetailView detail={detail} width={width} maxRows={maxRows - 1} />
      ) : null}
    </Box>
  );
}

function CardDetailView({
  detail: d,
  width,
  maxRows,
}: {
  detail: CardDetail;
  width: number;
  maxRows: number;
}) {
  const c = useColor();
  const amountW = Math.max(12, ...d.transfers.map((t) => t.amount.length + 1));
  const room = Math.max(0, maxRows - 6);
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end">
        <Text bold>{d.masked}</Text> {d.brand} · {d.holder} · status{' '}
        <Text bold inverse={d.status !== 'active'} color={d.status === 'active' ? c('green') : c('red')}>
          {d.status}
        </Text>{' '}
        · expires {d.expiry}
      </Text>
      <Line>
        account {d.accountId} ({d.currency})
      </Line>
      <Text wrap="truncate-end">
        balance <Text bold>{d.balance}</Text> · holds <Text bold>{d.holds}</Text> · available{' '}
        <Text bold color={c('green')}>
          {d.available}
        </Text>{' '}
        · today's spend <Text bold>{d.todaySpend}</Text> {d.currency}
      </Text>
      <Line bold>Last transfers</Line>
      {d.transfers.length === 0 ? <Line dim>no transfers yet</Line> : null}
      {d.transfers.slice(0, room).map((t) => (
        <Text key={t.id} wrap="truncate-end">
          <Text dimColor>{t.atIso.replace('T', ' ').slice(0, 19)} </Text>
          {padRight(t.kind, 10)}
          <Text color={t.direction === 'in' ? c('green') : c('red')}>
            {padLeft(`${t.direction === 'in' ? '+' : '-'}${t.amount}`, amountW)}
          </Text>{' '}
          {t.direction === 'in' ? 'from' : 'to'} {t.counterparty}
        </Text>
      ))}
      {d.transfers.length > room ? <Line dim>… {d.transfers.length - room} older</Line> : null}
    </Box>
  );
}
