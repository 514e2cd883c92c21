import { describe, expect, it } from 'vitest';
import { client } from '../support/system.js';
import { connections, sellingSince, spawnApiOn } from '../support/rabbit-cluster-sale.js';
import { faultMidSale, openClusterSale, useRabbitCluster } from '../support/rabbit-fault.js';
import { buyersNamed, buyOnce, shopInBackground, tally } from '../support/buyers.js';

// Issue #26, item 3: the node leading the order queue is killed -9 mid-sale. One API stays
// connected to another node, so its publishes cross the leader's move on a live channel; the
// other API, the bridge, the worker and the compensator were on the killed node: what they had
// in flight fails (a publish answers 503 and gives its units back) and they move to another.
describe('RabbitMQ cluster: the order queue leader killed -9 mid-sale', () => {
  const suite = useRabbitCluster('rmq-leader-kill');

  it('answers 202 only for orders a quorum holds, elects a new leader and loses nothing', async () => {
    const { cluster, env } = suite;
    const [n1, n2, n3] = suite.nodes;
    const {
      pipeline,
      api: elsewhere,
      saleId,
      extra: onLeader,
      nothingLost,
    } = await openClusterSale(
      suite,
      { api: [n2, n3, n1], bridge: [n1, n2, n3], worker: [n1, n3, n2], compensator: [n1, n2, n3] },
      { sku: 'rmq-leader-kill', name: 'Leader', stock: 300 },
      async () => {
        expect((await cluster.queue('/', 'flashline.orders'))?.leader).toBe(n1.name);
        // The second API, up before the sale is created like the pipeline's own.
        return spawnApiOn(env, cluster, [n1, n3, n2]);
      },
    );

    const shoppers = [
      shopInBackground(elsewhere, saleId, buyersNamed('a', 200), { admit: 60 }),
      shopInBackground(client(onLeader.baseUrl, env), saleId, buyersNamed('b', 200), {
        admit: 60,
      }),
    ];
    const answers = () => shoppers.flatMap((s) => s.answers);
    const underWay = { accepted: 20, what: 'the sale under way through both APIs' };
    await faultMidSale(shoppers, underWay, async () => {
      await n1.kill9();
      const killedAt = Date.now();
      for (const s of shoppers) s.admit();
      for (const s of shoppers) await sellingSince(s.answers, killedAt, 'after the kill');
    });

    const status = await cluster.queue('/', 'flashline.orders');
    expect([n2.name, n3.name], 'a new leader on a surviving node').toContain(status?.leader);
    await nothingLost(answers(), [onLeader.child]);
    expect(connections(pipeline.api), 'the api on a surviving node kept it').toEqual([n2.port]);
    // Every process the killed node served is connected to a surviving one now.
    for (const child of [onLeader.child, pipeline.bridge, pipeline.worker, pipeline.compensator]) {
      const nodes = connections(child);
      expect(nodes[0], `${child.name} started on the leader`).toBe(n1.port);
      expect(nodes.at(-1), `${child.name} moved`).not.toBe(n1.port);
    }
    const late = await buyOnce(elsewhere, saleId, buyersNamed('late', 5));
    expect(tally(late)).toBe(JSON.stringify({ 409: 5 }));
  }, 180_000);
});
