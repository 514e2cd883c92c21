import { Worker, type Job } from 'bullmq';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { createBullRedis, createRedis } from '../redis/connection.js';
import { createDatabase } from '../db/client.js';
import { Gate, gateOptions } from '../gate/gate.js';
import { BrokerConnection } from '../broker/connection.js';
import { ConfirmedPublisher } from '../broker/publisher.js';
import { topology } from '../broker/topology.js';
import { orderMessageSchema, type DeadLetter, type OrderMessage } from '../broker/messages.js';
import { createRegistry } from '../observability/metrics.js';
import { metricsPortChoice, serveMetrics } from '../observability/metrics-server.js';
import { bullmqJobStates, workerMetrics } from '../observability/worker-metrics.js';
import { withProcessSpan } from '../observability/trace-context.js';
import { createOrderQueues, type OrderJobData } from './queue.js';
import { bullPrefix, expiryQueueName, orderQueueFamily, orderQueueNames } from '../queues/names.js';
import { createOrderProcessor, type JobOutcome } from './processor.js';
import { OrderBatcher } from './order-batcher.js';
import { ReservationBatcher } from './reservation-batcher.js';
import {
  createExpiryProcessor,
  createExpiryQueue,
  scheduleExpiry,
} from '../payments/expiry-queue.js';
import { paymentMetrics } from '../observability/payment-metrics.js';
import { findSale } from '../db/sales-repository.js';
import { expiryCommitFault } from '../payments/fault.js';

export async function startWorker(config: Config, logger: Logger) {
  const registry = createRegistry('worker');
  const bullRedis = createBullRedis(config);
  // The worker needs no Queue of its own: these only sample job counts for the gauge.
  const queue = createOrderQueues(config, bullRedis);
  const metrics = workerMetrics(registry, () => queue.getJobCounts(...bullmqJobStates));

  // The claim and confirm batches of different sales share one write per event-loop turn.
  const gateRedis = createRedis(config, { enableAutoPipelining: true });
  const db = createDatabase(config.databaseUrl, config.pgPoolMax);
  const broker = new BrokerConnection(config.amqpUrl, logger, 'flashline-worker', config);
  await broker.start();
  const publisher = new ConfirmedPublisher(broker, config.publishTimeoutMs);
  const gate = new Gate(gateRedis, gateOptions(config));
  const batcher = new OrderBatcher(db, {
    maxBatch: config.orderBatchMax,
    lingerMs: config.orderBatchLingerMs,
  });

  const expiryQueue = createExpiryQueue(config, bullRedis);
  const payments = paymentMetrics(registry, config.expiryLateAfterMs / 1000);
  // A sale's payment window never changes once it exists: read once per sale.
  const windows = new Map<number, Promise<number | null>>();
  const windowOf = (saleId: number) => {
    let window = windows.get(saleId);
    if (!window) {
      window = findSale(db, saleId).then((sale) => sale?.paymentWindowSeconds ?? null);
      window.catch(() => windows.delete(saleId));
      windows.set(saleId, window);
    }
    return window;
  };
  // The row's pay_by is the database's (migrations/0004_pay_by.sql); a job scheduled from
  // this estimate and run a moment early waits again until pay_by (expiry-queue.ts).
  const scheduleOrderExpiry = async (
    order: { id: string; saleId: number },
    payBy?: Date | null,
  ) => {
    const window = await windowOf(order.saleId);
    if (window === null) return;
    await scheduleExpiry(expiryQueue, order.id, payBy ?? new Date(Date.now() + window * 1000));
  };

  const deadLetter = (order: OrderMessage, reason: string, attempts: number) => {
    const letter: DeadLetter = { ...order, reason, attempts, failedAt: new Date().toISOString() };
    return publisher.publish(topology.deadLetterExchange, topology.deadLetterRoutingKey, letter, {
      messageId: order.orderId,
    });
  };
  const processor = createOrderProcessor({
    // A script call per sale and batch, at most as many orders as one group commit.
    gate: new ReservationBatcher(gate, config.orderBatchMax),
    restorer: gate,
    returner: gate,
    scheduleExpiry: scheduleOrderExpiry,
    db,
    logger,
    faultFailRate: config.faultFailRate,
    writeConfirmed: (order) => batcher.commit(order),
    deadLetter,
    onFailure: metrics.failed,
  });

  const names = orderQueueNames(config);
  // One BullMQ Worker per order queue, sharing the processor and so its batches: jobs of one
  // sale met in different queues still claim, commit and confirm together.
  const workers = names.map(
    (name) =>
      new Worker(
        name,
        // Each attempt is a span in the purchase's trace, continued from the job's `traceparent`.
        async (job) =>
          withProcessSpan(
            // The order queues are one destination; which of them is the partition.
            {
              system: 'bullmq',
              destination: orderQueueFamily,
              partition: name,
              messageId: job.id,
              orderId: job.id,
            },
            { traceparent: (job.data as Partial<OrderJobData> | null)?.traceparent },
            async () => {
              const stopTimer = metrics.startJob();
              try {
                const outcome: JobOutcome = await processor(job);
                stopTimer({ outcome });
                metrics.completed();
                return outcome;
              } catch (error) {
                stopTimer({ outcome: 'error' });
                throw error;
              }
            },
          ),
        {
          connection: bullRedis,
          prefix: bullPrefix(config),
          // WORKER_CONCURRENCY is the process's; ids spread orders evenly over the queues.
          concurrency: Math.max(1, Math.ceil(config.workerConcurrency / names.length)),
          lockDuration: config.workerLockDurationMs,
          stalledInterval: config.workerStalledIntervalMs,
          maxStalledCount: config.workerMaxStalledCount,
        },
      ),
  );
  for (const worker of workers) {
    worker.on('error', (error) => logger.error({ err: error }, 'worker error'));
  }
  const expiryWorker = new Worker(
    expiryQueueName,
    createExpiryProcessor({
      db,
      gate,
      logger,
      metrics: payments,
      afterExpiryCommit: expiryCommitFault(config),
    }),
    {
      connection: bullRedis,
      prefix: bullPrefix(config),
      concurrency: config.expiryConcurrency,
      lockDuration: config.workerLockDurationMs,
      stalledInterval: config.workerStalledIntervalMs,
    },
  );
  expiryWorker.on('error', (error) => logger.error({ err: error }, 'expiry worker error'));
  const unrunDeadLetters = new Set<Promise<void>>();
  // A job that stalled too often is failed by BullMQ without running the processor: hand its
  // order on as the processor would have. If this publish fails the reconciler finds it.
  const onFailed = (job: Job | undefined) => {
    if (!job?.deferredFailure) return;
    const order = orderMessageSchema.safeParse(job.data);
    if (!order.success) return;
    metrics.failed('permanent', true);
    logger.error(
      { orderId: job.id, reason: job.deferredFailure },
      'job failed unrun; dead-lettering',
    );
    const publishing = deadLetter(order.data, 'stalled', job.attemptsMade).catch((error: unknown) =>
      logger.error({ err: error, orderId: job.id }, 'dead-letter publish failed'),
    );
    unrunDeadLetters.add(publishing);
    void publishing.finally(() => unrunDeadLetters.delete(publishing));
  };
  for (const worker of workers) worker.on('failed', onFailed);
  const metricsServer = await serveMetrics(
    registry,
    config.host,
    metricsPortChoice(config, 'worker'),
  );
  logger.info({ metricsPort: metricsServer.port }, 'worker metrics listening');

  return {
    workers,
    expiryWorker,
    batcher,
    metricsPort: metricsServer.port,
    stop: async () => {
      // close() waits for the jobs in progress to finish before it resolves.
      await Promise.all(workers.map((worker) => worker.close()));
      await expiryWorker.close();
      await expiryQueue.close();
      await Promise.allSettled([...unrunDeadLetters]);
      metricsServer.server.close();
      await queue.close();
      await broker.close();
      await gateRedis.quit().catch(() => undefined);
      await bullRedis.quit().catch(() => undefined);
      await db.$client.end();
    },
  };
}
