// The end-to-end suite (`npm run test:e2e`): the app started as `npm start` starts it, on a fresh
// embedded database, driven through Debian's Chromium. Not part of `npm test`.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['tests/e2e/**/*.e2e.test.ts'],
    environment: 'node',
    // Our own: one server for the whole run (not the main suite's database template).
    globalSetup: ['tests/e2e/global-setup.ts'],
    setupFiles: [],
    pool: 'forks',
    maxWorkers: 1,
    // The files run one after another in one process (each launches its own browser): no
    // per-file start-up cost, and nothing they share is mutable.
    isolate: false,
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 150_000,
    teardownTimeout: 30_000,
  },
});
