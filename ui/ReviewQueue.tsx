// Orders held for review: pick one, `a` approves, `d` declines; the list reloads after each decision.

import { Box, Text, useInput } from 'ink';
import { useCallback, useEffect, useRef, useState } from 'react';
import { clip, padLeft, padRight } from './format.ts';
import { Line } from './Panel.tsx';
import { useColor } from './theme.tsx';
import type { DashboardActions, HeldOrderView } from './types.ts';

export interface ReviewQueueProps {
  actions: Pick<DashboardActions, 'reviewQueue' | 'decideReview'>;
  width: number;
  maxRows: number;
  onClose(): void;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function ReviewQueue({ actions, width, maxRows, onClose }: ReviewQueueProps) {
  const c = useColor();
  const [orders, setOrders] = useState<HeldOrderView[] | undefined>();
  const [selected, setSelected] = useState(0);
  const [notice, setNotice] = useState<{ text: string; bad: boolean } | undefined>();
  // One decision at a time: a second `a` while the first is in flight must not decide twice.
  const deciding = useRef(false);
  const [busy, setBusy] = useState(false);
  const mounted = useRef(true);
  useEffect(
    () => () => {
      mounted.current = false;
    },
    [],
  );

  const load = useCallback(() => {
    actions.reviewQueue().then(
      (list) => {
        if (!mounted.current) return;
        setOrders(list);
        setSelected((i) => Math.min(i, Math.max(0, list.length - 1)));
      },
      (e: unknown) => {
        if (mounted.current) setNotice({ text: `review queue failed: ${message(e)}`, bad: true });
      },
    );
  }, [actions]);
  useEffect(load, [load]);

  const decide = (decision: 'approve' | 'decline') => {
    const order = orders?.[selected];
    if (!order || deciding.current) return;
    deciding.current = true;
    setBusy(true);
    setNotice({
      text: `${decision === 'approve' ? 'approving' : 'declining'} ${order.orderId}…`,
      bad: false,
    });
    actions.decideReview(order.orderId, decision).then(
      (r) => {
        deciding.current = false;
        if (!mounted.current) return;
        setBusy(false);
        setNotice({
          text: `${order.orderId} → ${r.status}${r.reason ? ` (${r.reason})` : ''}`,
          bad: r.status !== (decision === 'approve' ? 'approved' : 'declined'),
        });
        load();
      },
      (e: unknown) => {
        deciding.current = false;
        if (!mounted.current) return;
        setBusy(false);
        setNotice({ text: `${order.orderId}: ${decision} failed: ${message(e)}`, bad: true });
        load();
      },
    );
  };

  useInput((input, key) => {
    if (key.escape) onClose();
    else if (key.upArrow) setSelected((i) => Math.max(0, i - 1));
    else if (key.downArrow) setSelected((i) => Math.min(Math.max(0, (orders?.length ?? 1) - 1), i + 1));
    else if (input === 'a') decide('approve');
    else if (input === 'd') decide('decline');
    else if (input === 'r') load();
  });

  const room = Math.max(1, maxRows - 3);
  const n = orders?.length ?? 0;
  const first = Math.max(0, Math.min(selected - room + 1, n - room));
  const amountW = Math.max(10, ...(orders ?? []).map((o) => o.amount.length));
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end">
        <Text bold color={c('cyan')}>
          Review queue
        </Text>{' '}
        {orders ? `${n} held` : 'loading…'}
        {busy ? <Text dimColor> (deciding…)</Text> : null}
      </Text>
      {notice ? <Line color={notice.bad ? c('red') : c('green')}>{notice.text}</Line> : null}
      {orders && n === 0 ? <Line dim>review queue empty: nothing is held</Line> : null}
      {(orders ?? []).slice(first, first + room).map((o, i) => {
        const isSel = first + i === selected;
        return (
          <Text key={o.orderId} wrap="truncate-end" inverse={isSel}>
            {isSel ? '▸ ' : '  '}
            {padRight(clip(o.orderId, 14), 15)}
            {padLeft(o.amount, amountW)} {padRight(o.currency, 4)}
            {padRight(o.masked, 17)}
            {o.rule ? <Text color={c('yellow')}>{padRight(clip(o.rule, 11), 12)}</Text> : padRight('', 12)}
            {padRight(clip(o.merchant, 16), 17)}
            <Text dimColor>{padRight(o.heldAt, 9)}</Text>
            {o.type}
          </Text>
        );
      })}
    </Box>
  );
}
