// Bytes a piece of code allocates, collected objects included: V8's sampling heap profiler, for micro-benches
// of one stage (what the scavenger sweeps is what the hot path allocates). Statistical: one sample per
// `samplingIntervalBytes` on average, so compare runs of many orders, not one.
import { Session } from 'node:inspector/promises';

interface HeapNode {
  selfSize: number;
  children: HeapNode[];
}

/** Runs `run` under the sampling heap profiler and returns the bytes it allocated (sampled estimate). */
export async function bytesAllocated(run: () => unknown, samplingIntervalBytes = 4096): Promise<number> {
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: samplingIntervalBytes,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    } as never);
    await run();
    const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: { head: HeapNode } };
    let total = 0;
    const stack: HeapNode[] = [profile.head];
    while (stack.length > 0) {
      const n = stack.pop()!;
      total += n.selfSize;
      stack.push(...n.children);
    }
    return total;
  } finally {
    session.disconnect();
  }
}
