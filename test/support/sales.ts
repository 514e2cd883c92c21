import type pg from 'pg';
import { expect } from 'vitest';
import type { Client } from './system.js';

// The units PostgreSQL holds as sold for a sale (sales.sold), read with plain SQL; 0 for a
// sale it does not have.
export async function soldOf(db: pg.Pool | pg.ClientBase, saleId: number): Promise<number> {
  const result = await db.query<{ sold: number }>('SELECT sold FROM sales WHERE id = $1', [saleId]);
  return Number(result.rows[0]?.sold ?? 0);
}

// Creates `sale` through the admin API, answered 201, and answers its id.
export async function createSaleOk(api: Client, sale: Record<string, unknown>): Promise<number> {
  const created = await api.createSale(sale);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.id as number;
}
