import type { Config } from '../../config.js';
import type { Logger } from '../../observability/logger.js';
import { createBullRedis, createRedis } from '../../redis/connection.js';
import { createDatabase } from '../../db/client.js';
import { findSale } from '../../db/sales-repository.js';
import { Gate, gateOptions } from '../../gate/gate.js';
import { BrokerConnection } from '../../broker/connection.js';
import { ConfirmedPublisher } from '../../broker/publisher.js';
import { createRegistry } from '../../observability/metrics.js';
import { bullmqJobStates, workerMetrics } from '../../observability/worker-metrics.js';
import { paymentMetrics } from '../../observability/payment-metrics.js';
import { createOrderQueues } from '../../orders/queue.js';
import { createOrderProcessor } from '../../orders/processor.js';
import { OrderBatcher } from '../../orders/order-batcher.js';
import { ReservationBatcher } from '../../orders/reservation-batcher.js';
import { deadLetterThrough, UnrunJobs } from '../../orders/dead-letter.js';
import { startOrderWorkers } from '../../orders/order-workers.js';
import { createExpiryQueue, startExpiryWorker } from '../../payments/expiry-queue.js';
import { ExpiryScheduler } from '../../payments/expiry-scheduler.js';
import { expiryCommitFault } from '../../payments/fault.js';
import { quit, serveProcessMetrics } from './shared.js';

// The worker process: runs the order jobs (claim, write the row, confirm) and the payment
// window's expiry jobs.
export async function startWorker(config: Config, logger: Logger) {
  const registry = createRegistry('worker');
  const bullRedis = createBullRedis(config);
  // The claim and confirm batches of different sales share one write per event-loop turn.
  const gateRedis = createRedis(config, { enableAutoPipelining: true });
  const db = createDatabase(config.database.url, config.database.pgPoolMax);
  const broker = new BrokerConnection(config.amqp.url, logger, 'flashline-worker', config);
  await broker.start();

  // The worker needs no Queue of its own: these only sample job counts for the gauge.
  const queue = createOrderQueues(config, bullRedis);
  const metrics = workerMetrics(registry, () => queue.getJobCounts(...bullmqJobStates));
  const gate = new Gate(gateRedis, gateOptions(config));
  const batcher = new OrderBatcher(db, {
    maxBatch: config.worker.orderBatchMax,
    lingerMs: config.worker.orderBatchLingerMs,
  });
  const expiryQueue = createExpiryQueue(config, bullRedis);
  const expiries = new ExpiryScheduler(expiryQueue, (saleId) =>
    findSale(db, saleId).then((sale) => sale?.paymentWindowSeconds ?? null),
  );
  const deadLetter = deadLetterThrough(
    new ConfirmedPublisher(broker, config.amqp.publishTimeoutMs),
  );
  const processor = createOrderProcessor({
    // A script call per sale and batch, at most as many orders as one group commit.
    gate: new ReservationBatcher(gate, config.worker.orderBatchMax),
    restorer: gate,
    returner: gate,
    scheduleExpiry: (order, payBy) => expiries.schedule(order, payBy),
    db,
    logger,
    faultFailRate: config.fault.failRate,
    writeConfirmed: (order) => batcher.commit(order),
    deadLetter,
    onFailure: metrics.failed,
  });
  const unrun = new UnrunJobs({ deadLetter, logger, onFailure: metrics.failed });
  const workers = startOrderWorkers(config, bullRedis, {
    process: processor,
    metrics,
    unrun,
    logger,
  });
  const expiryWorker = startExpiryWorker(config, bullRedis, {
    db,
    gate,
    logger,
    metrics: paymentMetrics(registry, config.payment.expiryLateAfterMs / 1000),
    afterExpiryCommit: expiryCommitFault(config),
  });
  const metricsServer = await serveProcessMetrics(config, logger, registry, 'worker');

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
      await unrun.drain();
      metricsServer.server.close();
      await queue.close();
      await broker.close();
      await quit(gateRedis, bullRedis);
      await db.$client.end();
    },
  };
}
