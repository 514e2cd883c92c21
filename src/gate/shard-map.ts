import { homeOfBuyer, saleKeys } from './keys.js';
import { homeOfOrder } from './order-id.js';
import type { Home } from './scripts/home.js';
import type { ScriptTarget } from './scripts/registry.js';
import type { Shard } from './scripts/shard-scripts.js';

// A buyer's home shard over shards; null for a sale without shards.
export function homeOfBuyerIn(buyer: string, shards: number): number | null {
  return shards > 1 ? homeOfBuyer(buyer, shards) : null;
}

// Where each sale's state lives: its shard count, and from it the home of an order (its id
// names it), of a buyer (a hash of the buyer id), and every home and shard of the sale.
export class ShardMap {
  // A sale's shard count never changes: learnt once from Redis, then known.
  private readonly counts = new Map<number, number>();

  constructor(private readonly target: ScriptTarget) {}

  // How many shards the sale's units are spread over (1: none); null when Redis does not
  // have the sale.
  async shardsOf(saleId: number): Promise<number | null> {
    const known = this.counts.get(saleId);
    if (known !== undefined) return known;
    const [shards, remaining] = await this.target.redis.hmget(
      saleKeys(this.target.prefix, saleId).sale,
      'shards',
      'remaining',
    );
    if (shards === null && remaining === null) return null;
    const count = shards === null ? 1 : Number(shards);
    this.counts.set(saleId, count);
    return count;
  }

  // As shardsOf, with 1 for a sale Redis does not have; known counts are not awaited on.
  async countOf(saleId: number): Promise<number> {
    return this.counts.get(saleId) ?? (await this.shardsOf(saleId)) ?? 1;
  }

  known(saleId: number): number | undefined {
    return this.counts.get(saleId);
  }

  remember(saleId: number, shards: number): void {
    this.counts.set(saleId, shards);
  }

  // Where an order's reservation lives: its buyer's home shard, which its id names, for a sale
  // over shards; the sale's own slot otherwise.
  async orderHome(saleId: number, orderId: string): Promise<Home> {
    return { saleId, home: homeOfOrder(orderId), shards: await this.countOf(saleId) };
  }

  async buyerHome(saleId: number, buyer: string): Promise<Home> {
    const shards = await this.countOf(saleId);
    return { saleId, home: homeOfBuyerIn(buyer, shards), shards };
  }

  // Order ids grouped by the home holding their reservations, with each one's place in `ids`:
  // a script or a pipeline on a cluster may only touch one slot.
  async byHome(saleId: number, ids: readonly string[]): Promise<{ at: Home; places: number[] }[]> {
    const shards = await this.countOf(saleId);
    const groups = new Map<number | null, number[]>();
    ids.forEach((id, place) => {
      const home = homeOfOrder(id);
      const places = groups.get(home);
      if (places) places.push(place);
      else groups.set(home, [place]);
    });
    return [...groups].map(([home, places]) => ({ at: { saleId, home, shards }, places }));
  }

  // One call per home holding the orders' reservations (a script call on a cluster touches
  // one slot), each given its orders' ids and their places in `ids`; the answers come back in
  // the order of `ids`.
  async eachHome<T>(
    saleId: number,
    ids: readonly string[],
    call: (at: Home, ids: string[], places: number[]) => Promise<T[]>,
  ): Promise<T[]> {
    if (ids.length === 0) return [];
    const answers: T[] = [];
    const groups = await this.byHome(saleId, ids);
    await Promise.all(
      groups.map(async ({ at, places }) => {
        const got = await call(
          at,
          places.map((place) => ids[place]!),
          places,
        );
        places.forEach((place, i) => (answers[place] = got[i]!));
      }),
    );
    return answers;
  }

  // Every home holding buyers' state: the sale's own slot, or each of its shards.
  async homes(saleId: number): Promise<Home[]> {
    const shards = await this.countOf(saleId);
    if (shards <= 1) return [{ saleId, home: null, shards }];
    return Array.from({ length: shards }, (_, home) => ({ saleId, home, shards }));
  }

  // Every shard of a sale over shards; none for a sale without shards.
  async shards(saleId: number): Promise<Shard[]> {
    const shards = await this.countOf(saleId);
    if (shards <= 1) return [];
    return Array.from({ length: shards }, (_, shard) => ({ saleId, shard, shards }));
  }
}
