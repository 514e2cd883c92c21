import type { Registry } from 'prom-client';
import type { Config } from '../../config.js';
import type { Logger } from '../../observability/logger.js';
import type { RedisClient } from '../../redis/connection.js';
import type { Database } from '../../db/client.js';
import type { Gate } from '../../gate/gate.js';
import type { SaleRecovery } from '../../recovery/sale-recovery.js';
import type { AdaptiveAdmission } from '../../api/admission/adaptive-admission.js';
import { Rooms } from '../../room/room.js';
import { RoomViews } from '../../room/room-views.js';
import { roomMetrics } from '../../observability/room-metrics.js';
import { Admitters } from '../../room/admitter.js';
import { publishRoomSignals } from '../../api/room-signals.js';

type RoomParts = {
  config: Config;
  logger: Logger;
  redis: RedisClient;
  db: Database;
  gate: Gate;
  registry: Registry;
  saleRecovery: SaleRecovery;
  admission: AdaptiveAdmission | undefined;
};

// The API process's waiting rooms (docs/waiting-room.md): the rooms' side of every request,
// an admitter that offers to run each room (one process per room holds its lease), and this
// process's admission signals for the admitters. Returns the rooms and how to stop it all.
export function startRooms(parts: RoomParts): { rooms: Rooms; stop: () => Promise<void> } {
  const { config, logger, redis, db, gate } = parts;
  const metrics = roomMetrics(parts.registry);
  const views = new RoomViews(redis, config.redis.prefix, config.room.viewMs, logger);
  const rooms = new Rooms(
    redis,
    config.redis.prefix,
    db,
    views,
    {
      passSecret: config.room.queuePassSecret,
      pollAfterMs: config.room.pollAfterMs,
      viewMs: config.room.viewMs,
      ticketCacheBytes: config.api.ticketCacheBytes,
    },
    metrics,
    logger,
  );
  rooms.start();
  // A sale Redis forgot is loaded back, as a purchase would have it (src/recovery/).
  const readings = {
    remaining: async (saleId: number) => {
      const remaining = await gate.remaining(saleId);
      if (remaining === null) await parts.saleRecovery.onSaleMissing(saleId);
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
      pollAfterMs: config.room.pollAfterMs,
    },
    metrics,
    logger,
  );
  admitters.start();
  const stopSignals = parts.admission
    ? publishRoomSignals(redis, config.redis.prefix, parts.admission, config.room.tickMs, logger)
    : null;
  return {
    rooms,
    stop: async () => {
      await stopSignals?.();
      await admitters.stop();
      await rooms.stop();
    },
  };
}
