// A rules reload is an operator action: through the service it names its actor (ops), by SIGHUP it is audited
// as paystream's own, with its outcome; both land in the trail the dashboard and `paystream audit` read.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Subject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localActor, SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import type { AuditEntry } from '../../src/domain/audit.ts';
import { LedgerApi } from '../../src/ledger/api.ts';
import { makeOps } from '../../src/processor/operations.ts';
import { type Runtime, startRuntime } from '../../src/processor/launch.ts';
import type { InboundMessage } from '../../streams/types.ts';
import { superviseRuntime } from '../../src/cli/supervise.ts';
import { parseRuntimeConfig } from '../../src/processor/launch.ts';

let dir: string;
let runtime: Runtime;
let source: Subject<InboundMessage>;
let supervised: Promise<number>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'paystream-reload-'));
  source = new Subject<InboundMessage>();
  runtime = await startRuntime(
    parseRuntimeConfig({ dataDir: path.join(dir, 'ledger'), source: source.asObservable(), publisher: { result: () => undefined, report: () => undefined, deadLetter: () => undefined } }),
  );
  supervised = superviseRuntime(runtime, true);
});
afterAll(async () => {
  source.complete();
  await runtime.stop();
  await supervised.catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

const newest = async (): Promise<AuditEntry> => (await runtime.store.listAudit({}, 1)).entries[0]!;

describe('rules reload in the audit trail', () => {
  it('through the operations table: the actor, the rule count after', async () => {
    const ops = makeOps({ api: new LedgerApi(runtime.store), processor: runtime.processor, reloadRules: runtime.reloadRules });
    const out = (await ops['rules.reload']({}, localActor('alice', 'cli'))) as { rules: number };
    expect(await newest()).toMatchObject({ action: 'rules.reload', actor: { id: 'local:alice' }, outcome: 'ok', after: { rules: out.rules } });
  });

  it('by SIGHUP: audited as paystream\'s own, with the trigger', async () => {
    const before = runtime.store.auditHeadNow.seq;
    process.emit('SIGHUP');
    const deadline = Date.now() + 10_000;
    while (runtime.store.auditHeadNow.seq === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await newest()).toMatchObject({ action: 'rules.reload', actor: SYSTEM_ACTOR, params: { trigger: 'SIGHUP' }, outcome: 'ok' });
  });
});
