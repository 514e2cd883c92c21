// npx tsx bench/connect-burst.ts [seconds=4] [connections=1000] [rate=12000]
// Where the first second's tail of (h)'s 3x run comes from: a crowd of connections opening at
// once, each sending at once, against (1) the bare Hono route and (2) the API with its
// admission limit at 1, so that nearly every purchase is refused in the front door (no JWT,
// no body, no Redis). Both answers are about as cheap; if both show the same first-second tail,
// it is the connections opening (Node accepting them, the load generator making them), not the
// purchase path. Prints latency by status for the whole run and after its first second.
import { createBenchEnv } from './env.js';
import { spawnProcess, type Child } from './processes.js';
import { load } from './load.js';
import { LatencyByStatus } from './latency-by-status.js';
import { signBuyerToken } from '../src/auth/jwt.js';

const seconds = Number(process.argv[2] ?? 4);
const connections = Number(process.argv[3] ?? 1_000);
const rate = Number(process.argv[4] ?? 12_000);
const log = (message: string) => process.stdout.write(`[burst] ${message}\n`);

const env = await createBenchEnv('burst');
const children: Child[] = [];
try {
  const bare = await spawnProcess('bare', 'bench/bare-server.ts', { env: env.env });
  children.push(bare);
  const api = await spawnProcess('api', 'src/cmd/api.ts', {
    env: {
      ...env.env,
      ADMISSION_INITIAL_LIMIT: '1',
      ADMISSION_MIN_LIMIT: '1',
      ADMISSION_MAX_LIMIT: '1',
    },
    portVariable: 'PORT',
  });
  children.push(api);
  const tokens = Array.from({ length: 1_000 }, (_, i) =>
    signBuyerToken(`buyer-${i}`, env.config.jwt.secret),
  );
  // Twice each: the second round meets processes already warm (compiled, heap grown), so what
  // remains of the first second's tail there is the connections opening.
  for (const [name, port, status] of [
    ['bare route, cold', bare.port, 409],
    ['API, limit 1, cold', api.port, 503],
    ['bare route, warm', bare.port, 409],
    ['API, limit 1, warm', api.port, 503],
  ] as const) {
    const latency = new LatencyByStatus();
    const run = await load({
      baseUrl: `http://127.0.0.1:${port}`,
      path: '/sales/1/purchase',
      tokens,
      rotate: true,
      connections,
      seconds,
      overallRate: rate,
      onLatency: latency.record,
    });
    const whole = latency.summary(status);
    const steady = latency.summaryAfter(status, 1_000);
    log(
      `${name}: ${Math.round(run.rate(status))} ${status}/s; whole run p50 ${whole.p50} p99 ${whole.p99} max ${whole.max} ms; ` +
        `after the first second p50 ${steady.p50} p99 ${steady.p99} max ${steady.max} ms; ${JSON.stringify(run.byStatus)}`,
    );
  }
} finally {
  for (const child of children.reverse()) await child.stop();
  await env.cleanup();
}
process.exit();
