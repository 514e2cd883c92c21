import { Hono } from 'hono';
import type { ApiDeps } from '../deps.js';
import { ApiError, unavailable } from '../api-error.js';
import { requireAdmin } from '../middleware/auth.js';
import { createSaleSchema, defaultRoomLeadMs, readJson, rejectQuery } from '../validation.js';
import { insertSale, SkuTakenError } from '../../db/sales-repository.js';
import { insertSaleWithRoom } from '../../db/rooms-repository.js';
import type { Sale } from '../../db/schema.js';
import { saleView, type RoomCounts } from '../sale-view.js';
import { logOf } from '../middleware/request-logger.js';
import { restoreRoom } from '../../room/restore.js';

type CreateSale = ReturnType<(typeof createSaleSchema)['parse']>;

const skuTaken = (sku: string) => new ApiError(409, 'SALE_EXISTS', `a sale with sku ${sku} exists`);

// The sale's row, and its room's in the same transaction when it has one.
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

export function adminSalesRoutes(deps: ApiDeps) {
  return new Hono().use('*', requireAdmin(deps.config.auth.adminToken)).post('/', async (c) => {
    rejectQuery(c.req.query());
    const body = await readJson(c.req, createSaleSchema);
    const { sale, room } = await insertWithRoom(deps, body);
    try {
      // The contract: the stock is buyable the moment the 201 is sent.
      await deps.gate.loadSale(sale);
      // The line's state in Redis; a join that finds none creates it the same way.
      if (room) {
        const target = { redis: deps.redis, prefix: deps.config.redis.prefix };
        await restoreRoom(deps.db, target, sale.id, Date.now());
      }
    } catch (error) {
      logOf(c, deps.logger).error(
        { err: error, saleId: sale.id },
        'sale saved but not loaded into redis',
      );
      throw unavailable('the sale was saved but the gate could not load it; the reconciler will');
    }
    return c.json(saleView(sale, sale.stock, room), 201);
  });
}
