import { expect } from 'vitest';
import { waitFor } from './env.js';
import { pool } from './system.js';
import type { Place, RoomClient } from './room-line.js';

// The statistics the fairness tests judge a prequeue's draw by (docs/waiting-room.md, "Each
// step"), and the line's order as its buyers read it after the draw.

// Spearman's rank correlation of two rankings of the same N items without ties. For a
// uniformly random permutation it has mean 0 and variance 1/(N-1), and sqrt(N-1) x rho is close
// to a standard normal for N in the hundreds.
export function spearman(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  let d2 = 0;
  for (let i = 0; i < n; i++) d2 += (xs[i]! - ys[i]!) ** 2;
  return 1 - (6 * d2) / (n * (n * n - 1));
}

// |rho| above this fails: a false positive once in a thousand runs of a fair draw (the normal
// approximation's two-sided 0.001 point is 3.29).
export const spearmanBound = (n: number) => 3.29 / Math.sqrt(n - 1);

// The Kruskal-Wallis statistic of ranks 1..N (no ties) split into groups: H = 12 / (N(N+1)) x
// sum over the groups of n_g (mean rank of g - (N+1)/2)^2. When the group a rank falls in does
// not matter, H is close to a chi-square of (groups - 1) degrees of freedom.
export function kruskalWallis(ranks: readonly number[], groupOf: readonly number[]): number {
  const n = ranks.length;
  const sums = new Map<number, { count: number; sum: number }>();
  ranks.forEach((rank, i) => {
    const group = sums.get(groupOf[i]!) ?? { count: 0, sum: 0 };
    group.count += 1;
    group.sum += rank;
    sums.set(groupOf[i]!, group);
  });
  let h = 0;
  for (const { count, sum } of sums.values()) h += count * (sum / count - (n + 1) / 2) ** 2;
  return (12 / (n * (n + 1))) * h;
}

// Each buyer's rank once the line is drawn, in the order of `tickets`: polled (20 at a time,
// each with its ticket) until every place has left the prequeue. Admitted buyers are at the
// front, tied at their mid-rank; the waiting ones' ranks follow from their positions, which must
// be exactly the places after the admitted (no number nobody holds counted ahead of anyone).
export async function drawnRanks(
  room: RoomClient,
  saleId: number,
  tickets: ReadonlyMap<string, string>,
): Promise<number[]> {
  const entries = [...tickets];
  const places = async () =>
    pool(
      entries.map(([buyer, ticket]) => async () => {
        const polled = await room.poll(saleId, buyer, ticket);
        expect(polled.status, `${buyer}: ${JSON.stringify(polled.body)}`).toBe(200);
        return polled.body as Place;
      }),
      20,
    );
  const drawn = await waitFor(
    async () => {
      const all = await places();
      return all.every((p) => p.state === 'waiting' || p.state === 'admitted') && all;
    },
    { what: 'the draw', timeoutMs: 60_000 },
  );
  const admitted = drawn.filter((p) => p.state === 'admitted').length;
  const ranks = drawn.map((p) => (p.state === 'admitted' ? 0 : admitted + p.position!));
  const waitingRanks = ranks.filter((r) => r > 0).sort((a, b) => a - b);
  expect(waitingRanks).toEqual(
    Array.from({ length: entries.length - admitted }, (_, i) => admitted + i + 1),
  );
  return ranks.map((r) => (r === 0 ? (admitted + 1) / 2 : r));
}
