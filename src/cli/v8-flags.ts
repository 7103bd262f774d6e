// V8 flags for the processor: a larger young generation, so the many short-lived objects of each buffer
// die young instead of being promoted (measured: GC share down, throughput up ~10%), and a cap on the old
// generation, so the heap stays bounded instead of growing lazily (measured at 100,000 cards: peak RSS
// 1,484 MB -> 927 MB at the same throughput).
export const PROCESSOR_V8_FLAGS = ['--max-semi-space-size=64', '--max-old-space-size=768'];
