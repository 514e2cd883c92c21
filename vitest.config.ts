import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
    // Each file there starts a RabbitMQ cluster of its own: they run in a CI leg of their own
    // (`npm run test:rabbit-cluster`, test/rabbit-cluster/vitest.config.ts), not twice.
    exclude: [...configDefaults.exclude, 'test/rabbit-cluster/**'],
    // Integration files share one PostgreSQL, Redis and RabbitMQ on two cores: each file is
    // isolated by database, key prefix and vhost, but running them one at a time keeps
    // timing-sensitive fault tests honest.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The JSON report lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test/artifacts/vitest-report.json' },
  },
});
