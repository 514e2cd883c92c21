import { runProcess, startFrom } from './run-process.js';

runProcess(
  'events',
  startFrom(async () => (await import('./wiring/events.js')).startEvents),
  { drain: true },
);
