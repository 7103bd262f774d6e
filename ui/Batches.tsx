// Batches in flight: orders seen / count and sum so far / control sum as bars, then each batch's report.

import { Box, Text } from 'ink';
import type { BatchProgress } from '../src/metrics/aggregator.ts';
import { bar, count, clip, money, ratio } from './format.ts';
import { Line, Panel, type PanelFrameProps, innerRows, innerWidth } from './Panel.tsx';
import { useColor } from './theme.tsx';

export interface BatchesProps extends PanelFrameProps {
  batches: BatchProgress[];
  maxRows: number;
}

const STATE_COLORS = { open: 'cyan', done: 'green', declined: 'yellow', rejected: 'red' } as const;

export function Batches(props: BatchesProps) {
  const c = useColor();
  const w = innerWidth(props);
  const rowsMax = innerRows(props.maxRows, props);
  const open = props.batches.filter((b) => b.state === 'open').length;
  const right = props.batches.length ? `${open} open · ${props.batches.length - open} finished` : undefined;
  if (props.batches.length === 0) {
    return (
      <Panel {...props} title="Batches">
        <Line dim>no batches in flight</Line>
      </Panel>
    );
  }
  const fitting = Math.max(1, Math.floor((rowsMax - 1) / 2));
  const shown = props.batches.slice(0, fitting);
  const hidden = props.batches.length - shown.length;
  const barW = Math.max(6, Math.min(30, Math.floor((w - 40) / 2)));
  return (
    <Panel {...props} title="Batches" {...(right ? { right } : {})}>
      {shown.map((b) => {
        const over = b.sumSoFarMinor > b.controlSumMinor;
        return (
          <Box key={b.batchId} flexDirection="column">
            <Text wrap="truncate-end">
              {clip(b.batchId, 14)} <Text dimColor>{b.mode}</Text> {b.currency}{' '}
              <Text color={c(STATE_COLORS[b.state])} bold>
                {b.state}
              </Text>{' '}
              orders {bar(b.count ? b.seen / b.count : 0, barW)} {count(b.seen)}/{count(b.count)}
            </Text>
            {b.report && b.state !== 'open' ? (
              <Text wrap="truncate-end">
                {'  report: '}
                {Object.entries(b.report.perStatus)
                  .map(([s, r]) => `${s} ${count(r.count)} ${money(r.amountMinor, b.currency)}`)
                  .join(' · ') || 'empty'}
              </Text>
            ) : (
              <Text wrap="truncate-end">
                {'  sum    '}
                <Text color={over ? c('red') : undefined}>
                  {bar(ratio(b.sumSoFarMinor, b.controlSumMinor), barW)}
                </Text>{' '}
                {money(b.sumSoFarMinor, b.currency)} / {money(b.controlSumMinor, b.currency)}
                {over ? <Text color={c('red')}> over control sum</Text> : null}
              </Text>
            )}
          </Box>
        );
      })}
      {hidden > 0 ? <Line dim>… {hidden} more batches</Line> : null}
    </Panel>
  );
}
