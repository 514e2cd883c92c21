import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { sellingSince, wholeQueue } from '../support/rabbit-cluster-sale.js';
import { faultMidSale, openClusterSale, useRabbitCluster } from '../support/rabbit-fault.js';
import { buyersNamed, shopInBackground, tally } from '../support/buyers.js';

// Issue #26, item 3: two of the three nodes are stopped mid-sale, the leader first. The last
// node holds no majority: it pauses (pause_minority) and no publish can be confirmed, so every
// purchase is answered 503 and gives its units back. A node coming back makes a majority
// again: the queue elects a leader, every process reconnects and the sale goes on.
describe('RabbitMQ cluster: two of three nodes stopped mid-sale', () => {
  const suite = useRabbitCluster('rmq-two-down');

  it('answers 503 without a majority, sells again when a node is back, and loses nothing', async () => {
    const { cluster } = suite;
    const [n1, n2, n3] = suite.nodes;
    const { api, saleId, nothingLost } = await openClusterSale(
      suite,
      // The API's first node comes back last: it sells again through another.
      { api: [n2, n3, n1], bridge: [n1, n2, n3], worker: [n2, n1, n3], compensator: [n3, n1, n2] },
      { sku: 'rmq-two-down', name: 'Minority', stock: 300 },
    );

    const shoppers = shopInBackground(api, saleId, buyersNamed('buyer', 400), { admit: 80 });
    let downAt = 0;
    let restartingAt = 0;
    await faultMidSale([shoppers], { accepted: 40, what: 'the sale under way' }, async () => {
      await n1.stop();
      await n2.stop();
      downAt = Date.now();
      // New buyers keep pressing buy against a cluster with no majority.
      shoppers.admit(30);
      await sleep(4_000);
      restartingAt = Date.now();
      await n1.start();
      const backAt = Date.now();
      shoppers.admit();
      await sellingSince(shoppers.answers, backAt, 'with a majority again');
      await n2.start();
      await wholeQueue(cluster);
    });

    // Asked and answered with one node of three: nothing could be confirmed, so 503.
    const whileDown = shoppers.answers.filter(
      (a) => a.sentAt >= downAt && a.answeredAt <= restartingAt,
    );
    expect(whileDown.length, 'purchases were tried without a majority').toBeGreaterThan(0);
    // By status: the shared tally also names each code.
    expect(tally(whileDown.map(({ status }) => ({ status }))), 'answers without a majority').toBe(
      JSON.stringify({ 503: whileDown.length }),
    );
    await nothingLost(shoppers.answers);
  }, 180_000);
});
