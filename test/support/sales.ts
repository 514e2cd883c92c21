import type pg from 'pg';

// The units PostgreSQL holds as sold for a sale (sales.sold), read with plain SQL; 0 for a
// sale it does not have.
export async function soldOf(db: pg.Pool | pg.ClientBase, saleId: number): Promise<number> {
  const result = await db.query<{ sold: number }>('SELECT sold FROM sales WHERE id = $1', [saleId]);
  return Number(result.rows[0]?.sold ?? 0);
}
