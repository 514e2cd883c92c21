import { expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { pool } from '../support/system.js';
import { assertOracle } from '../support/oracle.js';
import { createRoomSale, useRoomSystem } from '../support/room-line.js';
import { drawOnce } from '../../src/room/draw.js';
import { createDatabase } from '../../src/db/client.js';
import { createRedis } from '../../src/redis/connection.js';
import { roomKeys } from '../../src/gate/keys.js';
import { adminOf } from '../support/admin.js';

const buyers = 300;
// Spearman's rank correlation of N pairs from a uniformly random permutation has mean 0 and
// variance 1/(N-1), and sqrt(N-1) x rho is close to a standard normal for N this large. The
// test fails when |rho| > 3.29 / sqrt(N-1) (0.190 for N = 300): a false positive once in a
// thousand runs of a fair draw, while a draw that kept the order of arrival (rho = 1), or
// merely leaned on it (rho of 0.3 or more), fails every time.
const bound = 3.29 / Math.sqrt(buyers - 1);

function spearman(xs: number[], ys: number[]): number {
  const n = xs.length;
  let d2 = 0;
  for (let i = 0; i < n; i++) d2 += (xs[i]! - ys[i]!) ** 2;
  return 1 - (6 * d2) / (n * (n * n - 1));
}

// Fair start (API.md): buyers who join before startsAt are ordered at random at the start,
// every ordering equally likely; joining first before the start buys nothing.
// waiting room: the prequeue draw
const system = useRoomSystem('room-fair');

it(`orders ${buyers} early buyers independently of when they joined (|Spearman rho| < ${bound.toFixed(3)})`, async () => {
  const { env, api, room } = system;
  const saleId = await createRoomSale(api, 'fair-1', 1000, { admitPerSecond: 1 }, { startsIn: 8 });
  const tickets: string[] = [];
  // One after another: the order of joining is known.
  for (let i = 0; i < buyers; i++) {
    const joined = await room.join(saleId, `early-${i}`);
    expect(joined.body.state).toBe('prequeue');
    tickets.push(joined.body.ticket as string);
  }
  // Paused, the room still draws at the start but admits nobody, so the line holds still while
  // it is read: one pass over 300 places outlasted an admission a second on a loaded machine
  // and read positions that had moved mid-pass ([2, 3, 3, 5, ...]).
  expect((await adminOf(api, env).pause(saleId)).status).toBe(200);
  const places = async () =>
    pool(
      tickets.map((ticket, i) => async () => (await room.poll(saleId, `early-${i}`, ticket)).body),
      20,
    );
  const drawn = await waitFor(
    async () => {
      const all = await places();
      return all.every((p) => p.state === 'waiting' || p.state === 'admitted') && all;
    },
    { what: 'the draw', timeoutMs: 60_000 },
  );
  // Admitted buyers are at the front: their positions are the ranks before the waiting ones.
  const admitted = drawn.filter((p) => p.state === 'admitted').length;
  const ranks = drawn.map((p) => (p.state === 'admitted' ? 0 : admitted + (p.position as number)));
  const waitingRanks = ranks.filter((r) => r > 0).sort((a, b) => a - b);
  expect(waitingRanks).toEqual(
    Array.from({ length: buyers - admitted }, (_, i) => admitted + i + 1),
  );
  const joinOrder = ranks.map((_, i) => i + 1);
  const positions = ranks.map((r) => (r === 0 ? (admitted + 1) / 2 : r));
  const rho = spearman(joinOrder, positions);
  console.log(`spearman rho = ${rho.toFixed(4)} (bound ${bound.toFixed(4)}, N = ${buyers})`);
  expect(Math.abs(rho)).toBeLessThan(bound);

  // Drawn once: a second draw (another admitter, a Redis that forgot the order) gets the first.
  const db = createDatabase(env.config.database.url, 2);
  const redis = createRedis(env.config);
  try {
    const target = { redis, prefix: env.config.redis.prefix };
    const before = Buffer.from(
      (await db.$client.query('SELECT drawn_order FROM waiting_rooms WHERE sale_id = $1', [saleId]))
        .rows[0].drawn_order as Buffer,
    );
    await redis.del(roomKeys(env.config.redis.prefix, saleId).order);
    const again = await drawOnce(db, target, saleId, buyers);
    expect(Buffer.from(again.buffer)).toEqual(before);
  } finally {
    await redis.quit();
    await db.$client.end();
  }
  await assertOracle(env, saleId, []);
});
