// The dashboard: panels laid out for the terminal size, overlays for lookup, review and help, and the keys.

import { Box, Text, useInput } from 'ink';
import { useEffect, useRef, useState } from 'react';
import type { Observable } from 'rxjs';
import type { DashboardSnapshot } from '../src/metrics/aggregator.ts';
import { Alerts } from './Alerts.tsx';
import { Batches } from './Batches.tsx';
import { Footer, type FooterMode } from './Footer.tsx';
import { Header } from './Header.tsx';
import { Help } from './Help.tsx';
import { Latency } from './Latency.tsx';
import { Lookup } from './Lookup.tsx';
import { Line } from './Panel.tsx';
import { ReviewQueue } from './ReviewQueue.tsx';
import { type Theme, ThemeContext, themeFromEnv } from './theme.tsx';
import { Throughput } from './Throughput.tsx';
import { Totals } from './Totals.tsx';
import { type DashboardActions, type OperatorActionView, PANELS, type PanelId } from './types.ts';
import { useTerminalSize } from './useTerminalSize.ts';

export interface AppProps {
  snapshots: Observable<DashboardSnapshot>;
  actions: DashboardActions;
  /** the newest operator actions from the audit trail (newest first), shown in the Alerts panel */
  operatorActions?: Observable<readonly OperatorActionView[]>;
  /** defaults to NO_COLOR from the environment */
  theme?: Theme;
}

type Overlay = 'none' | 'lookup' | 'review' | 'help';

/** Two columns from this width on; borders only when there are rows to spare for them. */
export const WIDE_COLUMNS_MIN = 110;
export const BORDERED_ROWS_MIN = 30;
const HEADER_ROWS = 2;
const FOOTER_ROWS = 1;

export function App({ snapshots, actions, operatorActions, theme }: AppProps) {
  const { columns, rows } = useTerminalSize();
  const [shown, setShown] = useState<DashboardSnapshot | undefined>();
  const [streamError, setStreamError] = useState<string | undefined>();
  const [paused, setPaused] = useState(false);
  const [overlay, setOverlayState] = useState<Overlay>('none');
  // Read by the key handler: a key right after '/' must not act on the dashboard before Ink re-subscribes.
  const overlayRef = useRef<Overlay>('none');
  const setOverlay = (o: Overlay) => {
    overlayRef.current = o;
    setOverlayState(o);
  };
  const [focus, setFocus] = useState<PanelId>('throughput');
  const [quitting, setQuitting] = useState(false);
  const latest = useRef<DashboardSnapshot | undefined>(undefined);
  const [recentActions, setRecentActions] = useState<readonly OperatorActionView[] | undefined>(undefined);

  useEffect(() => {
    if (!operatorActions) return;
    const sub = operatorActions.subscribe({ next: setRecentActions, error: () => setRecentActions(undefined) });
    return () => sub.unsubscribe();
  }, [operatorActions]);
  const pausedRef = useRef(false);

  // State changes only when a snapshot arrives (or on a key): the frame rate is the snapshot rate.
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

  const quit = () => {
    setQuitting(true);
    actions.quit();
  };
  const togglePause = () => {
    pausedRef.current = !pausedRef.current;
    setPaused(pausedRef.current);
    if (!pausedRef.current && latest.current) setShown(latest.current);
  };

  useInput((input, key) => {
    if (key.ctrl && input === 'c') quit();
  });
  useInput(
    (input, key) => {
      if (key.ctrl || overlayRef.current === 'lookup' || overlayRef.current === 'review') return;
      if (overlayRef.current === 'help') {
        if (key.escape || input === '?') setOverlay('none');
        else if (input === 'q') quit();
        return;
      }
      if (input === 'q') quit();
      else if (input === '/') setOverlay('lookup');
      else if (input === 'r') setOverlay('review');
      else if (input === '?') setOverlay('help');
      else if (input === 'p') togglePause();
      else if (key.tab) {
        const i = PANELS.indexOf(focus);
        const next = (i + (key.shift ? PANELS.length - 1 : 1)) % PANELS.length;
        setFocus(PANELS[next]!);
      }
    },
    { isActive: overlay === 'none' || overlay === 'help' },
  );

  // One row is left free: when Ink's output is as tall as the terminal it clears the screen every frame.
  const bodyRows = Math.max(6, rows - 1 - HEADER_ROWS - FOOTER_ROWS);
  const close = () => setOverlay('none');
  let body: React.ReactNode;
  if (overlay === 'lookup')
    body = <Lookup actions={actions} width={columns} maxRows={bodyRows} onClose={close} />;
  else if (overlay === 'review')
    body = <ReviewQueue actions={actions} width={columns} maxRows={bodyRows} onClose={close} />;
  else if (overlay === 'help') body = <Help width={columns} />;
  else if (!shown) body = <Line>waiting for the first metrics snapshot…</Line>;
  else body = <Panels snap={shown} columns={columns} rows={bodyRows} focus={focus} operatorActions={recentActions} />;

  const activeTheme = theme ?? themeFromEnv();
  return (
    <ThemeContext.Provider value={activeTheme}>
      {/* Vertical clipping only: Ink clips every text write inside a horizontally clipped box with string-width
          and slice-ansi, ~30 % of a frame (measured); panels already wrap or truncate text to their width. */}
      <Box flexDirection="column" width={columns} height={rows - 1} overflowY="hidden">
        {shown ? (
          <Header
            status={shown.status}
            uptimeMs={shown.uptimeMs}
            health={shown.health}
            displayPaused={paused}
            width={columns}
          />
        ) : (
          <Box height={HEADER_ROWS}>
            <Text bold>paystream</Text>
          </Box>
        )}
        <Box flexDirection="column" height={bodyRows} overflowY="hidden">
          {streamError ? (
            <Line color={activeTheme.color ? 'red' : undefined}>metrics stream failed: {streamError}</Line>
          ) : null}
          {body}
        </Box>
        <Footer
          mode={overlay === 'none' ? 'main' : (overlay as FooterMode)}
          displayPaused={paused}
          quitting={quitting}
          width={columns}
        />
      </Box>
    </ThemeContext.Provider>
  );
}

/** Stacked and abbreviated below WIDE_COLUMNS_MIN; throughput across the top and two columns above it. */
function Panels({
  snap,
  columns,
  rows,
  focus,
  operatorActions,
}: {
  snap: DashboardSnapshot;
  columns: number;
  rows: number;
  focus: PanelId;
  operatorActions: readonly OperatorActionView[] | undefined;
}) {
  const actionsProp = operatorActions === undefined ? {} : { operatorActions };
  const f = (id: PanelId) => focus === id;
  const totalOrders = snap.totals.sinceStart.orders;
  if (columns < WIDE_COLUMNS_MIN) {
    const rest = Math.max(6, rows - 3 - 1);
    const base = { totals: 6, batches: 3, alerts: 5 };
    const scale = Math.min(1, rest / (base.totals + base.batches + base.alerts));
    const alloc = {
      totals: Math.max(3, Math.floor(base.totals * scale)),
      batches: Math.max(2, Math.floor(base.batches * scale)),
      alerts: Math.max(3, Math.floor(base.alerts * scale)),
    };
    const spare = Math.max(0, rest - alloc.totals - alloc.batches - alloc.alerts);
    if (f('batches')) alloc.batches += spare;
    else if (f('alerts')) alloc.alerts += spare;
    else alloc.totals += spare;
    return (
      <Box flexDirection="column">
        <Throughput
          throughput={snap.throughput}
          health={snap.health}
          totalOrders={totalOrders}
          width={columns}
          focused={f('throughput')}
        />
        <Latency latency={snap.latency} compact width={columns} focused={f('latency')} />
        <Totals totals={snap.totals} width={columns} maxRows={alloc.totals} focused={f('totals')} />
        <Batches batches={snap.batches} width={columns} maxRows={alloc.batches} focused={f('batches')} />
        <Alerts alerts={snap.alerts} width={columns} maxRows={alloc.alerts} focused={f('alerts')} {...actionsProp} />
      </Box>
    );
  }
  const bordered = rows + 4 >= BORDERED_ROWS_MIN;
  const b = bordered ? 2 : 0;
  const left = Math.floor(columns * 0.55); // totals, the widest table, live on the left
  const right = columns - left;
  const colRows = rows - 3 - b;
  const batchesRows = Math.max(3 + b, Math.floor(colRows * (f('batches') ? 0.6 : 0.4)));
  return (
    <Box flexDirection="column">
      <Throughput
        throughput={snap.throughput}
        health={snap.health}
        totalOrders={totalOrders}
        width={columns}
        bordered={bordered}
        focused={f('throughput')}
      />
      <Box flexDirection="row">
        <Box flexDirection="column" width={left}>
          <Latency latency={snap.latency} width={left} bordered={bordered} focused={f('latency')} />
          <Totals
            totals={snap.totals}
            width={left}
            maxRows={colRows - 3 - b}
            bordered={bordered}
            focused={f('totals')}
          />
        </Box>
        <Box flexDirection="column" width={right}>
          <Batches
            batches={snap.batches}
            width={right}
            maxRows={batchesRows}
            bordered={bordered}
            focused={f('batches')}
          />
          <Alerts
            alerts={snap.alerts}
            width={right}
            maxRows={colRows - batchesRows}
            bordered={bordered}
            focused={f('alerts')}
            {...actionsProp}
          />
        </Box>
      </Box>
    </Box>
  );
}
