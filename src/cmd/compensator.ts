import { runProcess, startFrom } from './run-process.js';

runProcess(
  'compensator',
  startFrom(async () => (await import('../compensator/start.js')).startCompensator),
  { drain: true },
);
