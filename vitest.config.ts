import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx', 'src/**/*.test.tsx'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests start real processes on this 2-core machine; keep parallelism modest.
    maxWorkers: 2,
    reporters: ['default', './test/support/count-reporter.ts'],
  },
});
