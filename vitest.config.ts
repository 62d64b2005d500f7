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
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.e2e.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Each file starts a whole system; one at a time keeps timings honest on 2 cores.
          fileParallelism: false,
        },
      },
    ],
  },
});
