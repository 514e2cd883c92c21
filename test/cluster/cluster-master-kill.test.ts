import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { waitFor, type TestEnv } from '../support/env.js';
import { groupByStatus, type Client } from '../support/system.js';
import { assertOneOrderPerKey, assertOracle } from '../support/oracle.js';
import { faultScenario } from '../support/fault-scenario.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { saleKeys } from '../../src/gate/keys.js';
import { keepBuying, pressOf } from '../support/buyers.js';

// One master of three is killed -9 mid-sale and started again from its own files (AOF, fsync
// every second, so it may come back a second behind). While it is down, the sale whose slot it
// serves answers 503 and nothing else, and a sale on another master keeps selling; after it is
// back, every 202 of both ends confirmed or failed with its stock returned.
// a Redis Cluster master killed -9 mid-sale
const scenario = faultScenario();

it('answers 503 for its slots only while it is down, and loses no 202', async () => {
  const cluster = await startRedisCluster(3);
  const { env, sut, api } = await scenario.onCluster('cluster-master-kill', cluster.nodes);

  // Two sales on two different masters: the victim serves the first.
  const stock = 3000;
  const { hit, spared, victim } = await salesOnTwoMasters(api, cluster, env, stock);

  const onHit = keepBuying(api, hit, pressOf, { lanes: 3 });
  const onSpared = keepBuying(api, spared, (i) => pressOf(i + 100_000), { lanes: 3 });
  await waitFor(async () => onHit.accepted() >= 50 && onSpared.accepted() >= 50, {
    what: () => `sales under way: ${onHit.tally()} / ${onSpared.tally()}`,
  });

  await victim.kill9();
  const killedAt = Date.now();
  await waitFor(async () => onHit.answers.some((a) => a.sentAt > killedAt && a.status === 503), {
    what: () => `a 503 for the sale on the dead master: ${onHit.tally()}`,
  });
  await waitFor(async () => onSpared.accepted(killedAt + 500) >= 20, {
    what: () => `the other master's sale selling on: ${onSpared.tally()}`,
  });
  await sleep(2_000);
  const restartedAt = Date.now();
  await victim.restart();
  await cluster.healthy();
  // Both the compensator (a repair pass) and the bridge (re-adding held jobs) notice that
  // this master is a new server, which may have come back a second behind.
  for (const child of [sut.compensator, sut.bridge]) {
    const noticed = await waitFor(
      async () => child.logged('redis is a new server; it may have lost state'),
      { what: `${child.name} to notice the restarted master` },
    );
    expect(noticed.node).toBe(`127.0.0.1:${victim.port}`);
  }
  await waitFor(async () => onHit.accepted(Date.now() - 100) > 0 || undefined, {
    timeoutMs: 60_000,
    what: () => `the sale on the restarted master selling again: ${onHit.tally()}`,
  });
  const answersHit = await onHit.stop();
  const answersSpared = await onSpared.stop();

  const whileDown = answersHit.filter((a) => a.sentAt > killedAt && a.answeredAt < restartedAt);
  expect(whileDown.length).toBeGreaterThan(0);
  expect(Object.keys(groupByStatus(whileDown)), "the dead master's sale while it is down").toEqual([
    '503',
  ]);
  const sparedWhileDown = answersSpared.filter(
    (a) => a.sentAt > killedAt && a.answeredAt < restartedAt,
  );
  expect(groupByStatus(sparedWhileDown)['202']?.length ?? 0).toBeGreaterThan(0);
  for (const answers of [answersHit, answersSpared]) {
    const statuses = Object.keys(groupByStatus(answers)).map(Number);
    expect(
      statuses.every((s) => [202, 409, 429, 503].includes(s)),
      statuses.join(),
    ).toBe(true);
  }

  for (const [saleId, answers] of [
    [hit, answersHit],
    [spared, answersSpared],
  ] as const) {
    await assertOracle(env, saleId, answers, { timeoutMs: 90_000 });
    await assertOneOrderPerKey(env, saleId, answers);
  }
});

async function salesOnTwoMasters(api: Client, cluster: RedisCluster, env: TestEnv, stock: number) {
  const masterOfSale = async (id: number) =>
    cluster.masterOf(saleKeys(env.config.redis.prefix, id).sale);
  const hit = (await api.createSale({ sku: 'kill-hit', name: 'Hit', stock })).body.id as number;
  const victim = await masterOfSale(hit);
  let spared = 0;
  for (let i = 0; spared === 0 && i < 40; i++) {
    const id = (await api.createSale({ sku: `kill-spared-${i}`, name: 'Spared', stock })).body
      .id as number;
    if ((await masterOfSale(id)).port !== victim.port) spared = id;
  }
  expect(spared).toBeGreaterThan(0);
  return { hit, spared, victim };
}
