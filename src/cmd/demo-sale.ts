import { desc, like } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { sales, type Sale } from '../db/schema.js';
import { insertSaleWithRoom } from '../db/rooms-repository.js';
import type { Gate } from '../gate/gate.js';
import type { RedisClient } from '../redis/connection.js';
import { restoreRoom } from '../room/restore.js';

export const demoPaymentWindowSeconds = 300;

// The newest demo sale that can still be bought from, or a fresh one: a newcomer's first
// purchase should get a 202, not the 409 of a demo sold out in an earlier run. The demo is
// bought through a waiting room (API.md), as a flash sale's crowd would meet it: its page is
// what `npm start` prints for alice and bob.
export async function ensureDemoSale(
  db: Database,
  gate: Gate,
  redis: RedisClient,
  prefix: string,
): Promise<Sale> {
  const [latest] = await db
    .select()
    .from(sales)
    .where(like(sales.sku, 'demo-%'))
    .orderBy(desc(sales.id))
    .limit(1);
  if (latest) {
    await gate.loadSale(latest);
    const remaining = await gate.remaining(latest.id);
    const open = !latest.endsAt || latest.endsAt > new Date();
    // A demo from before the payment window or the room lacks them: a fresh one replaces it.
    const current = latest.paymentWindowSeconds !== null && latest.waitingRoom;
    if (open && (remaining ?? 0) > 0 && current) {
      await restoreRoom(db, { redis, prefix }, latest.id, Date.now());
      return latest;
    }
  }
  const startsAt = new Date();
  const created = await insertSaleWithRoom(
    db,
    {
      sku: `demo-${Date.now()}`,
      name: 'Demo flash sale',
      stock: 100,
      perUserLimit: 2,
      startsAt,
      endsAt: null,
      // Long enough to copy the printed curl that pays; short enough to watch one expire.
      paymentWindowSeconds: demoPaymentWindowSeconds,
    },
    // The contract's defaults; the outflow follows what the purchase path sustains.
    { opensAt: startsAt, passSeconds: 300, idleSeconds: 60, admitPerSecond: null },
  );
  if (!created) throw new Error('demo sale: its sku is taken');
  await gate.loadSale(created.sale);
  await restoreRoom(db, { redis, prefix }, created.sale.id, Date.now());
  return created.sale;
}
