import type { Gate } from '../gate/gate.js';
import { maxSalesSampled } from '../observability/metrics.js';

async function sampledSales(gate: Gate): Promise<number[]> {
  return (await gate.saleIds()).sort((a, b) => b - a).slice(0, maxSalesSampled);
}

// Each shard's remaining units, for the sampled sales that have shards.
export async function shardRemainingBySale(gate: Gate): Promise<Map<number, (number | null)[]>> {
  const bySale = new Map<number, (number | null)[]>();
  const saleIds = await sampledSales(gate);
  const shards = await Promise.all(saleIds.map((id) => gate.shardRemaining(id)));
  saleIds.forEach((id, i) => {
    const units = shards[i];
    if (units) bySale.set(id, units);
  });
  return bySale;
}

// What the gate can still reserve, for each sale it holds (the newest ones when there are many).
export async function remainingBySale(gate: Gate): Promise<Map<number, number>> {
  const saleIds = await sampledSales(gate);
  // Sent together: ioredis writes each command at once, so this is one round trip's wait.
  const remaining = await Promise.all(saleIds.map((id) => gate.remaining(id)));
  const bySale = new Map<number, number>();
  saleIds.forEach((id, index) => {
    const units = remaining[index];
    if (units !== null && units !== undefined) bySale.set(id, units);
  });
  return bySale;
}
