// Top two rows: where we read from (NATS, stream, consumer, lag), where we write (ledger), uptime and state.

import { Box, Text } from 'ink';
import { maskUrl, redactText } from '../src/domain/credentials.ts';
import type { DashboardSnapshot, ProcessorStatus } from '../src/metrics/aggregator.ts';
import { count, uptime } from './format.ts';
import { useColor } from './theme.tsx';

export interface HeaderProps {
  status: ProcessorStatus;
  uptimeMs: number;
  health: DashboardSnapshot['health'];
  /** the display is frozen with `p` (the processor keeps going) */
  displayPaused?: boolean;
  width: number;
}

const STATE_COLORS: Record<ProcessorStatus['state'], string> = {
  starting: 'cyan',
  running: 'green',
  paused: 'yellow',
  draining: 'yellow',
  stopped: 'red',
};

export function Header({ status, uptimeMs, health, displayPaused, width }: HeaderProps) {
  const c = useColor();
  const lagging = health.find((h) => h.code === 'consumer_lagging');
  const conn = status.connection;
  const connection =
    conn === 'connected' ? (
      <Text color={c('green')}>● connected</Text>
    ) : conn === 'offline' ? (
      <Text color={c('yellow')}>○ offline replay (no broker)</Text>
    ) : conn === 'disconnected' && status.state === 'starting' ? (
      <Text color={c('yellow')}>○ connecting…</Text>
    ) : conn === 'reconnecting' ? (
      <Text inverse bold color={c('red')}>
        {' NATS DOWN — RECONNECTING '}
      </Text>
    ) : (
      <Text inverse bold color={c('red')}>
        {' NATS DISCONNECTED '}
      </Text>
    );
  const loudState = status.state !== 'running';
  return (
    <Box flexDirection="column" width={width}>
      {/* most important first: what is cut off at 80 columns is the least needed */}
      <Text wrap="truncate-end">
        <Text bold>paystream </Text>
        {connection}
        <Text> │ </Text>
        <Text inverse={loudState} bold color={c(STATE_COLORS[status.state])}>
          {loudState ? ` ${status.state.toUpperCase()} ` : status.state}
        </Text>
        {displayPaused ? (
          <Text inverse bold color={c('yellow')}>
            {' DISPLAY PAUSED (p) '}
          </Text>
        ) : null}
        <Text> │ up {uptime(uptimeMs)} │ </Text>
        {/* never a password or token: the URL masked, whatever the processor was given */}
        <Text>{status.natsUrl ? maskUrl(status.natsUrl) : '—'}</Text>
      </Text>
      <Text wrap="truncate-end">
        {lagging ? (
          <Text inverse bold color={c('yellow')}>
            {` ${lagging.text} `}
          </Text>
        ) : (
          <Text>pending {status.pendingMessages === undefined ? '?' : count(status.pendingMessages)}</Text>
        )}
        <Text> │ stream </Text>
        <Text bold>{status.stream || '—'}</Text>
        <Text> │ consumer </Text>
        <Text bold>{status.consumer || '—'}</Text>
        <Text> │ ledger </Text>
        <Text>{status.ledgerPath || '—'}</Text>
        {status.lastError ? <Text color={c('red')}> │ error: {redactText(status.lastError)}</Text> : null}
      </Text>
    </Box>
  );
}
