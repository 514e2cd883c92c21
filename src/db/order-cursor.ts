import { once } from 'node:events';
import QueryStream from 'pg-query-stream';
import type { Database } from './client.js';
import type { OrderStatus } from './schema.js';

export type CursorOrder = {
  id: string;
  saleId: number;
  userId: string;
  quantity: number;
  status: OrderStatus;
  reason: string | null;
  payBy: Date | null;
  createdAt: Date;
  updatedAt: Date;
};

export type OrderCursor = {
  // Up to `max` more orders; none once every order was read.
  next: (max: number) => Promise<CursorOrder[]>;
  // Gives the connection back; safe to call more than once, and after the last order.
  close: () => Promise<void>;
};

// sale_id, a bigint pg reads as text, is not selected: every row's is the sale asked for.
const columns = `id, user_id AS "userId", quantity, status, reason, pay_by AS "payBy",
  created_at AS "createdAt", updated_at AS "updatedAt"`;
const allOrders = `SELECT ${columns} FROM orders WHERE sale_id = $1`;
const ordersInStatus = `${allOrders} AND status = $2`;

// Every order of a sale (of one status), in no particular order, through a server-side cursor
// (pg-query-stream: a portal fetched `batchRows` rows per round trip) on a pool connection of
// its own. Rows are fetched only as fast as `next` is called, so memory stays that of a batch
// however many orders the sale has; the query's snapshot is the export's, one instant.
export async function openOrderCursor(
  db: Database,
  saleId: number,
  status: OrderStatus | undefined,
  batchRows: number,
): Promise<OrderCursor> {
  const client = await db.$client.connect();
  const query =
    status === undefined
      ? new QueryStream(allOrders, [saleId], { batchSize: batchRows })
      : new QueryStream(ordersInStatus, [saleId, status], { batchSize: batchRows });
  const stream = client.query(query);
  const rows = stream[Symbol.asyncIterator]() as AsyncIterator<Omit<CursorOrder, 'saleId'>>;
  let closing: Promise<void> | undefined;
  let finished = false;
  const close = () =>
    (closing ??= (async () => {
      if (!finished && !stream.destroyed) {
        // Closes the portal; the connection is dropped rather than trusted mid-protocol.
        stream.destroy();
        await once(stream, 'close').catch(() => undefined);
      }
      client.release(finished ? undefined : true);
    })());
  return {
    next: async (max) => {
      const batch: CursorOrder[] = [];
      while (batch.length < max) {
        const row = await rows.next();
        if (row.done) {
          finished = true;
          await close();
          break;
        }
        batch.push({ ...row.value, saleId });
      }
      return batch;
    },
    close,
  };
}
