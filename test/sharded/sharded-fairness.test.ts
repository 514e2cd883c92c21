import { expect, it } from 'vitest';
import { assertOracle } from '../support/oracle.js';
import { adminOf } from '../support/admin.js';
import { createRoomSale, useRoomSystem } from '../support/room-line.js';
import { drawnRanks, kruskalWallis, spearman, spearmanBound } from '../support/fair-draw.js';
import { partOfBuyer } from '../../src/room/partitions.js';

const buyers = 300;
const shards = 3;
// Two statistics, each failing a fair draw once in a thousand runs:
// - Spearman's rho between the order of joining and the drawn rank, as for a room without
//   shards (test/room/fairness.test.ts): |rho| < 3.29 / sqrt(N - 1), 0.190 for N = 300. Each
//   partition numbers its places in the order they joined, so a draw that kept the place
//   numbers, or shuffled only within each partition, has rho near 1.
// - Kruskal-Wallis H of the drawn ranks grouped by partition (the buyer's home shard): with P
//   partitions H is close to a chi-square of P - 1 degrees of freedom, whose 0.001 point for
//   2 is 2 ln 1000 = 13.82. A draw that put one partition's buyers first (uncorrelated with the
//   order of joining, so rho misses it) has H in the hundreds.
const rhoBound = spearmanBound(buyers);
const hBound = 2 * Math.log(1000);

// Fair start for a sale over shards (docs/waiting-room.md, "Sharded sales"): the line is split
// into one partition per shard, and the prequeue is drawn as one, every ordering of its places
// equally likely. Neither the moment a buyer joined nor the shard they hash to buys a place.
// Runs on one Redis, and on a cluster in the redis-cluster-sharded leg of .ci/run.
// a sale over shards: the prequeue draw
const system = useRoomSystem('sharded-fair');

it(`orders ${buyers} early buyers over ${shards} shards independently of when they joined and of their shard (|rho| < ${rhoBound.toFixed(3)}, H < ${hBound.toFixed(2)})`, async () => {
  const { env, api, room } = system;
  const saleId = await createRoomSale(
    api,
    'sharded-fair',
    1000,
    { admitPerSecond: 1 },
    // 300 joins one after another took 8 s on a loaded machine (load average 7 on 2 cores).
    { startsIn: 20, shards },
  );
  const tickets = new Map<string, string>();
  // One after another: the order of joining is known.
  for (let i = 0; i < buyers; i++) {
    const joined = await room.join(saleId, `sfair-${i}`);
    expect(joined.body.state, `join ${i} before the start`).toBe('prequeue');
    tickets.set(`sfair-${i}`, joined.body.ticket as string);
  }
  const parts = [...tickets.keys()].map((buyer) => partOfBuyer(buyer, shards));
  // Every partition holds a fair share of the line: the draw mixes all of them.
  for (let part = 0; part < shards; part++) {
    expect(parts.filter((p) => p === part).length, `partition ${part}`).toBeGreaterThan(60);
  }
  // Paused, the room draws at the start and admits nobody: the line holds still while read.
  expect((await adminOf(api, env).pause(saleId)).status).toBe(200);
  const ranks = await drawnRanks(room, saleId, tickets);

  const rho = spearman(
    ranks.map((_, i) => i + 1),
    ranks,
  );
  const h = kruskalWallis(ranks, parts);
  const meanRank = (part: number) => {
    const own = ranks.filter((_, i) => parts[i] === part);
    return own.reduce((a, b) => a + b, 0) / own.length;
  };
  const means = Array.from({ length: shards }, (_, part) => meanRank(part).toFixed(1));
  console.log(
    `spearman rho = ${rho.toFixed(4)} (bound ${rhoBound.toFixed(4)}), Kruskal-Wallis H = ${h.toFixed(2)} (bound ${hBound.toFixed(2)}), mean rank by partition ${means.join(', ')}, N = ${buyers}`,
  );
  expect(Math.abs(rho)).toBeLessThan(rhoBound);
  expect(h).toBeLessThan(hBound);
  await assertOracle(env, saleId, []);
});
