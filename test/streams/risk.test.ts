import { firstValueFrom, from, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { RiskEngine } from '../../src/domain/risk/engine.ts';
import type { Order } from '../../src/domain/types.ts';
import { parseRules } from '../../src/risk/config.ts';
import { riskStage } from '../../streams/risk.ts';
import { aCard, anAccount, anOrder, T0, tokenOf } from '../domain/risk/fixtures.ts';

const rules = parseRules(
  `rules:
  - { id: stale, kind: stale, maxAgeSeconds: 300 }
  - { id: dup, kind: duplicate, outcome: block, windowSeconds: 30 }
  - { id: bin, kind: blocklist, list: bin, outcome: block, values: ["4000"] }
`,
  'test.yaml',
);

describe('riskStage', () => {
  it('adds a decision to every order of every buffer, in order, keeping the other fields', async () => {
    const engine = new RiskEngine(rules);
    const card = aCard();
    const clockReadings = [T0, T0 + 1_000];
    let reads = 0;
    const clock = () => clockReadings[reads++]!;
    const first = anOrder();
    const buffers = [
      [
        { order: first, seq: 1 },
        { order: anOrder(), seq: 2 }, // same card, merchant, amount: a duplicate within the same buffer
      ],
      [
        { order: anOrder({ createdAtMs: T0 - 400_000 }), seq: 3 },
        { order: anOrder({ cardToken: tokenOf(2), amountMinor: 99n }), seq: 4 },
      ],
    ];
    const out = await firstValueFrom(
      from(buffers).pipe(
        riskStage(
          engine,
          (order: Order) => ({
            card: order.cardToken === card.token ? card : undefined,
            account: anAccount(),
          }),
          clock,
        ),
        toArray(),
      ),
    );
    expect(out.map((b) => b.map((x) => [x.seq, x.order.id, x.risk.outcome]))).toEqual([
      [
        [1, first.id, 'allow'],
        [2, buffers[0]![1]!.order.id, 'block'],
      ],
      [
        [3, buffers[1]![0]!.order.id, 'expire'],
        [4, buffers[1]![1]!.order.id, 'allow'],
      ],
    ]);
    expect(out[0]![1]!.risk).toEqual({ outcome: 'block', ruleId: 'dup', reason: 'duplicate' });
    expect(reads).toBe(2); // one clock reading per buffer
  });

  it('passes the looked-up card to the engine (BIN block lists need first6)', async () => {
    const engine = new RiskEngine(rules);
    const [decided] = await firstValueFrom(
      from([[{ order: anOrder() }]]).pipe(
        riskStage(
          engine,
          () => ({ card: aCard({ first6: '400011' }) }),
          () => T0,
        ),
      ),
    );
    expect(decided!.risk).toEqual({ outcome: 'block', ruleId: 'bin', reason: 'blocklist_bin' });
  });

  it('emits an empty array for an empty buffer', async () => {
    const out = await firstValueFrom(
      from([[]]).pipe(
        riskStage(
          new RiskEngine(rules),
          () => ({}),
          () => T0,
        ),
      ),
    );
    expect(out).toEqual([]);
  });
});
