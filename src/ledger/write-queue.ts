// The order of the ledger's writes: commands (the pipeline's buffers, operator commands) take turns, and
// LevelDB batches land one after the other, in the order they were staged.

import type { LevelBatch } from './sublevels.ts';

export class WriteQueue {
  /** serializes every command that writes: the pipeline's buffers and operator commands take turns */
  private commands: Promise<unknown> = Promise.resolve();
  /** LevelDB writes, one after the other */
  private writes: Promise<void> = Promise.resolve();

  /** @param sync fsync every write (survives power loss, costs throughput) */
  constructor(private readonly sync: boolean) {}

  /** Runs fn after every earlier command finished; commands never interleave. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.commands.then(fn, fn);
    this.commands = run.catch(() => undefined);
    return run;
  }

  /** Writes a batch behind every earlier one; after a failed write none of the later ones run. */
  write(batch: LevelBatch): Promise<void> {
    const run = this.writes.then(() => batch.write({ sync: this.sync }));
    this.writes = run;
    return run;
  }

  /** Waits for every command and write under way, whatever their outcome. */
  async drain(): Promise<void> {
    await this.commands.catch(() => undefined);
    await this.writes.catch(() => undefined);
  }
}
