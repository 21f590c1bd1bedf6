import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts'],
    // One private redis-server for the whole run; tests isolate themselves by key prefix.
    globalSetup: ['./packages/testkit/dist/global-setup.js'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
