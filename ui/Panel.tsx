// The frame every panel shares: a title row (inverse when focused), optionally inside a border.

import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { useColor } from './theme.tsx';

export interface PanelFrameProps {
  /** outer width in columns */
  width: number;
  focused?: boolean;
  /** draw a border (wide, tall terminals); costs two rows and two columns */
  bordered?: boolean;
  /** outer rows the panel fills (its border reaching them), whatever its content; absent: as tall as its content */
  height?: number;
}

/** Columns and rows left for content inside a panel of this frame. */
export const innerWidth = (p: PanelFrameProps): number => Math.max(10, p.width - (p.bordered ? 2 : 0));
export const innerRows = (rows: number, p: PanelFrameProps): number =>
  Math.max(1, rows - (p.bordered ? 2 : 0));

export function Panel(props: PanelFrameProps & { title: string; right?: ReactNode; children?: ReactNode }) {
  const c = useColor();
  const { focused, bordered, width, height } = props;
  return (
    <Box
      flexDirection="column"
      width={width}
      flexShrink={0}
      {...(height === undefined ? {} : { height, overflowY: 'hidden' as const })}
      {...(bordered
        ? { borderStyle: focused ? 'double' : 'round', borderColor: focused ? c('cyan') : c('gray') }
        : {})}
    >
      <Text wrap="truncate-end">
        <Text bold inverse={focused} color={focused ? undefined : c('cyan')}>
          {focused ? `▶ ${props.title} ` : props.title}
        </Text>
        {props.right ? <Text> {props.right}</Text> : null}
      </Text>
      {props.children}
    </Box>
  );
}

/** One row that never wraps. */
export function Line(props: {
  children?: ReactNode;
  color?: string | undefined;
  dim?: boolean;
  bold?: boolean;
}) {
  return (
    <Text wrap="truncate-end" color={props.color} dimColor={props.dim} bold={props.bold}>
      {props.children}
    </Text>
  );
}
