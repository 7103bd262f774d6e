// The App's subscriptions: metrics snapshots (held back while the display is paused) and the latest value of a feed.

import { useEffect, useRef, useState } from 'react';
import type { Observable } from 'rxjs';
import type { DashboardSnapshot } from '../src/metrics/aggregator.ts';

export interface SnapshotDisplay {
  /** the snapshot on screen: the latest, or the one shown when the display was paused */
  shown: DashboardSnapshot | undefined;
  /** the stream's error message, once it failed */
  streamError: string | undefined;
  paused: boolean;
  /** pausing freezes the figures (processing goes on); resuming shows the latest snapshot at once */
  togglePause(): void;
}

/** State changes only when a snapshot arrives (or on a key): the frame rate is the snapshot rate. */
export function useSnapshotDisplay(snapshots: Observable<DashboardSnapshot>): SnapshotDisplay {
  const [shown, setShown] = useState<DashboardSnapshot | undefined>();
  const [streamError, setStreamError] = useState<string | undefined>();
  const [paused, setPaused] = useState(false);
  const latest = useRef<DashboardSnapshot | undefined>(undefined);
  // Read by the subscription, which outlives the render that paused.
  const pausedRef = useRef(false);
  useEffect(() => {
    const sub = snapshots.subscribe({
      next: (s) => {
        latest.current = s;
        if (!pausedRef.current) setShown(s);
      },
      error: (e: unknown) => setStreamError(e instanceof Error ? e.message : String(e)),
    });
    return () => sub.unsubscribe();
  }, [snapshots]);
  const togglePause = () => {
    pausedRef.current = !pausedRef.current;
    setPaused(pausedRef.current);
    if (!pausedRef.current && latest.current) setShown(latest.current);
  };
  return { shown, streamError, paused, togglePause };
}

/** The latest value of a feed; undefined before its first value, after an error, or without a feed. */
export function useLatest<T>(feed: Observable<T> | undefined): T | undefined {
  const [value, setValue] = useState<T | undefined>(undefined);
  useEffect(() => {
    if (!feed) return;
    const sub = feed.subscribe({ next: setValue, error: () => setValue(undefined) });
    return () => sub.unsubscribe();
  }, [feed]);
  return value;
}
