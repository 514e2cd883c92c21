import { runProcess, startFrom } from './run-process.js';

runProcess(
  'compensator',
  startFrom(async () => (await import('./wiring/compensator.js')).startCompensator),
  { drain: true },
);
