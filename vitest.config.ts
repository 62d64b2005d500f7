import { defineConfig } from 'vitest/config';

/** Tests by suffix: *.unit.test.ts (pure), *.int.test.ts (real database / broker), *.e2e.test.ts (whole system). */
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['packages/**/*.unit.test.ts', 'services/**/*.unit.test.ts'], exclude: ['**/node_modules/**'] } },
      {
        test: {
          name: 'int',
          include: ['packages/**/*.int.test.ts', 'services/**/*.int.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 30_000,
        },
      },
      ...(['choreography', 'orchestration'] as const).map((mode) => ({
        test: {
          // The same end-to-end suite in both saga modes: behaviour must not depend on it.
          name: mode === 'choreography' ? 'e2e' : 'e2e-orchestration',
          include: ['tests/e2e/**/*.e2e.test.ts'],
          env: { SAGA_MODE: mode },
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Each file starts a whole system; one at a time keeps timings honest on 2 cores.
          fileParallelism: false,
        },
      })),
      {
        test: {
          name: 'browser',
          include: ['tests/browser/**/*.browser.test.ts'],
          // Builds the web UI once (only when missing or stale) before any browser test runs.
          globalSetup: ['tests/browser/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
