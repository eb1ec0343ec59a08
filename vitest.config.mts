import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/*
 * Six projects: `vitest run --project unit|integration|e2e|bench|chaos|redis-ha`, or all of them with `vitest run`.
 * Tests run against the TypeScript sources of the libs (the alias below), not their dist output;
 * libs/db still finds libs/db/migrations because migrate.ts resolves it relative to its own file.
 *
 * This file is .mts, not .ts: the root package.json has no "type": "module" (the PM2 ecosystem
 * file is CommonJS), so TypeScript would type-check a root vitest.config.ts as CommonJS and reject
 * its imports under verbatimModuleSyntax.
 */

const libsSource = fileURLToPath(new URL('./libs/', import.meta.url));
const globalSetup = './test/support/global-setup.ts';

export default defineConfig({
  resolve: {
    alias: [
      {
        find: /^@linebacker\/(config|domain|db|queues|runtime|interface-queue)$/,
        replacement: `${libsSource}$1/src/index.ts`,
      },
    ],
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['libs/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup,
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup,
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // the apps run under one PM2 daemon per file and fight over the 2 cores: one file at a time,
          // and after unit and integration (groupOrder), as bench and chaos come after e2e
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          // `npm run bench` (full) and its short form in `npm test`
          name: 'bench',
          include: ['bench/pipeline-bench.test.ts'],
          globalSetup,
          // the full bench is a series of cold runs (about 20 minutes per Azurite)
          testTimeout: process.env.LINEBACKER_BENCH === 'full' ? 4 * 3600_000 : 900_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
      {
        extends: true,
        test: {
          // SPEC §6 proven by killing things for real: private Redis and Postgres, a pipeline under
          // PM2. LINEBACKER_CHAOS=short (default, part of `npm test`) or full (`npm run test:chaos`).
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          globalSetup,
          testTimeout: 20 * 60_000,
          hookTimeout: 5 * 60_000,
          fileParallelism: false,
          // after the other projects, not beside them: its timing must not compete with theirs
          sequence: { groupOrder: 3 },
        },
      },
      {
        extends: true,
        test: {
          // SPEC §9: the pipeline through Redis Sentinel (a failover under load) and on a Redis
          // Cluster, on real redis-server processes. LINEBACKER_REDIS_HA=short (default, part of
          // `npm test`) or full (`npm run test:redis-ha`).
          name: 'redis-ha',
          include: ['test/redis-ha/**/*.test.ts'],
          globalSetup,
          testTimeout: 15 * 60_000,
          hookTimeout: 5 * 60_000,
          fileParallelism: false,
          sequence: { groupOrder: 4 },
        },
      },
    ],
  },
});
