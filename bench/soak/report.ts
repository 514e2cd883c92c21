import type { TestEnv } from '../../test/support/env.js';
import { assertOracle } from '../../test/support/oracle.js';
import { assertPaymentOracle } from '../../test/support/payments.js';
import type { SoakSale } from './sales.js';
import type { Sample } from './samples.js';
import type { Trend } from './trend.js';

// The core oracle of one closed sale (the payment oracle, every window closed, for a sale with
// a payment window), once its orders settle; null when it holds, else what broke.
export async function checkSale(env: TestEnv, sale: SoakSale): Promise<string | null> {
  try {
    if (sale.paymentWindow) {
      await assertPaymentOracle(env, sale.id, sale.answers, {
        timeoutMs: 180_000,
        windowsClosed: true,
      });
    } else {
      await assertOracle(env, sale.id, sale.answers, { timeoutMs: 180_000 });
    }
    return null;
  } catch (error) {
    return `sale ${sale.number} (${sale.id}): ${error instanceof Error ? error.message : String(error)}`;
  }
}

const mb = (bytes: number | undefined) =>
  bytes === undefined || !Number.isFinite(bytes) ? '-' : `${Math.round(bytes / 1024 / 1024)}MB`;

export function minuteLine(
  run: { sales: SoakSale[]; samples: Sample[]; failures: string[]; faultsDone: string[] },
  started: number,
): string {
  const f = run.samples.at(-1)?.figures ?? {};
  const minute = Math.round((Date.now() - started) / 60_000);
  const answers: Record<string, number> = {};
  for (const sale of run.sales) {
    for (const a of sale.answers) answers[a.status] = (answers[a.status] ?? 0) + 1;
  }
  const procs = ['api', 'bridge', 'worker', 'compensator']
    .map(
      (p) =>
        `${p} ${mb(f[`${p}.rss`])}/${mb(f[`${p}.heap`])}/${f[`${p}.handles`] ?? '-'}h/` +
        `${Math.round((f[`${p}.lagP99`] ?? Number.NaN) * 1000)}ms`,
    )
    .join(' ');
  return [
    `min ${minute}: ${run.sales.length} sales, answers ${JSON.stringify(answers)}`,
    `failures ${run.failures.length}, faults ${run.faultsDone.length}`,
    procs,
    `redis ${mb(f['redis.usedMemory'])} ${f['redis.keys'] ?? '-'} keys + ${f['redis.retainedJobs'] ?? '-'} finished jobs`,
    `orders queue ${f['rabbitmq.flashline.orders'] ?? '-'}, amqp conns ${f['rabbitmq.connections'] ?? '-'}`,
    `pg conns ${f['postgres.connections'] ?? '-'}`,
  ].join('; ');
}

export function printTrends(fitted: Trend[], log: (line: string) => void): void {
  if (fitted.length === 0) {
    log('too few samples in the last half for a trend (a run of 8 minutes or more has them)');
    return;
  }
  log('figure: level, per minute over the last half (r²) -> verdict');
  for (const t of fitted) {
    const verdict = t.grows ? 'GROWS' : 'bounded';
    log(
      `${t.figure}: ${t.level.toPrecision(4)}, ${t.perMinute >= 0 ? '+' : ''}${t.perMinute.toPrecision(3)}/min (${t.r2.toFixed(2)}) -> ${verdict}`,
    );
  }
}
