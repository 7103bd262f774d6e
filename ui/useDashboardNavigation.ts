// The dashboard's keys: which overlay is open (lookup, review, help) and which panel has the focus.

import { useInput } from 'ink';
import { useRef, useState } from 'react';
import { PANELS, type PanelId } from './types.ts';

export type Overlay = 'none' | 'lookup' | 'review' | 'help';

export interface DashboardNavigation {
  overlay: Overlay;
  setOverlay(overlay: Overlay): void;
  focus: PanelId;
}

/**
 * Ctrl-C quits from anywhere. The other keys act only on the dashboard and its help: the lookup and review
 * overlays take their own keys (so a holder name may contain q, p or r).
 */
export function useDashboardNavigation(actions: { quit(): void; togglePause(): void }): DashboardNavigation {
  const [overlay, setOverlayState] = useState<Overlay>('none');
  // Read by the key handler: a key right after '/' must not act on the dashboard before Ink re-subscribes.
  const overlayRef = useRef<Overlay>('none');
  const setOverlay = (o: Overlay) => {
    overlayRef.current = o;
    setOverlayState(o);
  };
  const [focus, setFocus] = useState<PanelId>('throughput');

  useInput((input, key) => {
    if (key.ctrl && input === 'c') actions.quit();
  });
  useInput(
    (input, key) => {
      if (key.ctrl || overlayRef.current === 'lookup' || overlayRef.current === 'review') return;
      if (overlayRef.current === 'help') {
        if (key.escape || input === '?') setOverlay('none');
        else if (input === 'q') actions.quit();
        return;
      }
      if (input === 'q') actions.quit();
      else if (input === '/') setOverlay('lookup');
      else if (input === 'r') setOverlay('review');
      else if (input === '?') setOverlay('help');
      else if (input === 'p') actions.togglePause();
      else if (key.tab) setFocus((f) => nextPanel(f, key.shift ? -1 : 1));
    },
    { isActive: overlay === 'none' || overlay === 'help' },
  );
  return { overlay, setOverlay, focus };
}

/** The panel `step` places after (or, negative, before) `focus`, wrapping around. */
export function nextPanel(focus: PanelId, step: 1 | -1): PanelId {
  const i = PANELS.indexOf(focus);
  return PANELS[(i + (step === 1 ? 1 : PANELS.length - 1)) % PANELS.length]!;
}
