import { expect, it } from 'vitest';
import { assertOracle } from '../support/oracle.js';
import { createRoomSale, useRoomSystem } from '../support/room-line.js';
import { drawnRanks, spearman, spearmanBound } from '../support/fair-draw.js';
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
const bound = spearmanBound(buyers);

// Fair start (API.md): buyers who join before startsAt are ordered at random at the start,
// every ordering equally likely; joining first before the start buys nothing.
// waiting room: the prequeue draw
const system = useRoomSystem('room-fair');

it(`orders ${buyers} early buyers independently of when they joined (|Spearman rho| < ${bound.toFixed(3)})`, async () => {
  const { env, api, room } = system;
  const saleId = await createRoomSale(api, 'fair-1', 1000, { admitPerSecond: 1 }, { startsIn: 15 });
  const tickets = new Map<string, string>();
  // One after another: the order of joining is known. 300 joins took 8 s at load average 7
  // (test/sharded/sharded-fairness.test.ts), hence the start 15 s away.
  for (let i = 0; i < buyers; i++) {
    const joined = await room.join(saleId, `early-${i}`);
    expect(joined.body.state).toBe('prequeue');
    tickets.set(`early-${i}`, joined.body.ticket as string);
  }
  // Paused, the room still draws at the start but admits nobody, so the line holds still while
  // it is read: one pass over 300 places outlasted an admission a second on a loaded machine
  // and read positions that had moved mid-pass ([2, 3, 3, 5, ...]).
  expect((await adminOf(api, env).pause(saleId)).status).toBe(200);
  // Admitted buyers are at the front: their positions are the ranks before the waiting ones.
  const positions = await drawnRanks(room, saleId, tickets);
  const joinOrder = positions.map((_, i) => i + 1);
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
