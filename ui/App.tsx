// The dashboard: the header, the panels or an overlay (lookup, review, help) in the rows between, and the key bar.

import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { useState } from 'react';
import type { Observable } from 'rxjs';
import type { DashboardSnapshot } from '../src/metrics/aggregator.ts';
import { Footer, type FooterMode } from './Footer.tsx';
import { Header } from './Header.tsx';
import { Help } from './Help.tsx';
import { Lookup } from './Lookup.tsx';
import { Line } from './Panel.tsx';
import { Panels } from './Panels.tsx';
import { ReviewQueue } from './ReviewQueue.tsx';
import { type Theme, ThemeContext, themeFromEnv } from './theme.tsx';
import type { DashboardActions, OperatorActionView } from './types.ts';
import { type Overlay, useDashboardNavigation } from './useDashboardNavigation.ts';
import { useLatest, useSnapshotDisplay } from './useFeeds.ts';
import { useTerminalSize } from './useTerminalSize.ts';

export interface AppProps {
  snapshots: Observable<DashboardSnapshot>;
  actions: DashboardActions;
  /** the newest operator actions from the audit trail (newest first), shown in the Alerts panel */
  operatorActions?: Observable<readonly OperatorActionView[]>;
  /** defaults to NO_COLOR from the environment */
  theme?: Theme;
}

const HEADER_ROWS = 2;
const FOOTER_ROWS = 1;
/** fewest rows the body gets, however short the terminal */
const BODY_ROWS_MIN = 6;

export function App({ snapshots, actions, operatorActions, theme }: AppProps) {
  const { columns, rows } = useTerminalSize();
  const recentActions = useLatest(operatorActions);
  const { shown, streamError, paused, togglePause } = useSnapshotDisplay(snapshots);
  const [quitting, setQuitting] = useState(false);
  const quit = () => {
    setQuitting(true);
    actions.quit();
  };
  const { overlay, setOverlay, focus } = useDashboardNavigation({ quit, togglePause });
  // One row is left free: when Ink's output is as tall as the terminal it clears the screen every frame.
  const bodyRows = Math.max(BODY_ROWS_MIN, rows - 1 - HEADER_ROWS - FOOTER_ROWS);
  const close = () => setOverlay('none');
  const activeTheme = theme ?? themeFromEnv();
  return (
    <ThemeContext.Provider value={activeTheme}>
      {/* Vertical clipping only: Ink clips every text write inside a horizontally clipped box (string-width and
          slice-ansi, a large share of a frame); panels already wrap or truncate text to their width. */}
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
          {overlay === 'none' ? (
            shown ? (
              <Panels
                snap={shown}
                columns={columns}
                rows={bodyRows}
                focus={focus}
                operatorActions={recentActions}
              />
            ) : (
              <Line>waiting for the first metrics snapshot…</Line>
            )
          ) : (
            overlayBody(overlay, { actions, width: columns, maxRows: bodyRows, onClose: close })
          )}
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

function overlayBody(
  overlay: Exclude<Overlay, 'none'>,
  props: { actions: DashboardActions; width: number; maxRows: number; onClose(): void },
): ReactNode {
  if (overlay === 'lookup') return <Lookup {...props} />;
  if (overlay === 'review') return <ReviewQueue {...props} />;
  return <Help width={props.width} />;
}
