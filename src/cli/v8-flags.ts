// V8 flags for the processor. Young-generation semi-spaces of 16 MB: a scavenge copies the survivors, so its
// pause grows with the semi-space, and 16 MB keeps the pauses short at no cost in throughput. A cap on the
// old generation, so the heap stays bounded instead of growing lazily. (Figures: README, Performance.)
export const PROCESSOR_V8_FLAGS = ['--max-semi-space-size=16', '--max-old-space-size=768'];

// The environment the processor runs with. MALLOC_ARENA_MAX=2: glibc gives each thread that mallocs its
// own 64 MB arena, and Node's threads (libuv pool, V8 helpers, LevelDB's compaction thread) leave arenas
// resident; two bound that memory at the same throughput. glibc reads it at process start, so it is set where
// the process is started: the #! lines of src/cli/paystream.ts and bin.js, the npm scripts, the bench's workers.
export const PROCESSOR_ENV = { MALLOC_ARENA_MAX: '2' } as const;
