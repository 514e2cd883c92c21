import type { Config } from '../../config.js';
import type { Logger } from '../../observability/logger.js';
import type { RedisClient } from '../../redis/connection.js';
import type { Database } from '../../db/client.js';
import type { ApiDeps } from '../../api/deps.js';
import { Rooms } from '../../room/room.js';
import { RoomViews } from '../../room/room-views.js';
import type { roomMetrics } from '../../observability/room-metrics.js';
import { Admitters } from '../../room/admitter.js';
import { publishRoomSignals } from '../../api/room-signals.js';

type RoomMetrics = ReturnType<typeof roomMetrics>;

// The waiting rooms as every API process answers them: joins and polls from a view of each
// room read once per interval (docs/waiting-room.md).
export function createRooms(
  config: Config,
  redis: RedisClient,
  db: Database,
  metrics: RoomMetrics,
  logger: Logger,
): Rooms {
  const views = new RoomViews(redis, config.redis.prefix, config.room.viewMs, logger);
  const settings = {
    passSecret: config.room.queuePassSecret,
    pollAfterMs: config.room.pollAfterMs,
    viewMs: config.room.viewMs,
  };
  return new Rooms(redis, config.redis.prefix, db, views, settings, metrics, logger);
}

// Every API process offers to run each room's admitter; one per room holds the lease. A sale
// Redis forgot is loaded back, as a purchase would have it (src/recovery/). Returns the stop.
export function startAdmitters(deps: ApiDeps, metrics: RoomMetrics): () => Promise<void> {
  const { config, gate, redis, db, logger, admission } = deps;
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
    metrics,
    logger,
  );
  admitters.start();
  const stopSignals = admission
    ? publishRoomSignals(redis, config.redis.prefix, admission, config.room.tickMs, logger)
    : null;
  return async () => {
    await stopSignals?.();
    await admitters.stop();
  };
}
