import { randomUUID } from 'node:crypto';

// An order id carries its sale id, so an order still in flight (no row yet) can be found
// in its sale's Redis slot without another index.
const orderIdPattern =
  /^([1-9][0-9]{0,15})-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export function mintOrderId(saleId: number): string {
  return `${saleId}-${randomUUID()}`;
}

export function saleIdOfOrder(orderId: string): number | null {
  const match = orderIdPattern.exec(orderId);
  return match ? Number(match[1]) : null;
}
