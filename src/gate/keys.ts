// Every Redis key of the gate is built here. All keys of one sale share the hash tag
// {sale:<id>}, so each Lua script touches a single Redis Cluster slot.
export type SaleKeys = ReturnType<typeof saleKeys>;

export function saleKeys(prefix: string, saleId: number) {
  const tag = `${prefix}:{sale:${saleId}}`;
  return {
    sale: `${tag}:sale`,
    held: `${tag}:held`,
    inflight: `${tag}:inflight`,
    // Held by the process loading the sale back from PostgreSQL (src/recovery/sale-loader.ts).
    loadLock: `${tag}:load-lock`,
    reservation: (orderId: string) => `${tag}:res:${orderId}`,
    // Length-prefixed so that buyer "a:b" with key "c" never meets buyer "a" with key "b:c".
    idempotency: (buyer: string, key: string) => `${tag}:idem:${buyer.length}:${buyer}:${key}`,
    rateBucket: (buyer: string) => `${tag}:rate:${buyer}`,
  };
}

export function salesIndexKey(prefix: string): string {
  return `${prefix}:sales`;
}

// Pub/sub channel on which the scripts announce a sale selling out or reopening, so every
// API process can keep a local sold-out flag. Prefixed so deployments sharing a Redis stay apart.
export function saleEventsChannel(prefix: string): string {
  return `${prefix}:sale-events`;
}
