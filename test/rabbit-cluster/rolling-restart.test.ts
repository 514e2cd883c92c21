import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { sellingSince, wholeQueue } from '../support/rabbit-cluster-sale.js';
import { faultMidSale, openClusterSale, useRabbitCluster } from '../support/rabbit-fault.js';
import { buyersNamed, shopInBackground } from '../support/buyers.js';

// Issue #26, item 3: every node restarted, one at a time, while orders flow, the way
// RabbitMQ's upgrade guide has it: a node is stopped only once no quorum queue needs it for
// its majority (`rabbitmq-queues check_if_node_is_quorum_critical`), and started again before
// the next. The sale never stops: each process moves off the node being restarted.
describe('RabbitMQ cluster: a rolling restart of all three nodes mid-sale', () => {
  const suite = useRabbitCluster('rmq-rolling');

  it('sells while each node is down and after it is back, and loses nothing', async () => {
    const { cluster, nodes } = suite;
    const { api, saleId, nothingLost } = await openClusterSale(
      suite,
      {
        api: [nodes[0], nodes[1], nodes[2]],
        bridge: [nodes[1], nodes[2], nodes[0]],
        worker: [nodes[2], nodes[0], nodes[1]],
        compensator: [nodes[0], nodes[2], nodes[1]],
      },
      { sku: 'rmq-rolling', name: 'Rolling', stock: 400 },
    );

    const shoppers = shopInBackground(api, saleId, buyersNamed('buyer', 500), { admit: 60 });
    await faultMidSale([shoppers], { accepted: 30, what: 'the sale under way' }, async () => {
      for (const node of nodes) {
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
    });

    const status = await wholeQueue(cluster);
    expect(status.members, 'the queue kept its three members').toHaveLength(3);
    await nothingLost(shoppers.answers);
  }, 240_000);
});
