// One card in the lookup: status, account, balance, holds, today's spend and as many recent transfers as fit.

import { Box, Text } from 'ink';
import { padLeft, padRight } from './format.ts';
import { Line } from './Panel.tsx';
import { useColor } from './theme.tsx';
import type { CardDetail } from './types.ts';

export function CardDetailView({
  detail: d,
  width,
  maxRows,
}: {
  detail: CardDetail;
  width: number;
  maxRows: number;
}) {
  const c = useColor();
  const amountW = Math.max(12, ...d.transfers.map((t) => t.amount.length + 1));
  const room = Math.max(0, maxRows - 6);
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end">
        <Text bold>{d.masked}</Text> {d.brand} · {d.holder} · status{' '}
        <Text bold inverse={d.status !== 'active'} color={d.status === 'active' ? c('green') : c('red')}>
          {d.status}
        </Text>{' '}
        · expires {d.expiry}
      </Text>
      <Line>
        account {d.accountId} ({d.currency})
      </Line>
      <Text wrap="truncate-end">
        balance <Text bold>{d.balance}</Text> · holds <Text bold>{d.holds}</Text> · available{' '}
        <Text bold color={c('green')}>
          {d.available}
        </Text>{' '}
        · today's spend <Text bold>{d.todaySpend}</Text> {d.currency}
      </Text>
      <Line bold>Last transfers</Line>
      {d.transfers.length === 0 ? <Line dim>no transfers yet</Line> : null}
      {d.transfers.slice(0, room).map((t) => (
        <Text key={t.id} wrap="truncate-end">
          <Text dimColor>{t.atIso.replace('T', ' ').slice(0, 19)} </Text>
          {padRight(t.kind, 10)}
          <Text color={t.direction === 'in' ? c('green') : c('red')}>
            {padLeft(`${t.direction === 'in' ? '+' : '-'}${t.amount}`, amountW)}
          </Text>{' '}
          {t.direction === 'in' ? 'from' : 'to'} {t.counterparty}
        </Text>
      ))}
      {d.transfers.length > room ? <Line dim>… {d.transfers.length - room} older</Line> : null}
    </Box>
  );
}
