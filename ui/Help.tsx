// What the keys do and how to read the screen.

import { Box, Text } from 'ink';
import { Line } from './Panel.tsx';

export function Help({ width }: { width: number }) {
  const rows: [string, string][] = [
    ['/', 'find a card by token, last 4 digits or holder name: the matches narrow as you type'],
    ['tab / shift-tab', 'focus the next / previous panel (it gets the spare rows)'],
    ['p', 'pause the display: figures freeze, processing continues'],
    ['r', 'review queue: approve (a) or decline (d) held orders'],
    ['?', 'this help'],
    ['esc', 'one level back: card -> matches -> dashboard; closes review and this help'],
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
      <Line>rates are averaged over the last seconds; every sparkline is one column per second, newest right.</Line>
      <Line>
        latency is from the order's createdAt (or arrival) to its result, p50/p95/p99 from a histogram.
      </Line>
      <Line>totals use each currency's exponent; "today" (the UTC day) is shown when it differs from since start.</Line>
      <Line>
        top volume: approved, authorized and held orders of the last minute, by amount in each currency.
      </Line>
    </Box>
  );
}
