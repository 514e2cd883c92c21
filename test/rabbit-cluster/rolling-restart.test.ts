import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type TestEnv } from '../support/env.js';
import { client } from '../support/system.js';
import { killAll } from '../support/processes.js';
import {
  startRabbitCluster,
  type RabbitCluster,
  type RabbitNode,
} from '../support/rabbit-cluster.js';
import {
  createClusterEnv,
  declareThrough,
  expectNothingLost,
  expectRunning,
  sellingSince,
  spawnOnNodes,
  wholeQueue,
} from '../support/rabbit-cluster-sale.js';
import { buyersNamed, shopInBackground } from '../support/buyers.js';

// Issue #26, item 3: every node restarted, one at a time, while orders flow, the way
// RabbitMQ's upgrade guide has it: a node is stopped only once no quorum queue needs it for
// its majority (`rabbitmq-queues check_if_node_is_quorum_critical`), and started again before
// the next. The sale never stops: each process moves off the node being restarted.
describe('RabbitMQ cluster: a rolling restart of all three nodes mid-sale', () => {
  let cluster: RabbitCluster;
  let env: TestEnv;

  beforeAll(async () => {
    cluster = await startRabbitCluster(3);
    env = await createClusterEnv('rmq-rolling', cluster);
  });
  afterAll(async () => {
    await killAll();
    await env?.cleanup();
    await cluster?.stop();
  });

  it('sells while each node is down and after it is back, and loses nothing', async () => {
    const [n1, n2, n3] = cluster.nodes as [RabbitNode, RabbitNode, RabbitNode];
    await declareThrough(env, n1);
    const pipeline = await spawnOnNodes(env, cluster, {
      api: [n1, n2, n3],
      bridge: [n2, n3, n1],
      worker: [n3, n1, n2],
      compensator: [n1, n3, n2],
    });
    const api = client(pipeline.baseUrl, env);
    const stock = 400;
    const saleId = (await api.createSale({ sku: 'rmq-rolling', name: 'Rolling', stock })).body
      .id as number;

    const shoppers = shopInBackground(api, saleId, buyersNamed('buyer', 500), { admit: 60 });
    try {
      await waitFor(async () => shoppers.accepted() >= 30, { what: 'the sale under way' });
      for (const node of [n1, n2, n3]) {
        await waitFor(
          () =>
            node.queues('check_if_node_is_quorum_critical').then(
              () => true,
              () => false,
            ),
          { timeoutMs: 60_000, intervalMs: 500, what: `${node.name} not quorum critical` },
        );
        await node.stop();
        const stoppedAt = Date.now();
        shoppers.admit(50);
        await sellingSince(shoppers.answers, stoppedAt, `while ${node.name} is down`);
        await node.start();
        await wholeQueue(cluster);
        const backAt = Date.now();
        shoppers.admit(50);
        await sellingSince(shoppers.answers, backAt, `after ${node.name} is back`);
      }
      shoppers.admit();
      await shoppers.done();
    } finally {
      await shoppers.stop();
    }

    const status = await wholeQueue(cluster);
    expect(status.members, 'the queue kept its three members').toHaveLength(3);
    await expectNothingLost(env, saleId, shoppers.answers, stock);
    const { bridge, worker, compensator } = pipeline;
    expectRunning([pipeline.api, bridge, worker, compensator]);
  }, 240_000);
});
