import type { Sale } from '../db/schema.js';

export function saleView(sale: Sale, remaining: number) {
  return {
    id: sale.id,
    sku: sale.sku,
    name: sale.name,
    stock: sale.stock,
    remaining,
    soldOut: remaining <= 0,
    perUserLimit: sale.perUserLimit,
    startsAt: sale.startsAt.toISOString(),
    endsAt: sale.endsAt?.toISOString() ?? null,
    shards: sale.shards,
    paymentWindowSeconds: sale.paymentWindowSeconds,
    proofOfWork: sale.proofOfWork,
    paused: sale.paused,
  };
}
