import { inArray } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { orders } from '../db/schema.js';
import type { Gate } from '../gate/gate.js';
import type { Logger } from '../observability/logger.js';

export type ShardSweepCounts = {
  // Units a ledger held for an order no live reservation names: given back.
  givenBack: number;
  // Claimed orders whose unit a shard no longer recorded (Redis forgot it): taken again.
  retaken: number;
  // Shards whose remaining disagreed with their stock less their ledger: set right.
  repaired: number;
};

// Statuses after which an order holds no unit, whatever Redis remembers of it.
const finalWithoutUnits = new Set(['failed', 'expired', 'cancelled']);

// The per-shard repair of a sale over shards (docs/sharded-sales.md, the reconciler): every
// unit a shard's ledger holds must belong to a reservation at home, in flight or confirmed,
// naming that shard, and every claimed reservation must have its unit in its shard. A crash
// between the two steps of a release leaves a ledger entry behind (given back here); a shard a
// cluster master forgot loses entries of orders still in flight (taken again here). Then each
// shard's remaining is checked against its own ledger.
export async function sweepShards(
  db: Database,
  gate: Gate,
  logger: Logger,
  saleId: number,
  shards: number,
): Promise<ShardSweepCounts> {
  const counts: ShardSweepCounts = { givenBack: 0, retaken: 0, repaired: 0 };
  const ledgers: Map<string, number>[] = [];
  for (let shard = 0; shard < shards; shard++) {
    const ledger = await gate.shardLedger(saleId, shard, shards);
    ledgers.push(ledger);
    const orderIds = [...ledger.keys()];
    const homes = await gate.reservationShards(saleId, orderIds);
    const owedBack: string[] = [];
    const unknownAtHome: string[] = [];
    orderIds.forEach((orderId, i) => {
      const home = homes[i];
      if (!home) unknownAtHome.push(orderId);
      else if (home.state === 'released' || home.shard !== shard) owedBack.push(orderId);
    });
    // Redis no longer has the reservation (its tombstone expired, or a master forgot it):
    // the row decides. No row yet means an order still on its way: it keeps its unit.
    if (unknownAtHome.length > 0) {
      const rows = await db
        .select({ id: orders.id, status: orders.status })
        .from(orders)
        .where(inArray(orders.id, unknownAtHome));
      for (const row of rows) if (finalWithoutUnits.has(row.status)) owedBack.push(row.id);
    }
    for (const orderId of owedBack) {
      const { givenBack } = await gate.giveBackShardUnits(saleId, shard, shards, orderId);
      if (givenBack) {
        counts.givenBack += 1;
        logger.warn({ saleId, shard, orderId }, 'unit held for no reservation; given back');
      }
    }
  }

  const inflight = await gate.inflightIds(saleId);
  const homes = await gate.reservationShards(saleId, inflight);
  for (const [i, orderId] of inflight.entries()) {
    const home = homes[i];
    // A pending reservation may not have taken its unit yet; a claimed one took it before its
    // order was published, so a ledger without it lost it.
    if (home?.state !== 'committing' || home.shard === null) continue;
    if (ledgers[home.shard]?.has(orderId)) continue;
    const quantity = (await gate.reservation(saleId, orderId))?.quantity;
    if (!quantity) continue;
    const taken = await gate.retakeShardUnits(saleId, home.shard, shards, { orderId, quantity });
    if (taken === 'taken') {
      counts.retaken += 1;
      logger.warn(
        { saleId, shard: home.shard, orderId },
        'claimed order had lost its unit; taken again',
      );
    }
  }

  for (let shard = 0; shard < shards; shard++) {
    const { drift, loaded } = await gate.repairShard(saleId, shard, shards);
    if (loaded && drift !== 0) {
      counts.repaired += 1;
      logger.warn(
        { saleId, shard, driftUnits: drift },
        'shard remaining drifted from its ledger; repaired',
      );
    }
  }
  return counts;
}
