// The card lookup's state and its two requests (search, card detail): the matches narrow as the query is typed
// (debounced), and the answer to a request left behind is dropped.

import { type Dispatch, type SetStateAction, useEffect, useRef, useState } from 'react';
import type { CardDetail, CardSummary, DashboardActions } from './types.ts';

/** Longest query accepted; a PAN token is 64 hex characters. */
export const QUERY_CHARS_MAX = 64;

/**
 * How long the query must rest before it is searched: one search per pause rather than one per key (a typist's
 * keys come 100-200 ms apart), soon enough to feel like the list follows the typing.
 */
export const LOOKUP_DEBOUNCE_MS = 200;

/** search: the query and its matches; detail: one card (esc goes back to the matches). */
export type LookupPhase = 'search' | 'detail';

/** Control characters never reach the query: a stray CR would move the cursor and garble the line. */
export const stripControls = (text: string): string => text.replace(/[\u0000-\u001f\u007f]/g, '');

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

type LookupActions = Pick<DashboardActions, 'lookupCards' | 'cardDetail'>;

export interface CardLookup {
  query: string;
  phase: LookupPhase;
  /** the matches of the newest answered search; undefined before the first answer (or for an empty query) */
  results: CardSummary[] | undefined;
  /** the query the results answer */
  searched: string;
  /** a search is in flight (its query: `pending`) */
  searching: boolean;
  pending: string;
  selected: number;
  detail: CardDetail | undefined;
  loadingDetail: boolean;
  error: string | undefined;
  /** changes the query; the search follows once it rests for LOOKUP_DEBOUNCE_MS */
  edit(change: (query: string) => string): void;
  /** enter: searches at once when the query is not yet searched, else opens the selected match */
  submit(): void;
  move(step: 1 | -1): void;
  /** esc on a card: back to the matches, whose answer (or search) is kept */
  closeDetail(): void;
  /** a new, empty query */
  restart(): void;
  /** drops whatever is pending or in flight (the lookup is closing) */
  cancel(): void;
}

/** Each request takes a number; only the newest of its kind, while the lookup is on screen, may set state. */
function useTurns(): { begin(): () => boolean; drop(): void } {
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

interface SearchState {
  results: CardSummary[] | undefined;
  searched: string;
  searching: boolean;
  pending: string;
  selected: number;
  error: string | undefined;
}

const NO_SEARCH: SearchState = {
  results: undefined,
  searched: '',
  searching: false,
  pending: '',
  selected: 0,
  error: undefined,
};

/** The searches: one per query that rested, the newest answer only, kept while the next one runs. */
function useSearch(actions: LookupActions, query: string) {
  const [state, setState] = useState<SearchState>(NO_SEARCH);
  const turns = useTurns();
  /** the query last sent (or cleared): what the debounce compares with, read before a render catches up */
  const sent = useRef('');
  /** the lookup is closing: a search that comes due is not sent */
  const stopped = useRef(false);
  const run = (q: string) => {
    sent.current = q;
    if (q === '') {
      turns.drop();
      setState(NO_SEARCH);
      return;
    }
    const wanted = turns.begin();
    setState((s) => ({ ...s, searching: true, pending: q }));
    actions.lookupCards(q).then(
      (cards) => {
        if (wanted()) setState({ results: cards, searched: q, searching: false, pending: '', selected: 0, error: undefined });
      },
      (e: unknown) => {
        if (wanted()) {
          setState({ ...NO_SEARCH, results: [], searched: q, error: `lookup failed: ${message(e)}` });
        }
      },
    );
  };
  // the effect below reads the newest run; the query alone decides when it fires
  const runRef = useRef(run);
  runRef.current = run;
  const trimmed = query.trim();
  useEffect(() => {
    if (trimmed === sent.current) return;
    // an emptied query clears the matches at once: there is nothing to wait for
    if (trimmed === '') return runRef.current('');
    // enter may have sent this query meanwhile
    const timer = setTimeout(() => {
      if (!stopped.current && trimmed !== sent.current) runRef.current(trimmed);
    }, LOOKUP_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [trimmed]);
  return {
    state,
    setSelected: (update: (i: number) => number) => setState((s) => ({ ...s, selected: update(s.selected) })),
    /** the query as typed is the one searched (or being searched) */
    isSent: (q: string) => q.trim() === sent.current,
    flush: (q: string) => run(q.trim()),
    cancel: () => {
      turns.drop();
      stopped.current = true;
    },
  };
}

interface DetailState {
  detail: CardDetail | undefined;
  loading: boolean;
  error: string | undefined;
}

function useDetail(actions: LookupActions) {
  const [state, setState] = useState<DetailState>({ detail: undefined, loading: false, error: undefined });
  const turns = useTurns();
  return {
    state,
    open: (card: CardSummary) => {
      const wanted = turns.begin();
      setState({ detail: undefined, loading: true, error: undefined });
      actions.cardDetail(card.token).then(
        (d) => {
          if (!wanted()) return;
          setState(d ? { detail: d, loading: false, error: undefined } : { detail: undefined, loading: false, error: `card ${card.masked} is gone` });
        },
        (e: unknown) => {
          if (wanted()) setState({ detail: undefined, loading: false, error: `card detail failed: ${message(e)}` });
        },
      );
    },
    close: () => {
      turns.drop();
      setState({ detail: undefined, loading: false, error: undefined });
    },
  };
}

export function useCardLookup(actions: LookupActions): CardLookup {
  const [query, setQuery] = useState('');
  const [phase, setPhase] = useState<LookupPhase>('search');
  const search = useSearch(actions, query);
  const detail = useDetail(actions);
  // read by key handlers that run before a render catches up (keys sent faster than a frame)
  const queryRef = useRef('');
  const setQueryNow: Dispatch<SetStateAction<string>> = (next) => {
    queryRef.current = typeof next === 'function' ? next(queryRef.current) : next;
    setQuery(queryRef.current);
  };
  const s = search.state;
  return {
    query,
    phase,
    results: s.results,
    searched: s.searched,
    searching: s.searching,
    pending: s.pending,
    selected: s.selected,
    detail: detail.state.detail,
    loadingDetail: detail.state.loading,
    error: phase === 'detail' ? detail.state.error : s.error,
    edit: (change) => setQueryNow((q) => stripControls(change(q)).slice(0, QUERY_CHARS_MAX)),
    submit: () => {
      const q = queryRef.current;
      if (!q.trim()) return;
      if (!search.isSent(q)) search.flush(q);
      else if (!s.searching && s.results?.[s.selected]) {
        setPhase('detail');
        detail.open(s.results[s.selected]!);
      }
    },
    move: (step) => search.setSelected((i) => Math.min(Math.max(0, (s.results?.length ?? 1) - 1), Math.max(0, i + step))),
    closeDetail: () => {
      detail.close();
      setPhase('search');
    },
    restart: () => {
      detail.close();
      setPhase('search');
      setQueryNow('');
      search.flush('');
    },
    cancel: () => {
      search.cancel();
      detail.close();
    },
  };
}
