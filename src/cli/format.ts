// Human output for the CLI: small aligned tables and key/value blocks (--json gives the raw views).

import type { AccountJson, CardDetailJson, CardJson, OrderJson, TransferJson } from '../ledger/api.ts';
import { describeActor } from '../domain/actor.ts';
import { type AuditEntry, describeEntry, describeValues } from '../domain/audit.ts';

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export const cardRow = (c: CardJson): string[] => [c.masked, c.brand, c.expiry, c.status, c.holder.name, c.accountId, c.token.slice(0, 16)];
export const CARD_HEADERS = ['card', 'brand', 'expiry', 'status', 'holder', 'account', 'token'];

export function cardsTable(cards: CardJson[]): string {
  return cards.length === 0 ? 'no cards' : table(CARD_HEADERS, cards.map(cardRow));
}

export function accountBlock(a: AccountJson): string {
  return [
    `account    ${a.id} (${a.owner.kind}: ${a.owner.name})`,
    `balance    ${a.balance} ${a.currency}`,
    `holds      ${a.holds} ${a.currency}`,
    `available  ${a.available} ${a.currency}`,
  ].join('\n');
}

export function transfersTable(accountId: string, transfers: TransferJson[]): string {
  if (transfers.length === 0) return 'no transfers';
  return table(
    ['at', 'kind', 'amount', 'counterparty', 'order', 'transfer'],
    transfers.map((t) => {
      const out = t.debit === accountId;
      return [t.at, t.kind, `${out ? '-' : '+'}${t.amount} ${t.currency}`, out ? t.credit : t.debit, t.orderId, t.id];
    }),
  );
}

export function cardDetail(d: CardDetailJson): string {
  const c = d.card;
  const lines = [
    `card       ${c.masked} (${c.brand})`,
    `token      ${c.token}`,
    `status     ${c.status}`,
    `expiry     ${c.expiry}`,
    `holder     ${c.holder.name}${c.holder.email ? ` <${c.holder.email}>` : ''}${c.holder.phone ? ` ${c.holder.phone}` : ''}`,
  ];
  if (d.account) {
    lines.push(accountBlock(d.account));
    lines.push(`today      ${d.todaySpend} ${d.account.currency} spent`);
    lines.push('', transfersTable(d.account.id, d.transfers));
  }
  return lines.join('\n');
}

export function orderBlock(o: OrderJson): string {
  const r = o.result;
  return [
    `order      ${o.orderId} (${o.type})`,
    `status     ${r.status}${r.reason ? ` (${r.reason})` : ''}${r.rule ? ` rule ${r.rule}` : ''}${r.duplicate ? ' duplicate' : ''}`,
    o.amount ? `amount     ${o.amount} ${o.currency}` : '',
    o.merchant ? `merchant   ${o.merchant}` : '',
    o.ref ? `ref        ${o.ref}` : '',
    o.batchId ? `batch      ${o.batchId}` : '',
    o.hold ? `hold       ${o.hold} ${o.currency}${o.open ? ' (open)' : ''}` : '',
    o.refunded ? `refunded   ${o.refunded} ${o.currency}` : '',
    r.transferId ? `transfer   ${r.transferId}` : '',
    `processed  ${r.processedAt}`,
  ]
    .filter(Boolean)
    .join('\n');
}

/** The audit trail, newest first: when, who, what (masked parameters), outcome, before -> after. */
export function auditTable(entries: AuditEntry[]): string {
  if (entries.length === 0) return 'no audit entries';
  return table(
    ['seq', 'at', 'who', 'what', 'outcome', 'before', 'after'],
    entries.map((e) => [String(e.seq), e.at, describeActor(e.actor), describeEntry(e), e.outcome === 'ok' ? 'ok' : `error ${e.error ?? ''}`, describeValues(e.before), describeValues(e.after)]),
  );
}
