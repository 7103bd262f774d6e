// The risk stage: decides every order of a buffer with the risk engine, at one clock reading per buffer.
import { map, type OperatorFunction } from 'rxjs';
import type { RiskDecision, RiskEngine } from '../src/domain/risk/engine.ts';
import type { Account, Card, Order } from '../src/domain/types.ts';

/**
 * Adds `risk` to each item, in order and synchronously, so an order sees the attempts of the orders
 * before it in the same buffer. All orders of a buffer share one `clock()` reading: decisions depend on
 * the clock, not on how long the loop takes. The engine learns final results through
 * `engine.observe` after the apply stage, not here.
 */
export function riskStage<T extends { order: Order }>(
  engine: RiskEngine,
  lookup: (order: Order) => { card?: Card; account?: Account },
  clock: () => number,
): OperatorFunction<T[], (T & { risk: RiskDecision })[]> {
  return map((items: T[]) => {
    const nowMs = clock();
    return items.map((item) => {
      const { card, account } = lookup(item.order);
      return { ...item, risk: engine.evaluate({ order: item.order, card, account, nowMs }) };
    });
  });
}
