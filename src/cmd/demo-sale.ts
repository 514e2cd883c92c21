import { desc, like } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { sales, type Sale } from '../db/schema.js';
import { insertSale } from '../db/sales-repository.js';
import type { Gate } from '../gate/gate.js';

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
    if (open && (remaining ?? 0) > 0) return latest;
  }
  const sale = await insertSale(db, {
    sku: `demo-${Date.now()}`,
    name: 'Demo flash sale',
    stock: 100,
    perUserLimit: 2,
    startsAt: new Date(),
    endsAt: null,
  });
  await gate.loadSale(sale);
  return sale;
}
