import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    setupFiles: ['test/setup-home.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests spawn real worker processes; two cores cannot take more files at once.
    maxWorkers: 2,
  },
});
