import { runProcess, startFrom } from './run-process.js';

runProcess(
  'api',
  startFrom(async () => (await import('../api/server.js')).startApi),
);
