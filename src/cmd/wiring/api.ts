import type { Config } from '../../config.js';
import type { Logger } from '../../observability/logger.js';
import { createRedis } from '../../redis/connection.js';
import { createDatabase } from '../../db/client.js';
import { Gate, gateOptions } from '../../gate/gate.js';
import { BrokerConnection } from '../../broker/connection.js';
import { ConfirmedPublisher } from '../../broker/publisher.js';
import { OrderPublisher } from '../../broker/order-publisher.js';
import { apiMetrics, createRegistry } from '../../observability/metrics.js';
import { admissionMetrics } from '../../observability/admission-metrics.js';
import { SaleLoader } from '../../recovery/sale-loader.js';
import { SaleRecovery } from '../../recovery/sale-recovery.js';
import type { ApiDeps } from '../../api/deps.js';
import { SaleCache } from '../../api/sale-cache.js';
import { AdaptiveAdmission } from '../../api/admission/adaptive-admission.js';
import { serveApi } from '../../api/serve.js';
import { buyerVerifier } from '../../auth/buyer-verifier.js';
import { ProofOfWork } from '../../pow/proof-of-work.js';
import { powMetrics } from '../../observability/pow-metrics.js';
import { ProofOfWorkSales } from '../../api/proof-of-work-sales.js';
import { ClientAddresses } from '../../api/client-address.js';
import { quit } from './shared.js';
import { Rooms } from '../../room/room.js';
import { RoomViews } from '../../room/room-views.js';
import { roomMetrics } from '../../observability/room-metrics.js';
import { Admitters } from '../../room/admitter.js';
import { publishRoomSignals } from '../../api/room-signals.js';

export type RunningApi = { port: number; deps: ApiDeps; stop: () => Promise<void> };

// The API process: answers buyers, reserving at the gate and publishing each accepted order.
export async function startApi(config: Config, logger: Logger): Promise<RunningApi> {
  // Reserve calls of all requests in flight leave in one write per event-loop turn instead
  // of one write (one syscall) each.
  const redis = createRedis(config, { enableAutoPipelining: true });
  const db = createDatabase(config.database.url, config.database.pgPoolMax);
  const broker = new BrokerConnection(config.amqp.url, logger, 'flashline-api', config);
  await broker.start();
  // A connection in subscriber mode can run nothing else, hence its own.
  const subscriber = createRedis(config, {
    autoResubscribe: false,
    connectionName: `${config.redis.prefix}-sale-events`,
  });

  const gate = new Gate(redis, gateOptions(config));
  const saleCache = new SaleCache(gate, subscriber, logger, {
    refreshMs: config.api.saleCacheRefreshMs,
  });
  // Not awaited: until subscribed, every purchase simply asks the gate.
  void saleCache.start();
  const registry = createRegistry('api');
  const metrics = apiMetrics(registry);
  const admission = config.admission.enabled
    ? new AdaptiveAdmission(config.admission, admissionMetrics(registry), logger)
    : undefined;
  admission?.start();
  const rooms = roomMetrics(registry);
  const deps: ApiDeps = {
    config,
    logger,
    db,
    redis,
    gate,
    broker,
    orders: new OrderPublisher(
      new ConfirmedPublisher(broker, config.amqp.publishTimeoutMs),
      config.amqp.publishBatchMax,
    ),
    saleCache,
    admission,
    saleRecovery: new SaleRecovery(db, new SaleLoader(db, gate, logger), logger),
    buyers: buyerVerifier(config, logger),
    proofOfWork: new ProofOfWork(redis, {
      prefix: config.redis.prefix,
      pow: config.pow,
      limits: config.challenge,
      metrics: powMetrics(registry),
    }),
    proofOfWorkSales: new ProofOfWorkSales(gate, db),
    clientAddresses: new ClientAddresses(config.http.trustedProxies),
    rooms: new Rooms(
      redis,
      config.redis.prefix,
      db,
      new RoomViews(redis, config.redis.prefix, config.room.viewMs, logger),
      {
        passSecret: config.room.queuePassSecret,
        pollAfterMs: config.room.pollAfterMs,
        viewMs: config.room.viewMs,
      },
      rooms,
      logger,
    ),
  };
  deps.rooms.start();
  // Every API process offers to run each room's admitter; one per room holds the lease.
  // A sale Redis forgot is loaded back, as a purchase would have it (src/recovery/).
  const readings = {
    remaining: async (saleId: number) => {
      const remaining = await gate.remaining(saleId);
      if (remaining === null) await deps.saleRecovery?.onSaleMissing(saleId);
      return remaining;
    },
    inflightIds: (saleId: number) => gate.inflightIds(saleId),
    paused: async (saleId: number) => (await gate.saleState(saleId))?.paused ?? false,
  };
  const admitters = new Admitters(
    { redis, prefix: config.redis.prefix },
    db,
    readings,
    {
      tickMs: config.room.tickMs,
      leaseMs: config.room.leaseMs,
      overbook: config.room.waitingRoomOverbook,
      defaultRate: config.room.admitPerSecond,
    },
    rooms,
    logger,
  );
  admitters.start();
  const stopSignals = admission
    ? publishRoomSignals(redis, config.redis.prefix, admission, config.room.tickMs, logger)
    : null;
  deps.buyers.start();
  const http = await serveApi(deps, registry, metrics);
  logger.info({ port: http.port }, 'api listening');

  return {
    port: http.port,
    deps,
    stop: async () => {
      await http.close();
      await stopSignals?.();
      await admitters.stop();
      await deps.rooms.stop();
      admission?.stop();
      await saleCache.stop();
      await broker.close();
      await quit(redis);
      await db.$client.end();
    },
  };
}
