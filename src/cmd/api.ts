import cluster from 'node:cluster';
import { runProcess } from './run-process.js';

// With API_PROCESSES > 1 this process is the cluster primary and forks the API processes,
// each of which runs this file again as a cluster worker.
runProcess('api', async (config, logger) => {
  if (cluster.isPrimary && config.apiProcesses > 1) {
    return (await import('../api/cluster.js')).startApiCluster(config, logger);
  }
  // Imported once tracing runs, so that its pg instrumentation hooks the import.
  return (await import('../api/server.js')).startApi(config, logger);
});
