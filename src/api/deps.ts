import type { Config } from '../config.js';
import type { RedisClient } from '../redis/connection.js';
import type { Database } from '../db/client.js';
import type { Gate } from '../gate/gate.js';
import type { BrokerConnection } from '../broker/connection.js';
import type { OrderPublisher } from '../broker/order-publisher.js';
import type { Logger } from '../observability/logger.js';
import type { SaleCache } from './sale-cache.js';
import type { AdaptiveAdmission } from './admission/adaptive-admission.js';
import type { SaleRecovery } from '../recovery/sale-recovery.js';
import type { BuyerVerifier } from '../auth/buyer-verifier.js';
import type { ProofOfWork } from '../pow/proof-of-work.js';
import type { ProofOfWorkSales } from './proof-of-work-sales.js';
import type { ClientAddresses } from './client-address.js';
import type { Rooms } from '../room/room.js';
import type { ArbiterDeps } from '../payments/arbiter.js';
import type { PaymentMetrics } from '../observability/payment-metrics.js';

export type ApiDeps = {
  config: Config;
  logger: Logger;
  db: Database;
  redis: RedisClient;
  gate: Gate;
  broker: BrokerConnection;
  orders: OrderPublisher;
  // Optional so a test can drive the app without them: purchases then always ask the gate.
  saleCache?: SaleCache;
  // Admission is applied in front of the app (./purchase-front.ts); kept here for tests.
  admission?: AdaptiveAdmission | undefined;
  // Loads back a sale Redis forgot; without it a sale missing from Redis answers 404.
  saleRecovery?: SaleRecovery;
  // Who a buyer's token names: HS256 with JWT_SECRET, or the identity provider's tokens.
  buyers: BuyerVerifier;
  // Proof of work (API.md): challenges and solutions, which sales ask for it, and who the
  // client is for the per-address challenge limit.
  proofOfWork: ProofOfWork;
  proofOfWorkSales: ProofOfWorkSales;
  clientAddresses: ClientAddresses;
  // Waiting rooms (API.md): joins, polls, leaves, and the passes a purchase must carry.
  rooms: Rooms;
};

// What a route hands the payment arbiter (src/payments/arbiter.ts): the request's logger.
export function arbiterDeps(deps: ApiDeps, logger: Logger, metrics: PaymentMetrics): ArbiterDeps {
  return { db: deps.db, gate: deps.gate, logger, metrics };
}
