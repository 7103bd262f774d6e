// Files paystream writes that may hold order data are the owner's only (issue 14: recordings were created 0644).
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureLog, log } from '../../src/log.ts';
import { openRecordingWriter, writePrivateFile } from '../../src/recording/writer.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'paystream-modes-'));
});
afterAll(async () => {
  configureLog('stderr');
  await rm(dir, { recursive: true, force: true });
});

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

/** A file already there, readable by everyone: what a loose umask or an earlier version left. */
async function worldReadable(path: string): Promise<void> {
  await writeFile(path, 'old\n');
  await chmod(path, 0o644);
}

describe('file modes', () => {
  it.each(['rec.ndjson', 'rec.ndjson.gz'])('creates a recording %s with mode 0600, and sets an existing one to 0600', async (name) => {
    const fresh = join(dir, `fresh-${name}`);
    const writer = await openRecordingWriter(fresh);
    expect(await modeOf(fresh)).toBe(0o600);
    await writer.close();
    expect(await modeOf(fresh)).toBe(0o600);

    const existing = join(dir, `existing-${name}`);
    await worldReadable(existing);
    await (await openRecordingWriter(existing)).close();
    expect(await modeOf(existing)).toBe(0o600);
  });

  it('writes a results file (replay --offline --results) with mode 0600, an existing one included', async () => {
    const fresh = join(dir, 'results.ndjson');
    await writePrivateFile(fresh, '{"orderId":"o1"}\n');
    expect(await modeOf(fresh)).toBe(0o600);
    const existing = join(dir, 'results-old.ndjson');
    await worldReadable(existing);
    await writePrivateFile(existing, '{"orderId":"o1"}\n');
    expect(await modeOf(existing)).toBe(0o600);
  });

  it('creates the log file (under the dashboard) with mode 0600, an existing one included', async () => {
    const fresh = join(dir, 'logs', 'paystream.log');
    configureLog({ file: fresh });
    log().info('hello');
    expect(await modeOf(fresh)).toBe(0o600);
    const existing = join(dir, 'old.log');
    await worldReadable(existing);
    configureLog({ file: existing });
    expect(await modeOf(existing)).toBe(0o600);
  });
});
