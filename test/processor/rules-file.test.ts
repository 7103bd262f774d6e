import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RulesConfigError } from '../../src/domain/risk/rules-text.ts';
import { loadRules } from '../../src/processor/rules-file.ts';

describe('loadRules', () => {
  it('reads a file and names it in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'risk-'));
    const path = join(dir, 'bad.json');
    const json = '{"rules": [{"id": "x", "kind": "duplicate", "outcome": "block", "windowSeconds": -5}]}';
    await writeFile(path, json);
    const col = json.indexOf('-5') + 1;
    await expect(loadRules(path)).rejects.toThrow(
      `${path}:1:${col}: rule "x" field windowSeconds must be a positive integer`,
    );
  });

  it('turns a file it cannot read into a RulesConfigError at 1:1 naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'risk-'));
    const missing = join(dir, 'missing.yaml');
    const err = await loadRules(missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RulesConfigError);
    expect((err as RulesConfigError).message).toMatch(
      new RegExp(
        `^${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1:1: cannot read the rules file: ENOENT`,
      ),
    );
  });

  it('reads data/risk.yaml with its path as the source', async () => {
    const path = new URL('../../data/risk.yaml', import.meta.url).pathname;
    const rules = await loadRules(path);
    expect(rules.source).toBe(path);
    expect(rules.rules.map((r) => r.id)).toContain('stale-order');
  });
});
