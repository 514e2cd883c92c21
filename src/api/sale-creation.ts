import type { ApiDeps } from './deps.js';
import { ApiError, unavailable } from './api-error.js';
import { createSaleSchema, defaultRoomLeadMs } from './validation.js';
import { insertSale, SkuTakenError } from '../db/sales-repository.js';
import { insertSaleWithRoom } from '../db/rooms-repository.js';
import type { Sale } from '../db/schema.js';
import type { RoomCounts } from './sale-view.js';
import type { Logger } from '../observability/logger.js';
import { restoreRoom } from '../room/restore.js';

type CreateSale = ReturnType<(typeof createSaleSchema)['parse']>;

const skuTaken = (sku: string) => new ApiError(409, 'SALE_EXISTS', `a sale with sku ${sku} exists`);

// The sale's row, and its room's in the same transaction when it has one: a sale meant to be
// bought through a line never exists without it.
async function insertWithRoom(
  deps: ApiDeps,
  body: CreateSale,
): Promise<{ sale: Sale; room: RoomCounts | null }> {
  const fields = {
    sku: body.sku,
    name: body.name,
    stock: body.stock,
    perUserLimit: body.perUserLimit,
    startsAt: body.startsAt ?? new Date(),
    endsAt: body.endsAt ?? null,
    paymentWindowSeconds: body.paymentWindowSeconds ?? null,
    shards: body.shards,
    proofOfWork: body.proofOfWork,
  };
  const room = body.waitingRoom;
  if (!room) {
    try {
      return { sale: await insertSale(deps.db, fields), room: null };
    } catch (error) {
      if (error instanceof SkuTakenError) throw skuTaken(body.sku);
      throw error;
    }
  }
  const created = await insertSaleWithRoom(deps.db, fields, {
    opensAt: room.opensAt ?? new Date(fields.startsAt.getTime() - defaultRoomLeadMs),
    passSeconds: room.passSeconds,
    idleSeconds: room.idleSeconds,
    admitPerSecond: room.admitPerSecond ?? null,
  });
  if (!created) throw skuTaken(body.sku);
  return { sale: created.sale, room: { room: created.room, waiting: 0, admitted: 0 } };
}

// POST /admin/sales: the rows, then the gate (the stock is buyable the moment the 201 is
// sent) and the room's state in Redis (a join that finds none creates it the same way).
export async function createSale(
  deps: ApiDeps,
  body: CreateSale,
  log: Logger,
): Promise<{ sale: Sale; room: RoomCounts | null }> {
  const created = await insertWithRoom(deps, body);
  try {
    await deps.gate.loadSale(created.sale);
    if (created.room) {
      const target = { redis: deps.redis, prefix: deps.config.redis.prefix };
      await restoreRoom(deps.db, target, created.sale.id, Date.now());
    }
  } catch (error) {
    log.error({ err: error, saleId: created.sale.id }, 'sale saved but not loaded into redis');
    throw unavailable('the sale was saved but the gate could not load it; the reconciler will');
  }
  return created;
}
