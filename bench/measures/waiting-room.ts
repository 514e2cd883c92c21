import { measureWaitingRoom, settle } from '../waiting-room.js';
import { connections, log, measured, type Bench } from './context.js';

// The room's size in `npm run bench`, whatever the run's: `npm run bench:room` (its own
// processes, 100,000 buyers) is the full measure; here it is the quick one, beside the rest.
const room = { buyers: 10_000, stock: 1_000, seconds: 3 };

// The bare servers' and the API processes' (not the one with admission off) ids.
const processesOf = (bench: Bench) => {
  const pidsNamed = (prefix: string) =>
    bench.children
      .filter((c) => c.name === prefix || c.name.startsWith(`${prefix}-`))
      .filter((c) => c.name !== 'api-unlimited')
      .map((c) => c.child.pid!);
  return { barePids: pidsNamed('bare'), apiPids: pidsNamed('api') };
};

// (i) a waiting room's sell-out (issue 23; bench/waiting-room.ts), on the run's processes.
export async function waitingRoom(bench: Bench) {
  await settle(bench.db);
  log(`(i) waiting room: ${room.buyers} buyers, ${room.stock} units`);
  return measured(bench, '(i)', () =>
    measureWaitingRoom({
      apiUrls: bench.apiUrls,
      bareUrls: bench.bareUrls,
      adminToken: bench.env.config.auth.adminToken,
      redisUrl: bench.env.config.redis.url,
      redisPrefix: bench.env.config.redis.prefix,
      tokens: bench.tokens.slice(0, room.buyers),
      ...processesOf(bench),
      ...room,
      connections,
      log: (message) => log(`(i) ${message}`),
      settle: () => settle(bench.db),
    }),
  );
}
