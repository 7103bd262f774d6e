// How long-running commands hear Ctrl-C (SIGINT) and SIGTERM: tools stop cleanly on the first one, and
// the processor remembers one that arrives while it is still starting.

/** Interrupts: the first Ctrl-C stops cleanly. */
export function abortOnSignals(): AbortController {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return controller;
}

export interface EarlySignals {
  requested(): boolean;
  release(): void;
}

/** Signals that arrive while starting up are remembered and honoured once the runtime is up. */
export function earlySignals(): EarlySignals {
  // paystream.ts may have been listening since before the code loaded
  const fromBin = (globalThis as { paystreamEarlySignal?: { requested: boolean; handler: () => void } }).paystreamEarlySignal;
  let requested = fromBin?.requested ?? false;
  const onSignal = () => {
    requested = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    requested: () => requested || (fromBin?.requested ?? false),
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (fromBin) {
        process.off('SIGINT', fromBin.handler);
        process.off('SIGTERM', fromBin.handler);
      }
    },
  };
}
