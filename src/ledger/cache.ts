// The ledger's records in memory: bounded caches of cards, accounts and orders, and the records staged in a
// write that has not reached LevelDB yet, read first so the next buffer can be decided during that write.

import type { ClassicLevel } from 'classic-level';
import { LRUCache } from 'lru-cache';
import type { OrderRecord, WorkingSet } from '../domain/apply.ts';
import type { Account, Card } from '../domain/types.ts';
import { decodeAccountWithBalance, decodeCard, decodeOrderRecord } from './codec.ts';
import type { Sublevels } from './sublevels.ts';

export interface CacheLimits {
  /** @default 50_000 */ cardsCacheMax?: number;
  /** @default 50_000 */ accountsCacheMax?: number;
  /** @default 10_000 (recent orders: captures, refunds and duplicates mostly refer to them) */ ordersCacheMax?: number;
}

export const DEFAULT_CARDS_CACHE_MAX = 50_000;
export const DEFAULT_ACCOUNTS_CACHE_MAX = 50_000;
export const DEFAULT_ORDERS_CACHE_MAX = 10_000;

export class RecordCache {
  readonly cards: LRUCache<string, Card>;
  readonly accounts: LRUCache<string, Account>;
  readonly orders: LRUCache<string, OrderRecord>;
  /**
   * Records staged in a write that has not reached LevelDB yet. Reads look here first, so an LRU eviction
   * cannot expose a stale value while the write is under way. Cards have none: the pipeline never changes one.
   */
  readonly unwritten = {
    accounts: new Map<string, Account>(),
    orders: new Map<string, OrderRecord>(),
  };

  constructor(
    private readonly db: ClassicLevel<string, string>,
    private readonly rooms: Pick<Sublevels, 'cards' | 'accounts' | 'balances' | 'orders'>,
    limits: CacheLimits,
  ) {
    this.cards = new LRUCache({ max: limits.cardsCacheMax ?? DEFAULT_CARDS_CACHE_MAX });
    this.accounts = new LRUCache({ max: limits.accountsCacheMax ?? DEFAULT_ACCOUNTS_CACHE_MAX });
    this.orders = new LRUCache({ max: limits.ordersCacheMax ?? DEFAULT_ORDERS_CACHE_MAX });
  }

  clear(): void {
    this.cards.clear();
    this.accounts.clear();
    this.orders.clear();
  }

  /** Records an operator command has written (its cards and accounts), so reads find them without LevelDB. */
  remember(records: { cards?: readonly Card[]; accounts?: readonly Account[] }): void {
    for (const card of records.cards ?? []) this.cards.set(card.token, card);
    for (const account of records.accounts ?? []) this.accounts.set(account.id, account);
  }

  async getCard(token: string): Promise<Card | undefined> {
    const cached = this.cards.get(token);
    if (cached) return cached;
    const text = await this.rooms.cards.get(token);
    if (text === undefined) return undefined;
    const card = decodeCard(text);
    this.cards.set(token, card);
    return card;
  }

  async getAccount(id: string): Promise<Account | undefined> {
    const cached = this.unwritten.accounts.get(id) ?? this.accounts.get(id);
    if (cached) return cached;
    const [text, balance] = await this.db.getMany([this.rooms.accounts.prefix + id, this.rooms.balances.prefix + id]);
    if (text === undefined) return undefined;
    const account = decodeAccountWithBalance(text, balance);
    this.accounts.set(id, account);
    return account;
  }

  async getOrder(id: string): Promise<OrderRecord | undefined> {
    const cached = this.unwritten.orders.get(id) ?? this.orders.get(id);
    if (cached) return cached;
    const text = await this.rooms.orders.get(id);
    if (text === undefined) return undefined;
    const record = decodeOrderRecord(text);
    this.orders.set(id, record);
    return record;
  }

  /**
   * Makes the changed accounts and orders of a working set visible to the next reads at once (cached and
   * held as unwritten); returns what to call once their write is in LevelDB, which lets go of them.
   */
  stage(ws: WorkingSet): () => void {
    // id, record, id, record, ...: the accounts first, then the orders (one array a write, no pair objects)
    const staged: (string | Account | OrderRecord)[] = new Array(2 * (ws.dirtyAccounts.size + ws.dirtyOrders.size));
    let at = 0;
    for (const id of ws.dirtyAccounts) {
      const a = ws.accounts.get(id)!;
      this.accounts.set(id, a);
      this.unwritten.accounts.set(id, a);
      staged[at++] = id;
      staged[at++] = a;
    }
    const accountsEnd = at;
    for (const id of ws.dirtyOrders) {
      const r = ws.orders.get(id)!;
      this.orders.set(id, r);
      this.unwritten.orders.set(id, r);
      staged[at++] = id;
      staged[at++] = r;
    }
    // a later write of the same record has replaced it in the map: that one stays until its own write lands
    return () => {
      for (let i = 0; i < staged.length; i += 2) {
        const map: Map<string, unknown> = i < accountsEnd ? this.unwritten.accounts : this.unwritten.orders;
        const id = staged[i] as string;
        if (map.get(id) === staged[i + 1]) map.delete(id);
      }
    };
  }
}
