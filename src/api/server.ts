import { getRequestListener } from '@hono/node-server';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { createRedis } from '../redis/connection.js';
import { createDatabase } from '../db/client.js';
import { Gate, gateOptions } from '../gate/gate.js';
import { BrokerConnection } from '../broker/connection.js';
import { ConfirmedPublisher } from '../broker/publisher.js';
import { OrderPublisher } from '../broker/order-publisher.js';
import { apiMetrics, createRegistry } from '../observability/metrics.js';
import { createApp, maxBodyBytes } from './app.js';
import { withEdge } from './edge.js';
import { answerRecorder } from './middleware/http-metrics.js';
import type { ApiDeps } from './deps.js';
import { SaleCache } from './sale-cache.js';
import { AdaptiveAdmission } from './admission/adaptive-admission.js';
import { admissionMetrics } from '../observability/admission-metrics.js';
import { purchaseFrontDoor } from './purchase-front.js';
import { tracingEnabled } from '../observability/tracing.js';
import { SaleLoader } from '../recovery/sale-loader.js';
import { SaleRecovery } from '../recovery/sale-recovery.js';
import { buyerVerifier } from '../auth/buyer-verifier.js';
import { ProofOfWork } from '../pow/proof-of-work.js';
import { powMetrics } from '../observability/pow-metrics.js';
import { ProofOfWorkSales } from './proof-of-work-sales.js';
import { ClientAddresses } from './client-address.js';

export type RunningApi = { port: number; deps: ApiDeps; stop: () => Promise<void> };

export async function startApi(config: Config, logger: Logger): Promise<RunningApi> {
  // Reserve calls of all requests in flight leave in one write per event-loop turn instead
  // of one write (one syscall) each.
  const redis = createRedis(config, { enableAutoPipelining: true });
  const db = createDatabase(config.databaseUrl, config.pgPoolMax);
  const broker = new BrokerConnection(config.amqpUrl, logger, 'flashline-api', config);
  await broker.start();
  const gate = new Gate(redis, gateOptions(config));
  // A connection in subscriber mode can run nothing else, hence its own.
  const subscriber = createRedis(config, {
    autoResubscribe: false,
    connectionName: `${config.redisPrefix}-sale-events`,
  });
  const saleCache = new SaleCache(gate, subscriber, logger, {
    refreshMs: config.saleCacheRefreshMs,
  });
  // Not awaited: until subscribed, every purchase simply asks the gate.
  void saleCache.start();
  const registry = createRegistry('api');
  const metrics = apiMetrics(registry);
  const admission = config.admission.enabled
    ? new AdaptiveAdmission(config.admission, admissionMetrics(registry), logger)
    : undefined;
  admission?.start();
  const deps: ApiDeps = {
    config,
    logger,
    db,
    redis,
    gate,
    broker,
    orders: new OrderPublisher(
      new ConfirmedPublisher(broker, config.publishTimeoutMs),
      config.publishBatchMax,
    ),
    saleCache,
    admission,
    saleRecovery: new SaleRecovery(db, new SaleLoader(db, gate, logger), logger),
    buyers: buyerVerifier(config, logger),
    proofOfWork: new ProofOfWork(redis, {
      prefix: config.redisPrefix,
      pow: config.proofOfWork,
      limits: config.challengeLimits,
      metrics: powMetrics(registry),
    }),
    proofOfWorkSales: new ProofOfWorkSales(db),
    clientAddresses: new ClientAddresses(config.trustedProxies),
  };
  deps.buyers.start();
  const recordAnswer = answerRecorder(metrics);
  const app = createApp(deps, registry, metrics, recordAnswer);
  const edge = {
    maxBodyBytes,
    onTooLarge: (method: string, seconds: number) => recordAnswer('*', method, 413, seconds),
    // With tracing on, sold-out answers are the app's, so each still has its server span; the
    // front door then only admits.
    front: purchaseFrontDoor({
      saleCache: tracingEnabled() ? undefined : saleCache,
      admission,
      metrics,
      recordAnswer,
    }),
  };
  const server = await new Promise<Server>((resolve) => {
    const listener = getRequestListener(app.fetch, { hostname: config.host });
    const s = createServer(withEdge(listener, edge));
    s.listen({ port: config.port, host: config.host, backlog: config.listenBacklog }, () =>
      resolve(s),
    );
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port }, 'api listening');

  return {
    port,
    deps,
    stop: async () => {
      // Stop accepting; requests in flight finish (their publishes are confirmed) first.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
      admission?.stop();
      await saleCache.stop();
      await broker.close();
      await redis.quit().catch(() => undefined);
      await db.$client.end();
    },
  };
}
