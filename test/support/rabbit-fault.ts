import { afterAll, beforeAll } from 'vitest';
import { waitFor, type TestEnv } from './env.js';
import { client } from './system.js';
import { killAll, type Child } from './processes.js';
import type { Answer } from './oracle.js';
import { startRabbitCluster, type RabbitCluster, type RabbitNode } from './rabbit-cluster.js';
import {
  createClusterEnv,
  declareThrough,
  expectNothingLost,
  expectRunning,
  spawnOnNodes,
  type Procs,
} from './rabbit-cluster-sale.js';
import type { shopInBackground } from './buyers.js';

// The shape every test of test/rabbit-cluster/ shares: three nodes of the file's own, a sale
// on a pipeline spread over them, a fault once the sale is under way, and the buyers let
// finish after it.

export type ClusterSuite = {
  cluster: RabbitCluster;
  env: TestEnv;
  nodes: [RabbitNode, RabbitNode, RabbitNode];
};

// Starts a cluster of three and an environment on it before the file's (or describe's) tests,
// and stops both, with every process the tests spawned, after them. The fields are set once
// the tests run.
export function useRabbitCluster(name: string): ClusterSuite {
  const suite = {} as ClusterSuite;
  beforeAll(async () => {
    suite.cluster = await startRabbitCluster(3);
    suite.env = await createClusterEnv(name, suite.cluster);
    suite.nodes = suite.cluster.nodes as ClusterSuite['nodes'];
  });
  afterAll(async () => {
    await killAll();
    await suite.env?.cleanup();
    await suite.cluster?.stop();
  });
  return suite;
}

// Declares the topology through the first node (so the order queue's leader is there), runs
// `declared` (a test's look at the fresh queues, or more processes of its own), spawns the
// pipeline in `order` and creates the sale through its API. `nothingLost` is the end of every
// such test: expectNothingLost on the sale, and every process of the pipeline (and `more`)
// still running.
export async function openClusterSale<T = void>(
  { cluster, env, nodes }: ClusterSuite,
  order: Record<Procs, RabbitNode[]>,
  sale: { sku: string; name: string; stock: number },
  declared?: () => Promise<T>,
) {
  await declareThrough(env, nodes[0]);
  const extra = await declared?.();
  const pipeline = await spawnOnNodes(env, cluster, order);
  const api = client(pipeline.baseUrl, env);
  const saleId = (await api.createSale(sale)).body.id as number;
  const nothingLost = async (answers: Answer[], more: Child[] = []) => {
    await expectNothingLost(env, saleId, answers, sale.stock);
    const { bridge, worker, compensator } = pipeline;
    expectRunning([pipeline.api, ...more, bridge, worker, compensator]);
  };
  return { pipeline, api, saleId, extra: extra as T, nothingLost };
}

type Shoppers = ReturnType<typeof shopInBackground>;

// Once every group of shoppers has `underWay` orders accepted, runs `fault` (which lets the
// rest of the buyers in as it sees fit), then waits for every buyer's final answer. The
// shoppers are stopped whatever happens.
export async function faultMidSale(
  shoppers: Shoppers[],
  underWay: { accepted: number; what: string },
  fault: () => Promise<void>,
): Promise<void> {
  try {
    await waitFor(async () => shoppers.every((s) => s.accepted() >= underWay.accepted), {
      what: underWay.what,
    });
    await fault();
    await Promise.all(shoppers.map((s) => s.done()));
  } finally {
    await Promise.all(shoppers.map((s) => s.stop()));
  }
}
