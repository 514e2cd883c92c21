import { load } from '../load.js';
import { createSale } from '../sale.js';
import { apiTarget, apiUrl, flatOut, log, measured, summary, type Bench } from './context.js';

// (c) the purchase sold-out path flat out, on a sale of one unit bought first.
export async function soldOutFlat(bench: Bench) {
  log('(c) purchase sold-out path, flat out');
  const { adminToken } = bench.env.config.auth;
  const soldOutSale = await createSale(apiUrl(bench), adminToken, 'bench-sold-out', 1);
  const path = `/sales/${soldOutSale}/purchase`;
  const target = apiTarget(bench);
  const first = await load({
    baseUrl: target,
    path,
    tokens: bench.tokens,
    rotate: false,
    connections: 1,
    amount: 1,
  });
  if (first.byStatus['202'] !== 1) throw new Error('could not buy the only unit');
  const soldOut = await measured(bench, '(c)', () =>
    load({ ...flatOut, baseUrl: target, path, tokens: bench.tokens, rotate: false }),
  );
  return { soldOutSale, soldOutFlat: summary(soldOut, 409) };
}
