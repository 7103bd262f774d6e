// Entry point for the CLI: renders the dashboard on the terminal and hands back how to stop it.

import { render } from 'ink';
import { App, type AppProps } from './App.tsx';

export type { AppProps } from './App.tsx';
export type { CardDetail, CardSummary, DashboardActions, HeldOrderView, OperatorActionView } from './types.ts';

export interface RenderDashboardOptions {
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  stderr?: NodeJS.WriteStream;
  /** Ink's own frame cap; snapshots already bound the rate. @default 20 */
  maxFps?: number;
  /** route console.* above the dashboard instead of through it. @default true */
  patchConsole?: boolean;
}

/**
 * Ctrl-C does not kill Ink: the App turns it into actions.quit() so the processor drains first; the caller
 * unmounts once the drain is over.
 */
export function renderDashboard(
  props: AppProps,
  options: RenderDashboardOptions = {},
): { unmount(): void; waitUntilExit(): Promise<unknown> } {
  const instance = render(<App {...props} />, {
    exitOnCtrlC: false,
    patchConsole: options.patchConsole ?? true,
    maxFps: options.maxFps ?? 20,
    ...(options.stdout ? { stdout: options.stdout } : {}),
    ...(options.stdin ? { stdin: options.stdin } : {}),
    ...(options.stderr ? { stderr: options.stderr } : {}),
  });
  return { unmount: () => instance.unmount(), waitUntilExit: () => instance.waitUntilExit() };
}
