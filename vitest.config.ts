import { defineConfig } from 'vitest/config';

// Three projects: `unit` (pure logic, in-memory, no broker), `integration` (real Kafka broker started once per
// run by test/support/global-setup.ts unless KAFKA_BROKERS points at an existing cluster) and `browser` (the
// API's pages in real Chromium, installed by test/support/browser-setup.ts when missing).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // Integration files share one broker but each uses its own topics and groups; run them one at a time
          // so that a 2-core CI machine does not time out rebalances.
          fileParallelism: false,
        },
      },
      {
        // Real Chromium (Debian's package, installed by the setup when missing) driven by playwright-core.
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          // The console test runs real instances: the broker comes from the integration setup (or KAFKA_BROKERS).
          globalSetup: ['test/support/global-setup.ts', 'test/support/browser-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
