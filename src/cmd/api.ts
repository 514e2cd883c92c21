import cluster from 'node:cluster';
import { runProcess, startFrom } from './run-process.js';

// With API_PROCESSES > 1 this process is the cluster primary and forks the API processes,
// each of which runs this file again as a cluster worker.
runProcess(
  'api',
  startFrom(async (config) =>
    cluster.isPrimary && config.api.processes > 1
      ? (await import('../api/cluster.js')).startApiCluster
      : (await import('./wiring/api.js')).startApi,
  ),
);
