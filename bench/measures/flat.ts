import { load } from '../load.js';
import { rawConfirmedPublishes } from '../ceilings.js';
import {
  bareTarget,
  connections,
  flatOut,
  log,
  measured,
  plan,
  summary,
  type Bench,
} from './context.js';

// (a) the bare Hono route flat out, and (a') raw confirmed publishes: the ceilings of the
// front and of RabbitMQ on this machine.
export async function flatCeilings(bench: Bench) {
  log('(a) bare Hono route, flat out');
  const bareFlat = await measured(bench, '(a)', () =>
    load({
      ...flatOut,
      baseUrl: bareTarget(bench),
      path: '/sales/1/purchase',
      tokens: bench.tokens,
      rotate: false,
    }),
  );
  log("(a') raw confirmed publishes through amqplib");
  const rawPublishes = await measured(bench, "(a')", () =>
    rawConfirmedPublishes(bench.env.config.amqp.url, connections, plan.seconds),
  );
  return {
    bareFlat: summary(bareFlat, 409),
    rawPublishesPerSecond: Math.round(rawPublishes),
  };
}
