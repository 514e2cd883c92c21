import type { Config } from '../../config.js';
import type { Logger } from '../../observability/logger.js';
import { createBullRedis, createRedis } from '../../redis/connection.js';
import { createDatabase, type Database } from '../../db/client.js';
import { Gate, gateOptions } from '../../gate/gate.js';
import { BrokerConnection } from '../../broker/connection.js';
import { ConfirmedPublisher } from '../../broker/publisher.js';
import { createRegistry } from '../../observability/metrics.js';
import { paymentMetrics } from '../../observability/payment-metrics.js';
import { createOrderQueues, type OrderQueues } from '../../orders/queue.js';
import { SaleLoader } from '../../recovery/sale-loader.js';
import { watchRedisIdentity } from '../../recovery/redis-identity.js';
import { ExpirySweep } from '../../payments/expiry-sweep.js';
import { expiryCommitFault } from '../../payments/fault.js';
import { compensatorMetrics, type CompensatorMetrics } from '../../compensator/metrics.js';
import { DeadLetterConsumer } from '../../compensator/consumer.js';
import { Reconciler } from '../../compensator/reconciler.js';
import { quit, serveProcessMetrics } from './shared.js';

// The compensator process: returns the stock of dead-lettered orders, reconciles Redis with
// PostgreSQL (and repairs it after a loss), and expires the orders left unpaid.
export async function startCompensator(config: Config, logger: Logger) {
  const registry = createRegistry('compensator');
  const metrics = compensatorMetrics(registry);

  // Every call of the repairs is bounded, so a stalled Redis or PostgreSQL fails a pass
  // instead of hanging it.
  const gateRedis = createRedis(config, {
    commandTimeout: config.reconcile.recoveryCommandTimeoutMs,
  });
  const bullRedis = createBullRedis(config);
  const db = createDatabase(config.database.url, config.database.pgPoolMax, {
    queryTimeoutMs: config.reconcile.recoveryCommandTimeoutMs,
  });
  const gate = new Gate(gateRedis, gateOptions(config));
  const queue = createOrderQueues(config, bullRedis);
  const broker = new BrokerConnection(config.amqp.url, logger, 'flashline-compensator', config);
  const publisher = new ConfirmedPublisher(broker, config.amqp.publishTimeoutMs);

  const consumer = new DeadLetterConsumer({
    broker,
    publisher,
    compensation: { db, gate, logger },
    logger,
    prefetch: config.compensator.prefetch,
    retryDelayMs: config.compensator.retryDelayMs,
    onResult: (result, units) => {
      metrics.deadLetters.inc({ result });
      if (units > 0) metrics.stockReturned.inc(units);
    },
  });
  const reconciler = createReconciler(config, logger, { db, gate, queue }, metrics);
  const sweep = new ExpirySweep({
    db,
    gate,
    logger,
    metrics: paymentMetrics(registry, config.payment.expiryLateAfterMs / 1000),
    afterExpiryCommit: expiryCommitFault(config),
    intervalMs: config.payment.sweepIntervalMs,
    batch: config.payment.sweepBatch,
    passTimeoutMs: config.reconcile.passTimeoutMs,
    onPass: (result) => metrics.passes.inc({ result, kind: 'expiry_sweep' }),
  });

  // A Redis that came back as a new server may have lost reservations, jobs or whole sales:
  // repair now, not at the next routine pass.
  watchRedisIdentity(gateRedis, logger, () => {
    metrics.redisLosses.inc();
    reconciler.repairSoon();
  });
  consumer.start();
  await broker.start();
  // The first pass runs at once: open sales missing from Redis are loaded, drift is checked.
  reconciler.start();
  sweep.start();
  const server = await serveProcessMetrics(config, logger, registry, 'compensator');

  return {
    metricsPort: server.port,
    reconciler,
    sweep,
    stop: async () => {
      for (const part of [consumer, reconciler, sweep]) await part.stop();
      server.server.close();
      await broker.close();
      await queue.close();
      await quit(gateRedis, bullRedis);
      await db.$client.end();
    },
  };
}

// The reconciler, counting its passes, the orders it settles and the drift it finds.
function createReconciler(
  config: Config,
  logger: Logger,
  { db, gate, queue }: { db: Database; gate: Gate; queue: OrderQueues },
  metrics: CompensatorMetrics,
): Reconciler {
  return new Reconciler({
    db,
    gate,
    loader: new SaleLoader(db, gate, logger),
    queue,
    logger,
    intervalMs: config.reconcile.intervalMs,
    staleAfterMs: config.reconcile.staleAfterMs,
    passTimeoutMs: config.reconcile.passTimeoutMs,
    restoreWindowMs: config.gate.tombstoneTtlSeconds * 1000,
    onPass: (result, repair) => metrics.passes.inc({ result, kind: repair ? 'repair' : 'routine' }),
    onOrder: (outcome) => {
      metrics.reconciledOrders.inc({ result: outcome.kind });
      if (outcome.kind === 'returned') metrics.stockReturned.inc(outcome.units);
    },
    onDrift: (saleId, units) => metrics.drift.set({ sale: String(saleId) }, units),
    onRepair: () => metrics.repairs.inc(),
  });
}
