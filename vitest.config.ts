import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Every ledger a test opens without keys of its own takes this key (a test key, 32 bytes; never a real
    // one): a ledger refuses to start without a key (src/ledger/keys.ts). Children inherit it. Tests of the
    // key rules give their own key files and environments (test/ledger/keys.test.ts, test/cli/keys.test.ts).
    env: { PAYSTREAM_KEY: '70617973747265616d2d746573742d6b65792d6e6f742d666f722d70726f6421' },
  },
});
