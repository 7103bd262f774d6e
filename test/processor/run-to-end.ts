// Runs the processor over a finite list of messages (virtual time: each order's now is its arrival), to the
// end of the list, and stops it: the results it published, in order.

import path from 'node:path';
import { from } from 'rxjs';
import type { OrderResult } from '../../src/domain/types.ts';
import { parseRuntimeConfig, startRuntime } from '../../src/processor/launch.ts';
import type { InboundMessage } from '../../streams/types.ts';

/** The ledger is `<dir>/ledger`; `rulesPath` absent: the default rules file. */
export async function runToEnd(dir: string, messages: InboundMessage[], rulesPath?: string): Promise<OrderResult[]> {
  const results: OrderResult[] = [];
  const runtime = await startRuntime(
    parseRuntimeConfig({
      dataDir: path.join(dir, 'ledger'),
      ...(rulesPath === undefined ? {} : { rulesPath }),
      source: from(messages),
      publisher: { result: (r) => results.push(r), report: () => undefined, deadLetter: () => undefined },
      virtualTime: true,
    }),
  );
  await runtime.processor.done;
  await runtime.stop();
  return results;
}
