import { randomUUID } from 'node:crypto';

// An order id carries its sale id, so an order still in flight (no row yet) can be found
// in its sale's Redis slot without another index. An order of a sale over shards also names
// its buyer's home shard (`<sale>.<home>-<uuid>`), where its reservation lives, so every later
// step finds that slot from the id alone (docs/sharded-sales.md).
const orderIdPattern =
  /^([1-9][0-9]{0,15})(?:\.(0|[1-9][0-9]?))?-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export function mintOrderId(saleId: number, home: number | null = null): string {
  return home === null ? `${saleId}-${randomUUID()}` : `${saleId}.${home}-${randomUUID()}`;
}

export function saleIdOfOrder(orderId: string): number | null {
  const match = orderIdPattern.exec(orderId);
  return match ? Number(match[1]) : null;
}

// The home shard an order id names; null for an order of a sale without shards.
export function homeOfOrder(orderId: string): number | null {
  const match = orderIdPattern.exec(orderId);
  return match?.[2] === undefined ? null : Number(match[2]);
}
