import { afterAll, beforeAll, expect, it } from 'vitest';
import { stopInTurn } from '../support/stop-in-turn.js';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client, groupByStatus, pool, type Client } from '../support/system.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { metric, startTestCompensator, type RunningCompensator } from '../support/failures.js';
import { startApi, type RunningApi } from '../../src/cmd/wiring/api.js';
import { startBridge } from '../../src/cmd/wiring/bridge.js';
import { startWorker } from '../../src/cmd/wiring/worker.js';
import { homeOfBuyer, shardKeys } from '../../src/gate/keys.js';
import type { Gate } from '../../src/gate/gate.js';
import { reserveScript, retargetScript } from '../../src/gate/scripts/purchase-scripts.js';
import { releaseScript } from '../../src/gate/scripts/order-scripts.js';
import { takeScript } from '../../src/gate/scripts/shard-scripts.js';
import { createRedis, type RedisClient } from '../../src/redis/connection.js';
import { gateProbe, type GateProbe } from '../support/gate-probe.js';
import { createdSale } from '../support/fault-scenario.js';

// A purchase over shards is one script call at the buyer's home shard while it has units, and
// several in the tail (docs/sharded-sales.md): the allowance and a reservation at home, a
// retarget per shard found empty, the unit from a donor shard; a release is the allowance back
// at home, then the unit to its shard. A process killed between two of
// them leaves Redis exactly as the calls before the kill wrote it. Each case here makes those
// calls with the real scripts and stops where the process would have died; the reconciler
// must then settle every one, and the sale must sell on and end consistent.
// a process killed between the steps of a purchase over shards
let env: TestEnv;
let api: RunningApi;
let bridge: Awaited<ReturnType<typeof startBridge>>;
let worker: Awaited<ReturnType<typeof startWorker>>;
let compensator: RunningCompensator;
let buyers: Client;
let gate: Gate;
// The test's own connection, for the script calls it makes as a process would have.
let redis: RedisClient;
let probe: GateProbe;

beforeAll(async () => {
  env = await createTestEnv('sharded-crash', {
    RECONCILE_STALE_AFTER_MS: '500',
    RECONCILE_INTERVAL_MS: '300',
  });
  api = await startApi(env.config, env.logger.child({ proc: 'api' }));
  bridge = await startBridge(env.config, env.logger.child({ proc: 'bridge' }));
  worker = await startWorker(env.config, env.logger.child({ proc: 'worker' }));
  buyers = client(`http://127.0.0.1:${api.port}`, env);
  gate = api.deps.gate;
  redis = createRedis(env.config);
  probe = gateProbe(redis, env.config.redis.prefix);
});
afterAll(() => stopInTurn(compensator, worker, bridge, api, redis, env));

// Step 1 of a purchase, as the API makes it, at the buyer's home shard: the allowance, a
// pending reservation and, when the home has a unit, the unit too. With `donor` the home is
// found empty for that moment (its remaining set to 0 around the call), so only the
// allowance is taken and the reservation names the donor, whose unit comes next.
const reserveAtHome = async (saleId: number, buyer: string, donor?: number) => {
  const orderId = await gate.mintOrderId(saleId, buyer);
  const at = await probe.orderHome(saleId, orderId);
  const k = await probe.orderKeys(saleId, orderId);
  const units = await redis.hget(k.sale, 'remaining');
  if (donor !== undefined) await redis.hset(k.sale, 'remaining', 0);
  const outcome = await reserveScript(probe.scripts, at, {
    orderId,
    buyer,
    quantity: 1,
    idempotency: null,
    rate: { capacity: 0, refillPerSecond: 0 },
    nextShard: donor ?? -1,
  });
  if (donor !== undefined) await redis.hset(k.sale, 'remaining', units!);
  expect(outcome.kind, 'reserved at home').toBe('reserved');
  if (outcome.kind !== 'reserved') return orderId;
  // remaining is -1 exactly when the unit was not taken at home (src/gate/outcomes.ts).
  if (donor === undefined)
    expect(outcome.remaining, 'the unit taken at home').toBeGreaterThanOrEqual(0);
  else {
    expect([outcome.remaining, outcome.shard], 'only the allowance, naming the donor').toEqual([
      -1,
      donor,
    ]);
  }
  return orderId;
};

// A buyer id hashed to shard `home`.
const homedOn = (home: number, shards: number, name: string) => {
  for (let i = 0; ; i++) {
    if (homeOfBuyer(`${name}-${i}`, shards) === home) return `${name}-${i}`;
  }
};

it('settles each crash window, then sells on and ends consistent', async () => {
  const shards = 4;
  const stock = 40;
  const fields = { sku: 'sh-crash', name: 'crash windows', stock, perUserLimit: 2, shards };
  const saleId = await createdSale(buyers, fields);
  const [afterHomeBuyer, afterRetargetBuyer, afterTakeBuyer, takenAtHomeBuyer, midRelease] = [
    'died-after-home',
    'died-after-retarget',
    'died-after-take',
    'died-after-home-take',
    'died-mid-release',
  ].map((name) => homedOn(0, shards, name)) as [string, string, string, string, string];

  // Died after the allowance, its home empty, before any unit: held but nothing taken.
  const afterHome = await reserveAtHome(saleId, afterHomeBuyer, 1);
  // Died after renaming the reservation to the next shard, before taking there.
  const afterRetarget = await reserveAtHome(saleId, afterRetargetBuyer, 1);
  const retargetHome = await probe.orderHome(saleId, afterRetarget);
  const retarget = { orderId: afterRetarget, from: 1, to: 2 };
  expect(await retargetScript(probe.scripts, retargetHome, retarget)).toBe(true);
  // Died after taking the unit from a donor, before publishing: no 202 was given.
  const afterTake = await reserveAtHome(saleId, afterTakeBuyer, 3);
  const take = (shard: number, orderId: string) =>
    takeScript(probe.scripts, { saleId, shard, shards }, { orderId, quantity: 1, force: false });
  expect(await take(3, afterTake)).toBe('taken');
  // Died after the one call that took the allowance and the unit at home, before publishing.
  const takenAtHome = await reserveAtHome(saleId, takenAtHomeBuyer);
  // A release that died between its two steps: the allowance is back at home, the unit is
  // still in its shard's ledger, and the reservation has left the in-flight set.
  const halfReleased = await reserveAtHome(saleId, midRelease, 2);
  expect(await take(2, halfReleased)).toBe('taken');
  const release = await releaseScript(probe.scripts, await probe.orderHome(saleId, halfReleased), {
    orderId: halfReleased,
    force: false,
    reason: 'publish_failed',
    tombstoneTtlSeconds: env.config.gate.tombstoneTtlSeconds,
  });
  expect(release.kind).toBe('released');
  expect(
    release.kind === 'released' && release.shard,
    'the release names the shard holding the unit',
  ).toBe(2);

  expect(await gate.remaining(saleId), 'three units held by the dead purchases').toBe(stock - 3);

  // The reconciler comes up after the "crash", as a restarted compensator would.
  compensator = await startTestCompensator(env);
  await waitFor(
    async () =>
      (await probe.inflightCount(saleId)) === 0 && (await gate.remaining(saleId)) === stock,
    { timeoutMs: 20_000, intervalMs: 100, what: 'every dead purchase settled, units back' },
  );
  await expectSettled(
    saleId,
    [afterHome, afterRetarget, afterTake, takenAtHome, halfReleased],
    [afterHomeBuyer, afterRetargetBuyer, afterTakeBuyer, takenAtHomeBuyer],
  );

  // The buyers of the dead purchases, and a crowd, buy the whole stock.
  const names = [
    afterHomeBuyer,
    afterRetargetBuyer,
    afterTakeBuyer,
    takenAtHomeBuyer,
    midRelease,
    ...Array.from({ length: 60 }, (_, i) => `crowd-${i}`),
  ];
  const answers = await buyTwiceEach(saleId, names);
  expect(groupByStatus(answers)['202']).toHaveLength(stock);
  const result = await assertOracle(env, saleId, answers);
  expect(result.confirmedUnits).toBe(stock);

  await expectLostTakeRepaired(saleId, shards, answers);
});

// Each buyer presses buy twice, 64 requests at a time.
function buyTwiceEach(saleId: number, names: string[]): Promise<Answer[]> {
  return pool(
    names.flatMap((buyer) =>
      [0, 1].map(() => async (): Promise<Answer> => {
        const answer = await buyers.purchase(saleId, buyer);
        return { status: answer.status, orderId: answer.body?.orderId, buyer, quantity: 1 };
      }),
    ),
    64,
  );
}

async function expectLostTakeRepaired(saleId: number, shards: number, answers: Answer[]) {
  // A shard that lost a take (an older AOF): a confirmed order's unit is back in the shard's
  // remaining and gone from its ledger. The shard agrees with its own ledger; only the sum
  // against PostgreSQL shows it, and the order must take its unit again.
  const lost = answers.find((a) => a.status === 202)!;
  const lostShard = (await gate.reservationShards(saleId, [lost.orderId!]))[0]!.shard!;
  const shardKeysOfLost = shardKeys(env.config.redis.prefix, saleId, lostShard, shards);
  await redis
    .multi()
    .hdel(shardKeysOfLost.ledger, lost.orderId!)
    .hincrby(shardKeysOfLost.units, 'remaining', 1)
    .exec();
  expect(await gate.remaining(saleId), 'a unit sold twice if nothing repairs it').toBe(1);
  await waitFor(async () => (await gate.remaining(saleId)) === 0, {
    timeoutMs: 20_000,
    what: 'the confirmed order to take its unit again',
  });
  await assertOracle(env, saleId, answers);
}

// Each dead purchase released, its buyer's allowance back, the stranded unit repaired.
async function expectSettled(saleId: number, orders: string[], buyersOf: string[]) {
  for (const orderId of orders) {
    const reservation = await gate.reservation(saleId, orderId);
    expect(reservation?.state, `${orderId} released`).toBe('released');
  }
  for (const buyer of buyersOf) {
    expect(await probe.heldBy(saleId, buyer), `${buyer}'s allowance back`).toBe(0);
  }
  expect(
    await metric(compensator.metricsPort, 'flashline_reconciler_repairs_total'),
    'the stranded unit was given back by a repair',
  ).toBeGreaterThan(0);
}
