import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenizePan } from '../../src/domain/cards.ts';
import {
  openRecordingWriter,
  payloadBytes,
  RecordingFormatError,
  type RecordLine,
  readRecording,
  toRecordLine,
} from '../../src/recording/index.ts';
import { TEST_PANS, TEST_TOKEN_KEY } from '../domain/builders.ts';

const PAN = TEST_PANS.mastercard[0];
const tokenize = (pan: string): string => tokenizePan(pan, TEST_TOKEN_KEY);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'paystream-recording-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readAll(path: string): Promise<RecordLine[]> {
  const lines: RecordLine[] = [];
  for await (const line of readRecording(path)) lines.push(line);
  return lines;
}

const lines = (n: number): RecordLine[] =>
  Array.from({ length: n }, (_, i) => ({
    subject: 'pay.orders.gen',
    headers: { 'Nats-Msg-Id': [`o${i}`] },
    payload: JSON.stringify({ id: `o${i}`, type: 'payment', amount: '1.00', note: 'é ✓' }),
    receivedAtMs: 1_780_000_000_000 + i * 5,
    streamSeq: i + 1,
  }));

describe.each(['plain.ndjson', 'packed.ndjson.gz'])('a recording file (%s)', (name) => {
  it('reads back exactly the lines written, in order', async () => {
    const path = join(dir, name);
    const writer = await openRecordingWriter(path, { tokenize });
    const written = lines(5_000);
    for (const line of written) if (!writer.write(line)) await writer.drain();
    expect(writer.linesWritten).toBe(5_000);
    await writer.close();
    await writer.close(); // closing twice is harmless
    expect(await readAll(path)).toEqual(written);
    const raw = await readFile(path);
    expect(raw[0] === 0x1f && raw[1] === 0x8b).toBe(name.endsWith('.gz'));
  });

  it('never holds the PAN digits of a payload that carried a PAN', async () => {
    const path = join(dir, `pan-${name}`);
    const writer = await openRecordingWriter(path, { tokenize });
    const payload = JSON.stringify({
      id: 'o1',
      type: 'payment',
      pan: PAN,
      merchant: 'm',
      amount: '1.00',
      currency: 'USD',
    });
    writer.write(
      toRecordLine({ subject: 'pay.orders.web', data: new TextEncoder().encode(payload), receivedAtMs: 1 }),
    );
    writer.write(
      toRecordLine({
        subject: 'pay.orders.web',
        data: new TextEncoder().encode(`garbage ${PAN}`),
        receivedAtMs: 2,
      }),
    );
    await writer.close();
    const raw = await readFile(path);
    const text = (name.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
    expect(text).not.toContain(PAN);
    const [order, garbage] = await readAll(path);
    expect(JSON.parse(order!.payload)).toMatchObject({ id: 'o1', card: tokenize(PAN) });
    expect(garbage!.payload).toBe('garbage [PAN REDACTED]');
  });
});

describe('readRecording', () => {
  it('round-trips a payload that is not UTF-8 through payloadBase64', async () => {
    const path = join(dir, 'binary.ndjson');
    const data = new Uint8Array([0xff, 0x00, 0x7b, 0xc3, 0x28]);
    const writer = await openRecordingWriter(path);
    writer.write(toRecordLine({ subject: 's', data, receivedAtMs: 1 }));
    await writer.close();
    const [line] = await readAll(path);
    expect(line!.payload).toBe('');
    expect(payloadBytes(line!)).toEqual(Buffer.from(data));
  });

  it('tells gzip by its first bytes, whatever the name, and skips blank lines and CRLF', async () => {
    const path = join(dir, 'no-extension');
    await writeFile(
      path,
      gzipSync(
        '{"subject":"a","payload":"x","receivedAtMs":1}\r\n\n{"subject":"b","payload":"y","receivedAtMs":2}',
      ),
    );
    expect((await readAll(path)).map((l) => l.subject)).toEqual(['a', 'b']);
  });

  it('names the line of a malformed record', async () => {
    const path = join(dir, 'bad.ndjson');
    await writeFile(
      path,
      '{"subject":"a","payload":"x","receivedAtMs":1}\n\n{"subject":"b","payload":1,"receivedAtMs":2}\n',
    );
    const error = await readAll(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecordingFormatError);
    expect((error as Error).message).toBe('line 3: payload must be a string');
  });

  it('fails on a truncated gzip file instead of ending quietly', async () => {
    const path = join(dir, 'truncated.ndjson.gz');
    const full = gzipSync(
      lines(2_000)
        .map((l) => JSON.stringify(l))
        .join('\n'),
    );
    await writeFile(path, full.subarray(0, Math.floor(full.length / 2)));
    await expect(readAll(path)).rejects.toThrow(/unexpected end of file/i);
  });

  it('fails on a missing file', async () => {
    await expect(readAll(join(dir, 'nope.ndjson'))).rejects.toThrow(/ENOENT/);
  });
});

describe('openRecordingWriter', () => {
  it('fails at open for a path it cannot create', async () => {
    await expect(openRecordingWriter(join(dir, 'missing-dir', 'x.ndjson'))).rejects.toThrow(/ENOENT/);
  });

  it('throws instead of buffering without bound when the caller ignores backpressure', async () => {
    const writer = await openRecordingWriter(join(dir, 'overrun.ndjson'), { bufferedBytesMax: 10_000 });
    expect(() => {
      for (const line of lines(1_000)) writer.write(line);
    }).toThrow(/bytes buffered, over 10000; await drain\(\)/);
    await writer.close();
  });

  it('refuses writes after close', async () => {
    const writer = await openRecordingWriter(join(dir, 'closed.ndjson'));
    await writer.close();
    expect(() => writer.write(lines(1)[0]!)).toThrow(/closed/);
  });
});
