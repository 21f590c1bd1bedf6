import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'example/*/test/**/*.test.ts',
      'tools/*/test/**/*.test.ts',
      'tests/*/test/**/*.test.ts',
      'services/*/test/**/*.test.ts',
    ],
    // One private redis-server for the whole run; tests isolate themselves by key prefix.
    globalSetup: ['./tools/testkit/dist/global-setup.js'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
