import { load } from '../load.js';
import { createSale } from '../sale.js';
import {
  apiTarget,
  apiUrl,
  connections,
  log,
  measured,
  plan,
  watchConfirmed,
  type Bench,
} from './context.js';

// (f) a sell-out to distinct buyers, from a quiet system: every order accepted so far
// confirmed first, then the time from the last 202 to the last confirmed order.
export async function sellout(bench: Bench, bigSale: number, acceptedSoFar: number) {
  await watchConfirmed(bench.db, bigSale, () => acceptedSoFar);
  log(`(f) sell-out of ${plan.selloutStock} units to ${plan.selloutBuyers} distinct buyers`);
  const { adminToken } = bench.env.config.auth;
  const saleId = await createSale(apiUrl(bench), adminToken, 'bench-sellout', plan.selloutStock);
  let accepted = 0;
  let lastAcceptedAt = 0;
  let loadDone = false;
  const startedAt = performance.now();
  const confirmed = watchConfirmed(bench.db, saleId, () => (loadDone ? accepted : null));
  const result = await measured(bench, '(f)', () =>
    load({
      baseUrl: apiTarget(bench),
      path: `/sales/${saleId}/purchase`,
      tokens: bench.tokens,
      rotate: true,
      connections,
      amount: plan.selloutBuyers,
      onResponse: (status) => {
        if (status !== 202) return;
        accepted += 1;
        lastAcceptedAt = performance.now();
      },
    }),
  );
  loadDone = true;
  const allConfirmed = await confirmed;
  return {
    stock: plan.selloutStock,
    buyers: plan.selloutBuyers,
    accepted,
    byStatus: result.byStatus,
    lastAcceptedMs: Math.round(lastAcceptedAt - startedAt),
    allConfirmedMs: Math.round(allConfirmed.at - startedAt),
    confirmedAfterLastAcceptedMs: Math.round(allConfirmed.at - lastAcceptedAt),
  };
}
