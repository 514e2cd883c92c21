import { createRequire } from 'node:module';
import path from 'node:path';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import { Queue } from 'bullmq';
import { Hono } from 'hono';
import type { ApiDeps } from './deps.js';
import { requireAdmin } from './middleware/auth.js';
import { routeNotFound } from './api-error.js';
import { bullPrefix, expiryQueueName, orderQueueNames } from '../queues/names.js';
import { scanKeys, type RedisClient } from '../redis/connection.js';

export const adminQueuesPath = '/admin/queues';

// Resolved from the installed package, never from the working directory.
const uiRoot = path.dirname(createRequire(import.meta.url).resolve('@bull-board/ui/package.json'));
const uiStaticRoot = path.join(uiRoot, 'dist', 'static');

// HonoAdapter hands serveStatic a root relative to process.cwd() at start; an absolute root
// keeps the assets loading when the process was started, or later runs, elsewhere.
const serveUiAssets: typeof serveStatic = (options) =>
  serveStatic({ ...options, root: uiStaticRoot });

// A queue exists in Redis as `<prefix>:<name>:meta` once BullMQ has used it (on a cluster, on
// whichever master has its slot: every master is scanned).
export async function discoverQueueNames(redis: RedisClient, prefix: string): Promise<string[]> {
  const names = new Set<string>();
  const pattern = `${prefix}:*:meta`;
  for await (const keys of scanKeys(redis, pattern)) {
    for (const key of keys) {
      const name = key.slice(prefix.length + 1, -':meta'.length);
      // BullMQ queue names never contain ':'; such keys are jobs' or other data.
      if (name && !name.includes(':')) names.add(name);
    }
  }
  return [...names].sort();
}

// Other queues appear on the board at most this long after their first job.
const rediscoverEveryMs = 30_000;

// bull-board behind admin auth (bearer token, or basic `admin:<ADMIN_TOKEN>` so a browser
// prompts), showing every order queue, the expiry queue and every other BullMQ queue under the
// same prefix.
// The queues share the API's Redis connection, so there is nothing extra to close.
// It is an app of its own, which the API hands every request under adminQueuesPath (see
// app.ts): bull-board's routes are of a kind hono's RegExpRouter cannot compile, and merged
// into the API's app they put every route, the purchase first, on the slower TrieRouter.
export function adminQueuesApp(deps: ApiDeps) {
  const prefix = bullPrefix(deps.config);
  const adapter = new HonoAdapter(serveUiAssets).setBasePath(adminQueuesPath);
  const shown = new Set<string>();
  const adapterFor = (name: string) => {
    shown.add(name);
    return new BullMQAdapter(new Queue(name, { connection: deps.redis, prefix }));
  };
  const board = createBullBoard({
    // The payment window's expiry jobs are shown from the start, before the first one exists.
    queues: [...orderQueueNames(deps.config), expiryQueueName].map(adapterFor),
    serverAdapter: adapter,
    options: { uiBasePath: uiRoot, uiConfig: { boardTitle: 'Flashline queues' } },
  });

  let discoveredAt = 0;
  const discover = async () => {
    if (Date.now() - discoveredAt < rediscoverEveryMs) return;
    discoveredAt = Date.now();
    try {
      for (const name of await discoverQueueNames(deps.redis, prefix)) {
        if (!shown.has(name)) board.addQueue(adapterFor(name));
      }
    } catch (error) {
      deps.logger.warn({ err: error }, 'bull-board queue discovery failed');
    }
  };

  const app = new Hono()
    .basePath(adminQueuesPath)
    .use('*', requireAdmin(deps.config.auth.adminToken))
    .use('/api/queues', async (_c, next) => {
      // In the background: the page polls this route, and a scan must not slow it down.
      void discover();
      await next();
    })
    .route('/', adapter.registerPlugin());
  // Answered as the API's other routes are: an error is thrown on to the API's app, whose
  // onError answers it (401 with its challenge, 500 logged).
  app.notFound(routeNotFound);
  app.onError((error) => {
    throw error;
  });
  return app;
}
