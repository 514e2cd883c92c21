import { getRequestListener } from '@hono/node-server';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ApiMetrics } from '../observability/metrics.js';
import { tracingEnabled } from '../observability/tracing.js';
import { createApp, maxBodyBytes } from './app.js';
import { withEdge, type FrontReply } from './edge.js';
import { answerRecorder } from './middleware/http-metrics.js';
import type { ApiDeps } from './deps.js';
import { purchaseFrontDoor } from './purchase-front.js';
import { queueFrontDoor } from './queue-front.js';

export type ServedApi = { port: number; close: () => Promise<void> };

// Listens on HOST:PORT with the app behind its edge: the body limit, and the front door
// that admits purchases (and answers sold-out ones) before the app reads them.
export async function serveApi(
  deps: ApiDeps,
  registry: Registry,
  metrics: ApiMetrics,
): Promise<ServedApi> {
  const { config, saleCache, admission } = deps;
  const recordAnswer = answerRecorder(metrics);
  const app = createApp(deps, registry, metrics, recordAnswer);
  const purchaseFront = purchaseFrontDoor({
    // With tracing on, sold-out answers are the app's, so each still has its server span; the
    // front door then only admits.
    saleCache: tracingEnabled() ? undefined : saleCache,
    admission,
    metrics,
    recordAnswer,
  });
  // With tracing on, polls are the app's too, each with its span.
  const queueFront = tracingEnabled()
    ? null
    : queueFrontDoor({ rooms: deps.rooms, buyers: deps.buyers, recordAnswer });
  const edge = {
    maxBodyBytes,
    onTooLarge: (method: string, seconds: number) => recordAnswer('*', method, 413, seconds),
    front: (
      incoming: IncomingMessage,
      outgoing: ServerResponse,
      started: number,
      reply: FrontReply,
    ) =>
      purchaseFront(incoming, outgoing, started, reply) ||
      (queueFront?.(incoming, started, reply) ?? false),
  };
  const server = await new Promise<Server>((resolve) => {
    const listener = getRequestListener(app.fetch, { hostname: config.http.host });
    const s = createServer(withEdge(listener, edge));
    s.listen(
      { port: config.http.port, host: config.http.host, backlog: config.api.listenBacklog },
      () => resolve(s),
    );
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      // Stop accepting; requests in flight finish (their publishes are confirmed) first.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
    },
  };
}
