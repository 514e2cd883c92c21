import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { defaultMetricsPorts, type Config } from '../config.js';

export type PortChoice = {
  port: number;
  // How many ports above `port` may be tried when it is busy; 0 means exactly `port`.
  searchUpTo: number;
  // Ports that belong to other Flashline processes: never taken by the search.
  avoid: readonly number[];
};

export class MetricsPortBusyError extends Error {
  override readonly name = 'MetricsPortBusyError';
}

// Far enough for a handful of processes of one kind on one host.
const portSearchWidth = 20;

const roles = ['bridge', 'worker', 'compensator', 'events'] as const;
type Role = (typeof roles)[number];

// A default port moves up to the next free one, skipping the other processes' ports, so a
// second worker on the host does not take the compensator's; a port set in the env never moves.
export function metricsPortChoice(config: Pick<Config, 'http'>, role: Role): PortChoice {
  const portOf = (r: Role) => config.http[`${r}Port`] ?? defaultMetricsPorts[r];
  const port = portOf(role);
  const fixed = config.http[`${role}Port`] !== undefined || port === 0;
  return {
    port,
    searchUpTo: fixed ? 0 : portSearchWidth,
    avoid: [config.http.port, ...roles.map(portOf)].filter((p) => p !== port),
  };
}

function listen(server: Server, port: number, host: string): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (error.code === 'EADDRINUSE') resolve(false);
      else reject(error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(true);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

// The /metrics endpoint of a process that has no HTTP API of its own.
export async function serveMetrics(
  registry: Registry,
  host: string,
  choice: number | PortChoice,
): Promise<{ server: Server; port: number }> {
  const { port, searchUpTo, avoid } =
    typeof choice === 'number' ? { port: choice, searchUpTo: 0, avoid: [] } : choice;
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else {
      res.writeHead(404).end();
    }
  });
  for (let candidate = port; candidate <= Math.min(port + searchUpTo, 65_535); candidate++) {
    if (candidate !== port && avoid.includes(candidate)) continue;
    if (await listen(server, candidate, host)) {
      return { server, port: (server.address() as AddressInfo).port };
    }
  }
  const tried = searchUpTo === 0 ? `${port}` : `${port}-${port + searchUpTo}`;
  throw new MetricsPortBusyError(`metrics port busy on ${host}: tried ${tried}`);
}
