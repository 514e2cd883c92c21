import { afterAll, beforeAll, describe, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../support/env.js';
import { client, startSystem, type Client, type System } from '../support/system.js';
import { stopRedisServers } from '../support/redis-servers.js';
import { startRedisCluster } from '../support/redis-cluster.js';
import { restockAndTakeBack, takeBackUnderFire } from '../support/stock-changes.js';

// PATCH stock on a Redis Cluster of three masters of the test's own, with REDIS_URL pointing
// nowhere: a sale over shards has them on different masters, so a change is one script per
// master and slot (src/gate/changes.ts).
describe('units added and taken back on a Redis Cluster', () => {
  let env: TestEnv;
  let sut: System;
  let api: Client;

  beforeAll(async () => {
    const cluster = await startRedisCluster(3);
    env = await createTestEnv('cluster-stock', {
      REDIS_CLUSTER_NODES: cluster.nodes,
      REDIS_URL: 'redis://127.0.0.1:1/0',
    });
    sut = await startSystem(env);
    api = client(sut.baseUrl, env);
  });
  afterAll(async () => {
    await sut?.stop();
    await stopRedisServers();
    await env?.cleanup();
  });

  it('takes back and adds units of a sale without shards and of one over 6 shards', async () => {
    await restockAndTakeBack(api, env, 'cl-stock-plain', 1);
    await restockAndTakeBack(api, env, 'cl-stock-sharded', 6);
  });

  it('takes back units while a crowd buys, over 6 shards', async () => {
    await takeBackUnderFire(api, env, 'cl-stock-race', 6);
  });
});
