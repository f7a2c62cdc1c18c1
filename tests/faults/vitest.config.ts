import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// `npm run test:faults`: the app as a real process against its own PostgreSQL 15 cluster, killed
// and cut off from its database on purpose. None of the main suite's setup: the test makes the
// cluster, the databases and the app processes itself. One file, one worker: the machine's two
// cores go to the app and PostgreSQL.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['tests/faults/**/*.test.ts'],
    environment: 'node',
    globalSetup: [],
    setupFiles: [],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
});
