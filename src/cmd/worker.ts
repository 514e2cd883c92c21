import { runProcess, startFrom } from './run-process.js';

runProcess(
  'worker',
  startFrom(async () => (await import('../orders/start-worker.js')).startWorker),
  { drain: true },
);
