import { runProcess, startFrom } from './run-process.js';

runProcess(
  'events',
  startFrom(async () => (await import('./wiring/events.js')).startEvents),
  // Below the drain: on a host they share, the group commit gets the CPU first and the
  // events catch up after (docs/order-events.md).
  { nice: (config) => config.events.nice },
);
