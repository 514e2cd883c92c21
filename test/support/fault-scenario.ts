import { afterAll, expect } from 'vitest';
import { createTestEnv, type TestEnv } from './env.js';
import { client, type Client } from './system.js';
import { settleFast, spawnPipeline, stopEverything } from './failures.js';
import type { RedisLossSale } from './redis-loss.js';
import { onCluster } from './redis-cluster.js';

// What the fault tests of test/failures/, test/sharded/ and test/cluster/ open before they
// break something: an environment of their own with the pipeline as child processes, a client
// of its API, and a sale that must exist before the fault. The environment, every child and
// every server of the file are stopped after the file, as stopEverything does.

export type Opened = {
  env: TestEnv;
  sut: Awaited<ReturnType<typeof spawnPipeline>>;
  api: Client;
};

// Call once at the top of a test file: it registers the file's afterAll.
export function faultScenario() {
  let env: TestEnv | undefined;
  afterAll(() => stopEverything(env));
  // `vars` make the environment; `overrides` go to the processes only (spawnPipeline).
  const open = async (
    name: string,
    vars: Record<string, string>,
    overrides: Record<string, string> = {},
  ): Promise<Opened> => {
    env = await createTestEnv(name, vars);
    const sut = await spawnPipeline(env, overrides);
    return { env, sut, api: client(sut.baseUrl, env) };
  };
  return {
    open,
    // On a Redis server of the test's own, with the short repair timings; `extra` comes last,
    // so it may lengthen one of them.
    onRedis: (name: string, redisUrl: string, extra: Record<string, string> = {}) =>
      open(name, { REDIS_URL: redisUrl, ...settleFast, ...extra }),
    // On a Redis Cluster of the test's own (nothing listens at REDIS_URL's port 1).
    onCluster: (name: string, nodes: string, extra: Record<string, string> = {}) =>
      open(name, { ...onCluster({ nodes }), ...settleFast, ...extra }),
  };
}

export type SaleFields = {
  sku: string;
  name: string;
  stock: number;
  perUserLimit?: number;
  shards?: number;
  paymentWindowSeconds?: number;
};

// Creates the sale and insists on its 201: a sale refused fails here, with the API's answer,
// and not later as a puzzling purchase.
export async function createdSale(api: Client, fields: SaleFields): Promise<number> {
  const created = await api.createSale(fields);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.id as number;
}

// A sale of two units a buyer for runRedisLoss; `extra` adds shards, a gap, the oracle's Redis.
export async function lossSale(
  { env, sut, api }: Opened,
  [sku, name]: [string, string],
  stock: number,
  extra: Pick<SaleFields, 'shards'> & Pick<RedisLossSale, 'gapMs' | 'oracle'> = {},
): Promise<RedisLossSale> {
  const { shards, ...rest } = extra;
  const fields = { sku, name, stock, perUserLimit: 2, ...(shards ? { shards } : {}) };
  const saleId = await createdSale(api, fields);
  return { env, api, worker: sut.worker, saleId, stock, ...rest };
}
