import { load } from '../load.js';
import { createSale } from '../sale.js';
import { apiTarget, apiUrl, flatOut, log, measured, summary, type Bench } from './context.js';

// (b) the purchase accepted path flat out, before the bridge and the worker run: the orders
// it accepts wait in RabbitMQ for (e).
export async function acceptedFlat(bench: Bench) {
  log('(b) purchase accepted path, flat out (bridge and worker not started yet)');
  const bigSale = await createSale(
    apiUrl(bench),
    bench.env.config.auth.adminToken,
    'bench-accepted',
    10_000_000,
    1_000,
  );
  const accepted = await measured(bench, '(b)', () =>
    load({
      ...flatOut,
      baseUrl: apiTarget(bench),
      path: `/sales/${bigSale}/purchase`,
      tokens: bench.tokens,
      rotate: true,
    }),
  );
  return { bigSale, backlog: accepted.byStatus['202'] ?? 0, acceptedFlat: summary(accepted, 202) };
}
