import { loadAtRate } from '../load.js';
import { quantilesBetween, scrapeBuckets } from '../prom-histogram.js';
import {
  apiTarget,
  apiUrl,
  bareTarget,
  connections,
  log,
  measured,
  plan,
  summary,
  type Bench,
} from './context.js';

const confirmMetric = 'flashline_publish_confirm_duration_seconds';

// (d) fixed offered rates: the bare route against the sold-out path at 10,000/s, and against
// the accepted path at 2,000/s, with the API's own publish-to-confirm histogram.
export async function fixedRates(bench: Bench, bigSale: number, soldOutSale: number) {
  log('(d) fixed offered rates');
  const fixed = (baseUrl: string | string[], path: string, rate: number, rotate: boolean) =>
    loadAtRate({ baseUrl, path, tokens: bench.tokens, rotate }, rate, plan.seconds, connections);
  const bareAt10k = await fixed(bareTarget(bench), '/sales/1/purchase', 10_000, false);
  const soldOutAt10k = await measured(bench, '(d) sold out @10k', () =>
    fixed(apiTarget(bench), `/sales/${soldOutSale}/purchase`, 10_000, false),
  );
  const bareAt2k = await fixed(bareTarget(bench), '/sales/1/purchase', 2_000, false);
  const metrics = `${apiUrl(bench)}/metrics`;
  const confirmsBefore = await scrapeBuckets(metrics, confirmMetric);
  const acceptedAt2k = await measured(bench, '(d) accepted @2k', () =>
    fixed(apiTarget(bench), `/sales/${bigSale}/purchase`, 2_000, true),
  );
  const [confirmP50, confirmP99] = quantilesBetween(
    confirmsBefore,
    await scrapeBuckets(metrics, confirmMetric),
    [0.5, 0.99],
  ).map((seconds) => (seconds === null ? null : seconds * 1000));
  return {
    acceptedAt2kCount: acceptedAt2k.byStatus['202'] ?? 0,
    bareAt2k: summary(bareAt2k, 409),
    acceptedAt2k: {
      ...summary(acceptedAt2k, 202),
      // The API's own histogram: time from publish to RabbitMQ's confirm, bucket bounds.
      publishConfirmMs: { p50AtMost: confirmP50 ?? null, p99AtMost: confirmP99 ?? null },
    },
    bareAt10k: summary(bareAt10k, 409),
    soldOutAt10k: summary(soldOutAt10k, 409),
  };
}
