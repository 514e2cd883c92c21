import { getRequestListener } from '@hono/node-server';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ApiMetrics } from '../observability/metrics.js';
import { tracingEnabled } from '../observability/tracing.js';
import { createApp, maxBodyBytes } from './app.js';
import { withEdge, type EdgeOptions } from './edge.js';
import { answerRecorder, type RecordAnswer } from './middleware/http-metrics.js';
import type { ApiDeps } from './deps.js';
import { purchaseFrontDoor } from './purchase-front.js';
import { pollFrontDoor } from './poll-front.js';
import { joinFrontDoor } from './join-front.js';

// The purchase's front door, the poll's and the join's, chosen by the request's method and
// path. With tracing on, sold-out answers, polls and joins are the app's, so each still has its
// server span; the purchase's front door then only admits.
function frontDoors(deps: ApiDeps, metrics: ApiMetrics, recordAnswer: RecordAnswer) {
  const traced = tracingEnabled();
  const purchase = purchaseFrontDoor({
    saleCache: traced ? undefined : deps.saleCache,
    admission: deps.admission,
    roomSale: (saleId) => deps.proofOfWorkSales.cached(saleId)?.room === true,
    metrics,
    recordAnswer,
  });
  if (traced) return purchase;
  const poll = pollFrontDoor({ buyers: deps.buyers, rooms: deps.rooms, metrics, recordAnswer });
  const join = joinFrontDoor({ ...deps, metrics, recordAnswer });
  // A purchase the purchase's door lets through to the app costs no look at the join's path.
  const front: EdgeOptions['front'] = (incoming, outgoing, started, reply) => {
    if (incoming.method === 'GET') return poll(incoming, started, reply);
    if (incoming.url?.endsWith('/queue')) return join(incoming, started, reply);
    return purchase(incoming, outgoing, started, reply);
  };
  return front;
}

export type ServedApi = { port: number; close: () => Promise<void> };

// Listens on HOST:PORT with the app behind its edge: the body limit, the front door that
// admits purchases (and answers sold-out ones) before the app reads them, and the one that
// answers a room's steady polls.
export async function serveApi(
  deps: ApiDeps,
  registry: Registry,
  metrics: ApiMetrics,
): Promise<ServedApi> {
  const { config } = deps;
  const recordAnswer = answerRecorder(metrics);
  const app = createApp(deps, registry, metrics, recordAnswer);
  const edge = {
    maxBodyBytes,
    onTooLarge: (method: string, seconds: number) => recordAnswer('*', method, 413, seconds),
    front: frontDoors(deps, metrics, recordAnswer),
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
