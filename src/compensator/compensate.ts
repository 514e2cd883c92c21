import type { Logger } from '../observability/logger.js';
import type { Database } from '../db/client.js';
import type { Gate } from '../gate/gate.js';
import { TransientError } from '../errors/transient-error.js';
import { findOrder, insertFailedOrder, type OrderToWrite } from '../db/orders-repository.js';
import { finishReturn } from '../orders/give-back.js';

export type CompensationDeps = { db: Database; gate: Gate; logger: Logger };

export type CompensationOutcome =
  // This call gave the order's units back to the sale.
  | { kind: 'returned'; units: number }
  // The order is failed and its units were already back (a duplicate, or nothing was held).
  | { kind: 'already_returned' }
  // A worker committed the order first: it stands; its reservation is finished.
  | { kind: 'confirmed' };

// DESIGN.md's compensation: PostgreSQL decides what happened, Redis follows. The `failed` row
// is written first (first write wins). Whenever the row says failed, whether written now or
// by an earlier delivery that died before reaching Redis, the reservation is released with
// force; the release script returns the units only on its first call, so a duplicate
// delivery changes nothing. If the row says confirmed, the reservation is only finished.
export async function compensateOrder(
  deps: CompensationDeps,
  order: OrderToWrite,
  reason: string,
): Promise<CompensationOutcome> {
  const log = { orderId: order.id, saleId: order.saleId, reason };
  const wroteFailed = await insertFailedOrder(deps.db, order, reason);
  if (!wroteFailed) {
    const existing = await findOrder(deps.db, order.id);
    if (existing?.status === 'confirmed' || existing?.status === 'paid') {
      const finished = await deps.gate.confirm(order.saleId, order.id);
      if (finished === 'released') {
        deps.logger.error(log, 'confirmed order had its reservation released; drift check repairs');
      }
      return { kind: 'confirmed' };
    }
    if (existing?.status === 'expired' || existing?.status === 'cancelled') {
      // Confirmed, then out of its payment window before its reservation was finished: the
      // units go back the way every expired or cancelled order's do.
      const returned = await finishReturn(deps, existing);
      return returned.kind === 'returned'
        ? { kind: 'returned', units: order.quantity }
        : { kind: 'already_returned' };
    }
    // Only a row that says failed allows a forced release.
    if (existing?.status !== 'failed') {
      throw new TransientError('order_row_unsettled', `order row is ${existing?.status ?? 'gone'}`);
    }
  }
  const released = await deps.gate.release(order.saleId, order.id, reason, { force: true });
  switch (released.kind) {
    case 'released':
      deps.logger.info({ ...log, units: order.quantity }, 'order failed; stock returned');
      return { kind: 'returned', units: order.quantity };
    case 'already_released':
      return { kind: 'already_returned' };
    case 'unknown':
      // Redis forgot the reservation (a failover to a lagging replica, a rewound AOF): its
      // units went with it, so nothing is returned, but the failed order still gets its
      // tombstone, so a late job or release finds the reservation finished (DESIGN.md, when
      // Redis forgets). A sale Redis lost too is left to its loader, which writes the same.
      await deps.gate.restore(order.saleId, [
        {
          orderId: order.id,
          buyer: order.userId,
          quantity: order.quantity,
          reservedAtMs: order.reservedAt.getTime(),
          mode: 'failed',
          shard: order.shard,
        },
      ]);
      deps.logger.warn(log, 'order failed; its reservation was lost by redis, tombstone written');
      return { kind: 'already_returned' };
    case 'in_progress':
      // release --force never answers this; kept so the switch stays exhaustive.
      throw new Error('forced release answered in progress');
    case 'confirmed':
      // Redis counted the units as sold while PostgreSQL holds no sale: the drift check
      // returns them to remaining.
      deps.logger.error(log, 'failed order had a confirmed reservation; drift check repairs');
      return { kind: 'already_returned' };
  }
}
