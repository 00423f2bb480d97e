import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Fails fast when dist/ is older than src/ (the CLI tests run dist/cli.js).
    globalSetup: ['test/setup/fresh-build.ts'],
    // Real services start in these tests; two cores cannot run many at once.
    maxWorkers: 2,
    // No warm spares (docs/data.md "Warm spares") outlive a test: the spare tests turn them on themselves.
    env: { IACT_RUN_SPARE_TTL: '0' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
