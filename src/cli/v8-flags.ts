// V8 flags for the processor. A young generation of 16 MB semi-spaces: scavenges copy the survivors, so
// their pauses grow with the semi-space; measured at 2,000 orders/s (bench --latency-rate), 64 MB gave
// scavenge pauses p90 31 ms / max 67 ms and mark-compact max 46 ms, 16 MB p90 16 ms / max 34 ms and
// mark-compact max 22 ms, and 100 MB less heap committed with 1,000,000 cards (506 -> 417 MB), at a
// throughput the same within this machine's noise (an earlier run had found 64 MB ~10 % faster). And a cap
// on the old generation, so the heap stays bounded instead of growing lazily (measured at 100,000 cards:
// peak RSS 1,484 MB -> 927 MB at the same throughput).
export const PROCESSOR_V8_FLAGS = ['--max-semi-space-size=16', '--max-old-space-size=768'];

// The environment the processor runs with. MALLOC_ARENA_MAX=2: glibc gives each thread that mallocs its
// own 64 MB arena, and Node's threads (libuv pool, V8 helpers, LevelDB's compaction thread) left ~150 MB
// of arenas resident. With two: peak private memory 756 -> 698 MB with 1,000,000 cards and 400,000 orders,
// at the same throughput (6,535 vs 6,489 orders/s). glibc reads it at process start, so it is set where the
// process is started: the #! line of src/cli/bin.js, the npm scripts, the bench's workers.
export const PROCESSOR_ENV = { MALLOC_ARENA_MAX: '2' } as const;
