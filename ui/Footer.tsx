// The key bar: what each key does in the current view.

import { Text } from 'ink';
import { Fragment } from 'react';
import { useColor } from './theme.tsx';

export type FooterMode = 'main' | 'lookup' | 'review' | 'help';

export interface FooterProps {
  mode: FooterMode;
  displayPaused?: boolean;
  quitting?: boolean;
  width: number;
}

const KEYS: Record<FooterMode, (paused: boolean) => [string, string][]> = {
  main: (paused) => [
    ['/', 'lookup'],
    ['tab', 'next panel'],
    ['p', paused ? 'resume' : 'pause'],
    ['r', 'review'],
    ['?', 'help'],
    ['q', 'quit'],
  ],
  lookup: () => [
    ['type', 'narrow'],
    ['↑↓', 'pick'],
    ['enter', 'open'],
    ['esc', 'back one level'],
    ['^C', 'quit'],
  ],
  review: () => [
    ['↑↓', 'select'],
    ['a', 'approve'],
    ['d', 'decline'],
    ['r', 'refresh'],
    ['esc', 'close'],
  ],
  help: () => [
    ['esc/?', 'close'],
    ['q', 'quit'],
  ],
};

export function Footer({ mode, displayPaused, quitting, width }: FooterProps) {
  const c = useColor();
  if (quitting) {
    return (
      <Text wrap="truncate-end" inverse bold color={c('yellow')}>
        {' quitting — draining the processor (Ctrl-C again to force) '.padEnd(Math.min(width, 70))}
      </Text>
    );
  }
  return (
    <Text wrap="truncate-end">
      {KEYS[mode](Boolean(displayPaused)).map(([k, label], i) => (
        <Fragment key={k}>
          {i > 0 ? ' ' : ''}
          <Text inverse bold>
            {` ${k} `}
          </Text>
          <Text> {label}</Text>
        </Fragment>
      ))}
    </Text>
  );
}
