import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { groupByStatus } from '../support/system.js';
import { useSystem } from '../support/use-system.js';
import { buyersNamed, buyOnce } from '../support/buyers.js';
import { assertOracle } from '../support/oracle.js';
import { settleFast, startTestCompensator, type RunningCompensator } from '../support/failures.js';
import { adminOf } from '../support/admin.js';
import { Gate, gateOptions } from '../../src/gate/gate.js';
import { homeOfBuyer } from '../../src/gate/keys.js';
import { createRedis, scanKeys, type RedisClient } from '../../src/redis/connection.js';

// A change holds across Redis loss (the recovery loads the sale as last changed), and across
// the crash windows between PostgreSQL's commit and the gate (docs/sale-changes.md): the
// reconciler applies PostgreSQL's settings where Redis holds others.
// a changed sale across Redis loss and crashes
const system = useSystem('change-recovery', settleFast);
let admin: ReturnType<typeof adminOf>;
let compensator: RunningCompensator;
let redis: RedisClient;
let db: pg.Client;

beforeAll(async () => {
  compensator = await startTestCompensator(system.env);
  admin = adminOf(system.api, system.env);
  redis = createRedis(system.env.config);
  db = new pg.Client({ connectionString: system.env.config.database.url });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  redis?.disconnect();
  await compensator?.stop();
});

const buy = (saleId: number, buyers: string[]) => buyOnce(system.api, saleId, buyers, 8);

// Every key of the sale, its shards' included: as if Redis lost it. The hashes whose absence
// starts the loading go last: deleting them first let the recovery rebuild a buyer's keys
// that this loop then deleted (seen under load: three buyers' held units gone).
const forget = async (saleId: number) => {
  const keys: string[] = [];
  for (const pattern of [`{sale:${saleId}}*`, `{sale:${saleId}:shard:*`]) {
    for await (const batch of scanKeys(redis, `${system.env.config.redis.prefix}:${pattern}`)) {
      keys.push(...batch);
    }
  }
  const startsLoading = (key: string) => key.endsWith(':sale') || key.endsWith(':units');
  for (const key of keys.filter((k) => !startsLoading(k))) await redis.unlink(key);
  for (const key of keys.filter(startsLoading)) await redis.unlink(key);
};

for (const shards of [1, 4]) {
  it(`loads a sale forgotten by Redis back as last changed (${shards} shards)`, async () => {
    const created = await system.api.createSale({
      sku: `forget-${shards}`,
      name: 'F',
      stock: 20,
      shards,
    });
    const saleId = created.body.id as number;
    const first = await buy(saleId, buyersNamed(`f${shards}`, 8));
    await assertOracle(system.env, saleId, first);
    expect((await admin.change(saleId, { stock: 11 })).status).toBe(200);
    expect((await admin.pause(saleId)).status).toBe(200);
    await forget(saleId);
    await waitFor(
      async () => (await system.api.purchase(saleId, 'probe')).body.error?.code === 'SALE_PAUSED',
      { timeoutMs: 20_000, what: 'the sale loaded back, paused' },
    );
    expect((await admin.resume(saleId)).status).toBe(200);
    const rest = await buy(saleId, buyersNamed(`g${shards}`, 6));
    expect(groupByStatus(rest)['202']).toHaveLength(3);
    const result = await assertOracle(system.env, saleId, [...first, ...rest]);
    expect(result).toMatchObject({ confirmedUnits: 11, failed: 0 });
  });
}

it('applies what PostgreSQL committed when the gate missed it, and undoes what it never committed', async () => {
  const created = await system.api.createSale({
    sku: 'crash',
    name: 'Crash',
    stock: 10,
    shards: 2,
  });
  const saleId = created.body.id as number;
  // The API died after its commit, before the gate: paused, 4 units more.
  await db.query('UPDATE sales SET paused = true, stock = stock + 4 WHERE id = $1', [saleId]);
  const gate = new Gate(redis, gateOptions(system.env.config));
  await waitFor(async () => await gate.isPaused(saleId), {
    timeoutMs: 10_000,
    what: 'the reconciler to pause the sale',
  });
  expect((await system.api.purchase(saleId, 'x')).body.error.code).toBe('SALE_PAUSED');
  expect((await system.api.sale(saleId)).body).toMatchObject({ stock: 14, remaining: 14 });
  // The API died after narrowing the gate, before its commit: PostgreSQL never paused it
  // again, nor took units back.
  await db.query('UPDATE sales SET paused = false WHERE id = $1', [saleId]);
  await waitFor(async () => !(await gate.isPaused(saleId)), {
    timeoutMs: 10_000,
    what: 'resumed',
  });
  const narrowed = { saleId, stock: 6, perUserLimit: 1, endsAt: null, paused: true };
  expect(await gate.applySettings(narrowed, { force: false })).toEqual({ kind: 'changed' });
  await waitFor(
    async () => !(await gate.isPaused(saleId)) && (await gate.remaining(saleId)) === 14,
    { timeoutMs: 10_000, what: "the reconciler to apply PostgreSQL's settings" },
  );
  const answers = await buy(saleId, buyersNamed('c', 16));
  expect(groupByStatus(answers)['202']).toHaveLength(14);
  expect(await assertOracle(system.env, saleId, answers)).toMatchObject({
    confirmedUnits: 14,
    failed: 0,
  });
});

// Units taken back from the shard that had them leave the shards off the even split: loaded
// back, each shard gets the units its orders hold plus a share of the rest, so none goes
// below zero while another offers units the sale no longer has.
it('loads a sale over shards back with its shards as changed, not evenly split', async () => {
  const created = await system.api.createSale({ sku: 'uneven', name: 'U', stock: 10, shards: 2 });
  const saleId = created.body.id as number;
  const homedOnZero = buyersNamed('z', 400).filter((buyer) => homeOfBuyer(buyer, 2) === 0);
  const first = await buy(saleId, homedOnZero.slice(0, 5));
  expect(groupByStatus(first)['202']).toHaveLength(5);
  await assertOracle(system.env, saleId, first);
  expect((await admin.change(saleId, { stock: 5 })).status).toBe(200);
  await forget(saleId);
  await waitFor(async () => (await system.api.purchase(saleId, 'probe')).status === 409, {
    timeoutMs: 20_000,
    what: 'the sale loaded back, sold out',
  });
  const late = await buy(saleId, buyersNamed('late', 6));
  expect(groupByStatus(late)['409']).toHaveLength(6);
  const result = await assertOracle(system.env, saleId, [...first, ...late]);
  expect(result).toMatchObject({ confirmedUnits: 5, failed: 0 });
});

// An admin's change between its gate step and its commit (docs/sale-changes.md, step 2):
// the reconciler, seeing Redis narrower than what PostgreSQL committed, waits on the row
// instead of undoing it.
it('never undoes a change whose transaction is still open', async () => {
  const created = await system.api.createSale({ sku: 'open-tx', name: 'Open', stock: 5 });
  const saleId = created.body.id as number;
  const gate = new Gate(redis, gateOptions(system.env.config));
  const admin = new pg.Client({ connectionString: system.env.config.database.url });
  await admin.connect();
  try {
    await admin.query('BEGIN');
    await admin.query('SELECT id FROM sales WHERE id = $1 FOR UPDATE', [saleId]);
    await admin.query('UPDATE sales SET paused = true WHERE id = $1', [saleId]);
    const paused = { saleId, stock: 5, perUserLimit: 1, endsAt: null, paused: true };
    expect(await gate.applySettings(paused, { force: false })).toEqual({ kind: 'changed' });
    // Several reconciler passes (RECONCILE_INTERVAL_MS 500).
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await gate.isPaused(saleId)).toBe(true);
    await admin.query('COMMIT');
  } finally {
    await admin.end();
  }
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  expect(await gate.isPaused(saleId)).toBe(true);
  expect((await system.api.purchase(saleId, 'after')).body.error.code).toBe('SALE_PAUSED');
});
