import { describe, expect, it } from 'vitest';
import { topology } from '../../src/broker/topology.js';
import {
  connections,
  declareThrough,
  sellingSince,
  wholeQueue,
} from '../support/rabbit-cluster-sale.js';
import { faultMidSale, openClusterSale, useRabbitCluster } from '../support/rabbit-fault.js';
import { buyersNamed, shopInBackground } from '../support/buyers.js';

// Issue #26, item 3: a follower of the order queue is stopped mid-sale (`rabbitmqctl stop`)
// and started again. The leader stays where it is; the API and the bridge, connected to the
// stopped node, move to another; the follower rejoins and catches up.
describe('RabbitMQ cluster: a follower stopped mid-sale', () => {
  const suite = useRabbitCluster('rmq-follower-stop');

  it('declares every queue a quorum queue of three replicas, its leader where it was declared', async () => {
    const { cluster, env } = suite;
    const [n1, n2] = suite.nodes;
    await declareThrough(env, n1);
    const listed = await n2.ctl('list_queues', 'name', 'type', 'arguments', 'leader', 'members');
    for (const name of [topology.ordersQueue, topology.deadLetterQueue, topology.parkedQueue]) {
      const line = listed.split('\n').find((l) => l.split('\t')[0] === name) ?? `${name} missing`;
      expect(line, name).toMatch(/\tquorum\t/);
      expect(line, name).toMatch(/x-quorum-initial-group-size[^\d]+3\b/);
      expect(line.split('\t')[3], `${name}'s leader`).toBe(n1.name);
      for (const node of cluster.nodes) expect(line.split('\t')[4], name).toContain(node.name);
    }
  });

  it('keeps selling on the two others, takes the follower back, and loses nothing', async () => {
    const { cluster } = suite;
    const [n1, n2, n3] = suite.nodes;
    const { pipeline, api, saleId, nothingLost } = await openClusterSale(
      suite,
      { api: [n2, n3, n1], bridge: [n2, n1, n3], worker: [n1, n3, n2], compensator: [n3, n1, n2] },
      { sku: 'rmq-follower', name: 'Follower', stock: 300 },
    );

    const shoppers = shopInBackground(api, saleId, buyersNamed('buyer', 400), { admit: 80 });
    const underWay = { accepted: 40, what: 'the sale under way' };
    await faultMidSale([shoppers], underWay, async () => {
      await n2.stop();
      const stoppedAt = Date.now();
      shoppers.admit(80);
      await sellingSince(shoppers.answers, stoppedAt, 'with the follower stopped');
      expect((await cluster.queue('/', 'flashline.orders'))?.leader, 'the leader stayed').toBe(
        n1.name,
      );
      await n2.start();
      const status = await wholeQueue(cluster);
      expect(status.members).toHaveLength(3);
      const backAt = Date.now();
      shoppers.admit();
      await sellingSince(shoppers.answers, backAt, 'with the follower back');
    });

    await nothingLost(shoppers.answers);
    expect(connections(pipeline.api), 'the api moved to the next node').toEqual([n2.port, n3.port]);
    expect(connections(pipeline.bridge), 'the bridge moved to the next node').toEqual([
      n2.port,
      n1.port,
    ]);
  }, 180_000);
});
