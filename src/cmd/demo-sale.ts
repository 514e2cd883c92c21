import { desc, like } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { sales, type Sale } from '../db/schema.js';
import { insertSale } from '../db/sales-repository.js';
import type { Gate } from '../gate/gate.js';

export const demoPaymentWindowSeconds = 300;

// The newest demo sale that can still be bought from, or a fresh one: a newcomer's first
// curl should get a 202, not the 409 of a demo sold out in an earlier run.
export async function ensureDemoSale(db: Database, gate: Gate): Promise<Sale> {
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
    // A demo from before the payment window shows nothing to pay: a fresh one replaces it.
    if (open && (remaining ?? 0) > 0 && latest.paymentWindowSeconds !== null) return latest;
  }
  const sale = await insertSale(db, {
    sku: `demo-${Date.now()}`,
    name: 'Demo flash sale',
    stock: 100,
    perUserLimit: 2,
    startsAt: new Date(),
    endsAt: null,
    // Long enough to copy the printed curl that pays; short enough to watch one expire.
    paymentWindowSeconds: demoPaymentWindowSeconds,
  });
  await gate.loadSale(sale);
  return sale;
}
