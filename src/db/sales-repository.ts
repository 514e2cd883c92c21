import { eq, gt, isNull, or, sql } from 'drizzle-orm';
import type { Database } from './client.js';
import { sales, type Sale } from './schema.js';

export type NewSale = {
  sku: string;
  name: string;
  stock: number;
  perUserLimit: number;
  startsAt: Date;
  endsAt: Date | null;
  paymentWindowSeconds?: number | null;
  shards?: number;
  proofOfWork?: boolean;
  waitingRoom?: boolean;
};

export class SkuTakenError extends Error {
  override readonly name = 'SkuTakenError';
}

export async function insertSale(db: Database, sale: NewSale): Promise<Sale> {
  const [row] = await db
    .insert(sales)
    .values(sale)
    .onConflictDoNothing({ target: sales.sku })
    .returning();
  if (!row) throw new SkuTakenError(`a sale with sku ${sale.sku} exists`);
  return row;
}

export async function findSale(db: Database, id: number): Promise<Sale | null> {
  const [row] = await db.select().from(sales).where(eq(sales.id, id));
  return row ?? null;
}

// Sales the gate must hold: not ended, or ended so recently that orders may still settle.
export async function listOpenSales(db: Database, endedWithin = '1 day'): Promise<Sale[]> {
  return db
    .select()
    .from(sales)
    .where(or(isNull(sales.endsAt), gt(sales.endsAt, sql`now() - ${endedWithin}::interval`)));
}

// Whether a sale asks for proof of work, and when it starts (neither changes after creation);
// null when there is no such sale.
export async function proofOfWorkOf(
  db: Database,
  id: number,
): Promise<{ proofOfWork: boolean; startsAt: Date; waitingRoom: boolean } | null> {
  const [row] = await db
    .select({
      proofOfWork: sales.proofOfWork,
      startsAt: sales.startsAt,
      waitingRoom: sales.waitingRoom,
    })
    .from(sales)
    .where(eq(sales.id, id));
  return row ?? null;
}
