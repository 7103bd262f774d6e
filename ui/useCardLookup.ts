// The card lookup's state and its two requests (search, card detail); the answer to a request left behind is dropped.

import { type Dispatch, type SetStateAction, useEffect, useRef, useState } from 'react';
import type { CardDetail, CardSummary, DashboardActions } from './types.ts';

/** Longest query accepted; a PAN token is 64 hex characters. */
export const QUERY_CHARS_MAX = 64;

export type LookupPhase = 'input' | 'list' | 'detail';

/** Control characters never reach the query: a stray CR would move the cursor and garble the line. */
export const stripControls = (text: string): string => text.replace(/[\u0000-\u001f\u007f]/g, '');

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

type LookupActions = Pick<DashboardActions, 'lookupCards' | 'cardDetail'>;

interface LookupSetters {
  setPhase: Dispatch<SetStateAction<LookupPhase>>;
  setResults: Dispatch<SetStateAction<CardSummary[] | undefined>>;
  setSearched: Dispatch<SetStateAction<string>>;
  setSelected: Dispatch<SetStateAction<number>>;
  setDetail: Dispatch<SetStateAction<CardDetail | undefined>>;
  setBusy: Dispatch<SetStateAction<boolean>>;
  setError: Dispatch<SetStateAction<string | undefined>>;
}

export interface CardLookup {
  query: string;
  phase: LookupPhase;
  /** the matches of the last search; undefined before the first */
  results: CardSummary[] | undefined;
  /** the query the results answer */
  searched: string;
  selected: number;
  detail: CardDetail | undefined;
  busy: boolean;
  error: string | undefined;
  search(query: string): void;
  open(card: CardSummary): void;
  /** adds typed text to the query (back to the input phase) */
  type(input: string): void;
  /** drops the answer of whatever request is in flight, and the error shown */
  cancel(): void;
  setQuery: Dispatch<SetStateAction<string>>;
  setPhase: Dispatch<SetStateAction<LookupPhase>>;
  setSelected: Dispatch<SetStateAction<number>>;
}

export function useCardLookup(actions: LookupActions): CardLookup {
  const [query, setQuery] = useState('');
  const [phase, setPhase] = useState<LookupPhase>('input');
  const [results, setResults] = useState<CardSummary[] | undefined>();
  const [searched, setSearched] = useState('');
  const [selected, setSelected] = useState(0);
  const [detail, setDetail] = useState<CardDetail | undefined>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const turns = useRequestTurns();
  const set: LookupSetters = { setPhase, setResults, setSearched, setSelected, setDetail, setBusy, setError };
  return {
    query,
    phase,
    results,
    searched,
    selected,
    detail,
    busy,
    error,
    search: (q) => startSearch(q, actions, set, turns.begin()),
    open: (card) => startDetail(card, actions, set, turns.begin()),
    type: (input) => {
      setPhase('input');
      setQuery((q) => (q + stripControls(input)).slice(0, QUERY_CHARS_MAX));
    },
    cancel: () => {
      turns.drop();
      setBusy(false);
      setError(undefined);
    },
    setQuery,
    setPhase,
    setSelected,
  };
}

/** Each request takes a number; only the newest, while the lookup is on screen, may set state. */
function useRequestTurns(): { begin(): () => boolean; drop(): void } {
  const seq = useRef(0);
  const mounted = useRef(true);
  useEffect(
    () => () => {
      mounted.current = false;
    },
    [],
  );
  return {
    begin: () => {
      const id = ++seq.current;
      return () => mounted.current && id === seq.current;
    },
    drop: () => {
      seq.current++;
    },
  };
}

function startSearch(q: string, actions: LookupActions, set: LookupSetters, wanted: () => boolean): void {
  set.setBusy(true);
  set.setError(undefined);
  set.setSearched(q);
  set.setPhase('list');
  actions.lookupCards(q).then(
    (cards) => {
      if (!wanted()) return;
      set.setResults(cards);
      set.setSelected(0);
      set.setBusy(false);
    },
    (e: unknown) => {
      if (!wanted()) return;
      set.setResults([]);
      set.setError(`lookup failed: ${message(e)}`);
      set.setBusy(false);
    },
  );
}

function startDetail(
  card: CardSummary,
  actions: LookupActions,
  set: LookupSetters,
  wanted: () => boolean,
): void {
  set.setBusy(true);
  set.setError(undefined);
  set.setPhase('detail');
  set.setDetail(undefined);
  actions.cardDetail(card.token).then(
    (d) => {
      if (!wanted()) return;
      set.setBusy(false);
      if (d) set.setDetail(d);
      else set.setError(`card ${card.masked} is gone`);
    },
    (e: unknown) => {
      if (!wanted()) return;
      set.setBusy(false);
      set.setError(`card detail failed: ${message(e)}`);
    },
  );
}
