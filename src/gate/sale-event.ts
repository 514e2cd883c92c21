// A sold-out or reopened transition, as the scripts publish it on the sale events channel
// (lua/includes/sale-events.lua formats it): '<sale> <version> <remaining>', and for one shard
// of a sale over shards a fourth field, the shard.
export type SaleEvent = {
  saleId: number;
  // The transition counter `v` of the hash that moved, after the transition.
  version: number;
  // 0 when it sold out, the units it has when it reopened.
  remaining: number;
  // The shard that moved; null for a sale without shards.
  shard: number | null;
};

const eventPattern = /^(\d+) (\d+) (-?\d+)(?: (\d+))?$/;

// The event a message carries; null for anything else (nothing else is published there).
export function parseSaleEvent(message: string): SaleEvent | null {
  const match = eventPattern.exec(message);
  if (!match) return null;
  const [, sale, version, remaining, shard] = match;
  return {
    saleId: Number(sale),
    version: Number(version),
    remaining: Number(remaining),
    shard: shard === undefined ? null : Number(shard),
  };
}

const rulesPattern = /^(\d+) rules$/;

// The sale an admin changed ('<sale> rules': paused, window, limit or stock), whose cached
// readings are stale; null for any other message.
export function parseRulesChanged(message: string): number | null {
  const match = rulesPattern.exec(message);
  return match ? Number(match[1]) : null;
}
