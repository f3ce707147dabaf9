import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    setupFiles: ['test/setup-home.ts'],
    // Fails the run if a process a test started is still running once all are done.
    globalSetup: ['test/leak-check.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests spawn real worker processes; two cores cannot take more files at once.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        // Next to the code: one module at a time, in process (`npm run test:unit`).
        test: { name: 'unit', include: ['src/**/*.test.ts'] },
      },
      {
        extends: true,
        // Whole parts together: worker processes, services, the CLI, the built package
        // (`npm run test:integration`; some run dist/, so `npm run build` first).
        test: { name: 'integration', include: ['test/**/*.test.ts'] },
      },
    ],
  },
});
