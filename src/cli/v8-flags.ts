// V8 flags for the processor: a larger young generation, so the many short-lived objects of each buffer
// die young instead of being promoted (measured: GC share down, throughput up ~10%).
export const PROCESSOR_V8_FLAGS = ['--max-semi-space-size=64'];
