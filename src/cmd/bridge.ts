import { runProcess, startFrom } from './run-process.js';

runProcess(
  'bridge',
  startFrom(async () => (await import('../bridge/start.js')).startBridge),
  { drain: true },
);
