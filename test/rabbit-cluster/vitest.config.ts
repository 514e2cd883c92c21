import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';
import base from '../../vitest.config.js';

// The tests on a RabbitMQ cluster of their own (docs/testing.md), with the suite's settings:
// `npm run test:rabbit-cluster`, and .ci/run's rabbit-cluster leg.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    ...base.test,
    include: ['test/rabbit-cluster/**/*.test.ts'],
    exclude: configDefaults.exclude,
  },
});
