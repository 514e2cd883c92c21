import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';

// API_PROCESSES > 1: this primary forks that many API processes, which share PORT (the
// primary hands out connections round-robin) and each hold their own Redis, RabbitMQ and
// PostgreSQL connections and sale cache. The primary itself serves nothing; it keeps the
// count up and, on SIGTERM, lets every process drain.

const metricsRequest = 'flashline:cluster-metrics-request';
const metricsAnswer = 'flashline:cluster-metrics-answer';
type MetricsRequest = { type: typeof metricsRequest; id: number };
type MetricsAnswer = { type: typeof metricsAnswer; id: number; text?: string; error?: string };

const respawnDelayMs = 1_000;
// prom-client's own wait for every process is 5 s; past that the scrape fails.
const metricsTimeoutMs = 6_000;

export async function startApiCluster(config: Config, logger: Logger) {
  const aggregator = new AggregatorRegistry();
  let stopping = false;

  // A /metrics scrape reaches one process; it asks here for the sum over all of them.
  const answerMetrics = (worker: Worker, message: unknown) => {
    const request = message as Partial<MetricsRequest> | null;
    if (request?.type !== metricsRequest) return;
    const reply = (answer: Omit<MetricsAnswer, 'type' | 'id'>) =>
      worker.isConnected() && worker.send({ type: metricsAnswer, id: request.id, ...answer });
    aggregator.clusterMetrics().then(
      (text) => reply({ text }),
      (error: unknown) => reply({ error: error instanceof Error ? error.message : String(error) }),
    );
  };
  cluster.on('message', answerMetrics);

  const fork = () => cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    // A process that died took only its own requests with it; the others keep answering.
    logger.error({ pid: worker.process.pid, code, signal }, 'api process exited; replacing it');
    setTimeout(() => !stopping && fork(), respawnDelayMs).unref();
  });

  const listening = Array.from({ length: config.api.processes }, () => {
    const worker = fork();
    return new Promise<void>((resolve, reject) => {
      worker.once('listening', () => resolve());
      worker.once('exit', (code) => reject(new Error(`api process exited with ${code}`)));
    });
  });
  await Promise.all(listening);
  logger.info({ processes: config.api.processes, port: config.http.port }, 'api cluster listening');

  return {
    stop: async () => {
      stopping = true;
      cluster.off('message', answerMetrics);
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
      await Promise.all(
        workers.map(
          (worker) =>
            new Promise<void>((resolve) => {
              if (worker.isDead()) return resolve();
              worker.once('exit', () => resolve());
              // Each process drains as on its own (runProcess): a Ctrl-C that reached it
              // already is not counted twice.
              worker.process.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}

// In a cluster process, /metrics answers for the whole cluster: the primary gathers every
// process's registry (prom-client's AggregatorRegistry) and sums them. Outside a cluster it
// is this process's registry.
export function metricsText(registry: Registry): () => Promise<string> {
  if (!cluster.isWorker) return () => registry.metrics();
  AggregatorRegistry.setRegistries([registry]);
  // prom-client answers the primary's requests only once an AggregatorRegistry exists here.
  new AggregatorRegistry();
  const pending = new Map<number, (answer: MetricsAnswer) => void>();
  let nextId = 0;
  process.on('message', (message: Partial<MetricsAnswer> | null) => {
    if (message?.type === metricsAnswer && message.id !== undefined) {
      pending.get(message.id)?.(message as MetricsAnswer);
      pending.delete(message.id);
    }
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error('the cluster primary did not answer for metrics'));
      }, metricsTimeoutMs);
      pending.set(id, (answer) => {
        clearTimeout(timer);
        if (answer.text !== undefined) resolve(answer.text);
        else reject(new Error(answer.error));
      });
      process.send?.({ type: metricsRequest, id } satisfies MetricsRequest);
    });
}
