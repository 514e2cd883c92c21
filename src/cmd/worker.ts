import { runProcess, startFrom } from './run-process.js';

runProcess(
  'worker',
  startFrom(async () => (await import('./wiring/worker.js')).startWorker),
  { drain: true },
);
