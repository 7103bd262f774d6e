// What the keys do and how to read the screen.

import { Box, Text } from 'ink';
import { Line } from './Panel.tsx';

export function Help({ width }: { width: number }) {
  const rows: [string, string][] = [
    ['/', 'find a card by token, last 4 digits or holder name'],
    ['tab / shift-tab', 'focus the next / previous panel (it gets the spare rows)'],
    ['p', 'pause the display: figures freeze, processing continues'],
    ['r', 'review queue: approve (a) or decline (d) held orders'],
    ['?', 'this help'],
    ['esc', 'close an overlay, go back one step'],
    ['q, Ctrl-C', 'quit: the processor drains in-flight orders first'],
  ];
  return (
    <Box flexDirection="column" width={width}>
      <Text bold>Help</Text>
      {rows.map(([k, v]) => (
        <Text key={k} wrap="truncate-end">
          <Text bold>{k.padEnd(16)}</Text>
          {v}
        </Text>
      ))}
      <Text> </Text>
      <Line>pending = messages the durable consumer has not received yet (lag).</Line>
      <Line>rates are averaged over the last seconds; the sparkline is one column per second.</Line>
      <Line>
        latency is from the order's createdAt (or arrival) to its result, p50/p95/p99 from a histogram.
      </Line>
      <Line>totals use each currency's exponent; "today" is the UTC day.</Line>
    </Box>
  );
}
