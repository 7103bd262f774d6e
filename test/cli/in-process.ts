// Runs the `paystream` command line in this process (as bin.js would), capturing what it prints, with stdout
// and stderr looking piped (a script) or like a terminal.

import { vi } from 'vitest';
import { main } from '../../src/cli/main.ts';

/** how the output streams look to the command: piped (a script) or a terminal */
export type Seat = 'script' | 'terminal';

export interface CliOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** `paystream <args>` in this process; `seat` makes stdout and stderr terminals (100 columns) or pipes. */
export async function paystreamInProcess(args: string[], seat?: Seat): Promise<CliOutcome> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  const restoreSeat = seat === undefined ? undefined : seatAt(seat);
  try {
    process.exitCode = undefined;
    const code = await main(['node', 'paystream', ...args]);
    return { code, stdout, stderr };
  } finally {
    restoreSeat?.();
    process.exitCode = undefined;
    out.mockRestore();
    err.mockRestore();
  }
}

/** Makes stdout and stderr terminals (100 columns) or not; returns what undoes it. */
function seatAt(seat: Seat): () => void {
  const streams = [process.stdout, process.stderr];
  const saved = streams.map((s) => [s, Object.getOwnPropertyDescriptor(s, 'isTTY'), Object.getOwnPropertyDescriptor(s, 'columns')] as const);
  for (const stream of streams) {
    Object.defineProperty(stream, 'isTTY', { value: seat === 'terminal', configurable: true, writable: true });
    Object.defineProperty(stream, 'columns', { value: 100, configurable: true, writable: true });
  }
  return () => {
    for (const [stream, isTTY, columns] of saved) {
      for (const [key, descriptor] of [['isTTY', isTTY], ['columns', columns]] as const) {
        if (descriptor) Object.defineProperty(stream, key, descriptor);
        else delete (stream as unknown as Record<string, unknown>)[key];
      }
    }
  };
}
