import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { WireBatchHeader, WireOrder } from '../../src/domain/batchfile.ts';
import {
  DEMO_CARD_COUNT,
  DEMO_MERCHANT_COUNT,
  DEMO_SEED,
  demoCards,
  demoMerchants,
  merchantAccountFor,
} from '../../src/domain/generate.ts';
import { ORDER_TYPES } from '../../src/domain/types.ts';
import { type RecordLine, readRecording, redactPanRuns } from '../../src/recording/index.ts';
import { sampleGaps, sampleMessages, sampleSeed } from '../fixtures/make-sample-recording.ts';

const PATH = fileURLToPath(new URL('../../data/sample-recording.ndjson.gz', import.meta.url));

describe('data/sample-recording.ndjson.gz', async () => {
  const lines: RecordLine[] = [];
  for await (const line of readRecording(PATH)) lines.push(line);
  const json = lines
    .filter((l) => l.payload.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l.payload) as Record<string, unknown>;
      } catch {
        return {};
      }
    });

  it('holds a few thousand messages at about 100 a second', () => {
    expect(lines.length).toBeGreaterThanOrEqual(3_000);
    for (let i = 1; i < lines.length; i++)
      expect(lines[i]!.receivedAtMs).toBeGreaterThanOrEqual(lines[i - 1]!.receivedAtMs);
    const seconds = (lines.at(-1)!.receivedAtMs - lines[0]!.receivedAtMs) / 1000;
    expect(seconds).toBeGreaterThan(30);
    expect(seconds).toBeLessThan(60);
  });

  it('shows every order type, atomic and independent batches, and trouble', () => {
    const types = new Set(json.map((o) => o.type));
    for (const type of ORDER_TYPES) expect(types.has(type), type).toBe(true);
    const headers = lines
      .filter((l) => l.subject.startsWith('pay.batches.'))
      .map((l) => JSON.parse(l.payload) as WireBatchHeader);
    expect(new Set(headers.map((h) => h.mode))).toEqual(new Set(['atomic', 'independent']));
    expect(lines.some((l) => l.payloadBase64 !== undefined || !l.payload.startsWith('{'))).toBe(true);
  });

  it('uses only the demo cards and merchants, so it plays against the demo ledger', () => {
    const tokens = new Set(demoCards(DEMO_CARD_COUNT, DEMO_SEED).map((c) => c.token));
    const merchants = new Set(
      demoMerchants(DEMO_MERCHANT_COUNT).flatMap((m) => ['USD', 'EUR', 'CNY', 'JPY'].map((c) => merchantAccountFor(m, c))),
    );
    const valid = json.filter(
      (o) => typeof o.card === 'string' && /^[0-9a-f]{64}$/.test(o.card as string),
    ) as unknown as WireOrder[];
    expect(valid.length).toBeGreaterThan(3_000);
    for (const o of valid) expect(tokens.has(o.card!), o.id).toBe(true);
    for (const o of valid.filter((o) => o.merchant !== undefined))
      expect(merchants.has(o.merchant!), o.id).toBe(true);
  });

  it('holds no PAN anywhere', () => {
    // payloads and headers only: receivedAtMs is an epoch-ms number that may pass Luhn by chance
    for (const line of lines) {
      const text =
        line.payloadBase64 === undefined
          ? line.payload
          : Buffer.from(line.payloadBase64, 'base64').toString('latin1');
      expect(redactPanRuns(text)).toBe(text);
      expect(redactPanRuns(JSON.stringify(line.headers ?? {}))).toBe(JSON.stringify(line.headers ?? {}));
      expect(line.payload).not.toContain('"pan"');
    }
  });

  it('is what the fixture script makes today (rerun it after changing the generator)', () => {
    const fresh = sampleMessages(sampleSeed());
    expect(sampleGaps(fresh)).toEqual([]);
    expect(
      fresh.map((m) =>
        typeof m.payload === 'string' ? m.payload : Buffer.from(m.payload).toString('base64'),
      ),
    ).toEqual(lines.map((l) => l.payloadBase64 ?? l.payload));
  });
});
