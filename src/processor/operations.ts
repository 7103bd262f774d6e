// One table of operations, by name: the CLI runs them on the store directly, the NATS service runs the
// same ones inside the processor, so a request and a command give the same JSON.

import type { Actor } from '../domain/actor.ts';
import { type AuditAction, type AuditStamp, auditParams, parseSince } from '../domain/audit.ts';
import { containsPan, findSensitiveAuthData } from '../domain/cards.ts';
import { DEFAULT_APPLY_OPTIONS, type ApplyOptions } from '../domain/apply.ts';
import { CHANGING_OPS, COUNT_MAX, type OpName } from '../domain/operations.ts';
import { plain } from '../domain/json.ts';
import { type LedgerApi, orderJson } from '../ledger/api.ts';
import { batchRecordsOf, storedOpenView } from '../ledger/batches.ts';
import { LedgerError } from '../ledger/errors.ts';
import { reviewDecision } from './held-orders.ts';
import type { Processor } from './processor.ts';

export { COUNT_MAX, OP_NAMES, type OpName } from '../domain/operations.ts';
export { plain };
export type Args = Record<string, unknown>;
/**
 * Every operation acts for an actor (required, so no caller forgets it): the service passes the identity the
 * NATS server attests, the CLI on the store the local user, the dashboard's keys the local user too.
 */
export type OpTable = Record<OpName, (args: Args, actor: Actor) => Promise<unknown>>;

/** The operations that change the ledger (or the rules): each writes an audit entry, and needs an operator. */
export const MUTATING_OPS: ReadonlySet<OpName> = new Set<OpName>(CHANGING_OPS);

const str = (args: Args, key: string): string => {
  const value = args[key];
  if (typeof value !== 'string' || value.length === 0) throw new LedgerError('invalid_request', `${key} is required`);
  return value;
};
const optStr = (args: Args, key: string): string | undefined => (typeof args[key] === 'string' ? (args[key] as string) : undefined);

/** batches listed at most (open and finished) */
const BATCHES_LISTED_MAX = 1000;
/** A count argument: absent means the default; anything but an integer within 1..COUNT_MAX is refused. */
export const optCount = (args: Args, key: string, defaultCount: number): number => {
  const value = args[key];
  if (value === undefined) return defaultCount;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > COUNT_MAX) {
    throw new LedgerError('invalid_request', `${key} must be a whole number within 1..${COUNT_MAX}`);
  }
  return value;
};

/**
 * Refuses a request carrying card data where none belongs (throws, so it returns nothing): sensitive
 * authentication data under any key at any depth (a `cvv` next to the PAN: cvv_forbidden; track data or a PIN:
 * sad_forbidden), and a card number inside the named fields (invalid_field). Messages name the field, never
 * the value.
 */
function refuseCardData(args: Args, fields: readonly string[]): undefined {
  const sad = findSensitiveAuthData(args);
  if (sad !== undefined) {
    throw sad.kind === 'cvv'
      ? new LedgerError('cvv_forbidden', `${sad.path}: CVV/CVC must never be sent, not even to register a card`)
      : new LedgerError('sad_forbidden', `${sad.path}: track data and PINs must never be sent`);
  }
  for (const field of fields) {
    const value = args[field];
    if (typeof value === 'string' && containsPan(value)) throw new LedgerError('invalid_field', `${field} must not contain a card number`);
  }
  return undefined;
}

export interface OpsContext {
  api: LedgerApi;
  processor?: Processor;
  applyOptions?: ApplyOptions;
  reloadRules?: () => Promise<{ rules: number }>;
  clock?: () => number;
}

type Op = OpTable[OpName];
type Run = (args: Args, stamp: AuditStamp) => Promise<unknown>;

/** What every group of operations is built from. */
interface OpsWiring {
  ctx: OpsContext;
  api: LedgerApi;
  clock: () => number;
  /**
   * A mutating operation: its audit entry is written by the store with its effect; an error thrown before
   * the store wrote one (a missing field, an unparsable amount) gets its entry here.
   */
  audited: (action: AuditAction, run: Run) => Op;
}

const pick = <T extends Args>(args: Args, keys: string[]): T => {
  const out: Args = {};
  for (const k of keys) if (args[k] !== undefined) out[k] = args[k];
  return out as T;
};

export function makeOps(ctx: OpsContext): OpTable {
  const { api } = ctx;
  const audited = (action: AuditAction, run: Run): Op =>
    async (args, actor) => {
      const stamp: AuditStamp = { actor, action, params: auditParams(action, args) };
      try {
        return await run(args, stamp);
      } catch (error) {
        if (!api.store.wasAudited(error)) await api.store.auditFailure(stamp, api.now, error);
        throw error;
      }
    };
  const w: OpsWiring = { ctx, api, clock: ctx.clock ?? Date.now, audited };
  return { ...cardOps(w), ...accountOps(w), ...orderOps(w), ...batchOps(w), ...processorOps(w) };
}

function cardOps({ api, audited }: OpsWiring): Pick<OpTable, 'cards.register' | 'cards.list' | 'cards.lookup' | 'cards.show' | 'cards.freeze' | 'cards.unfreeze' | 'cards.close'> {
  return {
    'cards.register': audited('cards.register', async (a, stamp) =>
      // not the phone: an E.164 number of 12-15 digits passes Luhn one time in ten
      refuseCardData(a, ['holder', 'email', 'account']) ??
      api.registerCard({ ...pick(a, ['email', 'phone', 'account', 'currency']), pan: str(a, 'pan'), expiry: str(a, 'expiry'), holder: str(a, 'holder') }, stamp)),
    'cards.list': (a) => {
      if (a.after !== undefined && typeof a.after !== 'string') throw new LedgerError('invalid_request', 'after must be a card token');
      return api.listCards({ limit: optCount(a, 'limit', 50), ...(a.after === undefined ? {} : { after: a.after as string }) });
    },
    'cards.lookup': (a) => api.lookupCards({ query: str(a, 'query'), limit: optCount(a, 'limit', 20) }),
    'cards.show': (a) => api.showCard({ query: str(a, 'query'), transfers: optCount(a, 'transfers', 10) }),
    'cards.freeze': audited('cards.freeze', async (a, stamp) => api.setCardStatus(str(a, 'token'), 'frozen', stamp)),
    'cards.unfreeze': audited('cards.unfreeze', async (a, stamp) => api.setCardStatus(str(a, 'token'), 'active', stamp)),
    'cards.close': audited('cards.close', async (a, stamp) => api.setCardStatus(str(a, 'token'), 'closed', stamp)),
  };
}

type AccountOpName = 'accounts.open' | 'accounts.deposit' | 'accounts.withdraw' | 'accounts.pending' | 'accounts.approve-posting' | 'accounts.reject-posting' | 'accounts.get' | 'accounts.list';

function accountOps({ api, audited }: OpsWiring): Pick<OpTable, AccountOpName> {
  return {
    'accounts.open': audited('accounts.open', async (a, stamp) =>
      refuseCardData(a, ['id', 'owner']) ?? api.openAccount({ ...pick(a, ['id', 'kind']), owner: str(a, 'owner'), currency: str(a, 'currency') }, stamp)),
    'accounts.deposit': audited('accounts.deposit', async (a, stamp) => api.deposit({ id: str(a, 'id'), amount: str(a, 'amount') }, stamp)),
    'accounts.withdraw': audited('accounts.withdraw', async (a, stamp) => api.withdraw({ id: str(a, 'id'), amount: str(a, 'amount') }, stamp)),
    'accounts.pending': () => api.pendingPostings(),
    'accounts.approve-posting': audited('accounts.approve-posting', async (a, stamp) => api.decidePosting(str(a, 'id'), 'approve', stamp)),
    'accounts.reject-posting': audited('accounts.reject-posting', async (a, stamp) => api.decidePosting(str(a, 'id'), 'reject', stamp)),
    'accounts.get': (a) => api.getAccount({ id: str(a, 'id'), transfers: optCount(a, 'transfers', 10) }),
    'accounts.list': (a) => api.listAccounts({ limit: optCount(a, 'limit', 50) }),
  };
}

function orderOps({ ctx, api, clock, audited }: OpsWiring): Pick<OpTable, 'orders.get' | 'review.list' | 'review.approve' | 'review.decline'> {
  // decidedBy is the actor's id: a request's own `by` names no one
  const decide = async (args: Args, decision: 'approve' | 'decline', stamp: AuditStamp) => {
    const orderId = str(args, 'orderId');
    const outcome = await reviewDecision(api.store, ctx.applyOptions ?? DEFAULT_APPLY_OPTIONS, orderId, decision, stamp, clock(), ctx.processor?.options.risk);
    if ('error' in outcome) {
      throw outcome.error === 'not_found'
        ? new LedgerError('unknown_order', `order ${orderId} does not exist`)
        : new LedgerError('not_held', `order ${orderId} is not held for review`);
    }
    ctx.processor?.publishResults([outcome]);
    return { result: outcome };
  };
  return {
    'orders.get': (a) => api.getOrder({ id: str(a, 'id') }),
    'review.list': async () => ({ orders: (await api.store.reviewQueue()).map(orderJson) }),
    'review.approve': audited('review.approve', (a, stamp) => decide(a, 'approve', stamp)),
    'review.decline': audited('review.decline', (a, stamp) => decide(a, 'decline', stamp)),
  };
}

function batchOps({ ctx, api }: OpsWiring): Pick<OpTable, 'batches.list' | 'batches.show'> {
  const records = batchRecordsOf(api.store);
  return {
    'batches.list': async () => {
      const open = ctx.processor?.batches.openBatches() ?? [];
      const finished: unknown[] = [];
      for (const stored of await records.list(BATCHES_LISTED_MAX)) {
        if (stored.report) finished.push(stored.report);
        // an open batch no processor tracks (none runs): as the ledger holds it
        else if (!open.some((b) => b.id === stored.id)) open.push(storedOpenView(stored));
      }
      return plain({ open, finished });
    },
    'batches.show': async (a) => {
      const id = str(a, 'batchId');
      const stored = await records.read(id);
      if (stored === undefined) throw new LedgerError('unknown_batch', `no batch ${id}`);
      const open = ctx.processor?.batches.openBatches().find((b) => b.id === id);
      return plain({ batchId: id, state: stored.report ? 'finished' : 'open', ...(stored.report ? { report: stored.report } : {}), ...(open ? { open } : {}), stored });
    },
  };
}

function processorOps({ ctx, api, clock, audited }: OpsWiring): Pick<OpTable, 'stats' | 'verify' | 'rules.reload' | 'audit.list'> {
  return {
    stats: async () => {
      const p = ctx.processor;
      if (!p) throw new LedgerError('not_running', 'stats need a running processor');
      const snapshot = p.metrics.snapshot(clock());
      return plain({ processor: p.stats, ordersPerSecond: p.ordersPerSecond(), snapshot });
    },
    verify: () => api.verify(),
    'rules.reload': audited('rules.reload', async (_a, stamp) => {
      if (!ctx.reloadRules) throw new LedgerError('not_running', 'rules reload needs a running processor with rules');
      const out = await ctx.reloadRules();
      await api.store.auditAlone({ ...stamp, atMs: api.now, outcome: 'ok', after: { rules: out.rules } });
      return out;
    }),
    'audit.list': async (a) => {
      const since = optStr(a, 'since');
      const sinceMs = since === undefined ? undefined : parseSince(since, api.now);
      if (since !== undefined && sinceMs === undefined) throw new LedgerError('invalid_request', 'since must be a duration (30m, 1h, 7d) or an ISO time');
      const who = optStr(a, 'who');
      const listed = await api.store.listAudit({ ...(sinceMs === undefined ? {} : { sinceMs }), ...(who === undefined ? {} : { who }) }, optCount(a, 'limit', 50));
      return { ...listed, head: api.store.auditHeadNow };
    },
  };
}
