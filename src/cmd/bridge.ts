import { runProcess, startFrom } from './run-process.js';

runProcess(
  'bridge',
  startFrom(async () => (await import('./wiring/bridge.js')).startBridge),
  { drain: true },
);
