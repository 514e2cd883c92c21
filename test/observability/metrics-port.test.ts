import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import {
  MetricsPortBusyError,
  metricsPortChoice,
  serveMetrics,
} from '../../src/observability/metrics-server.js';

const host = '127.0.0.1';
const servers: Server[] = [];

async function occupy(port: number): Promise<number> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
  );
});

describe('metrics ports', () => {
  it('lets default ports move, never onto another process, and keeps set ports fixed', () => {
    const defaults = loadConfig({});
    expect(metricsPortChoice(defaults, 'worker')).toEqual({
      port: 9102,
      searchUpTo: 20,
      avoid: [3000, 9101, 9103, 9104],
    });
    expect(metricsPortChoice(defaults, 'bridge')).toMatchObject({ port: 9101, searchUpTo: 20 });
    const explicit = loadConfig({ WORKER_PORT: '9102', COMPENSATOR_PORT: '9200' });
    expect(metricsPortChoice(explicit, 'worker')).toMatchObject({ port: 9102, searchUpTo: 0 });
    expect(metricsPortChoice(explicit, 'compensator')).toMatchObject({ port: 9200, searchUpTo: 0 });
    expect(metricsPortChoice(loadConfig({ WORKER_PORT: '0' }), 'worker').searchUpTo).toBe(0);
  });

  it('takes the next free port that no other process owns when the default is busy', async () => {
    const busy = await occupy(0);
    const registry = new Registry();
    const sut = await serveMetrics(registry, host, {
      port: busy,
      searchUpTo: 20,
      avoid: [busy + 1],
    });
    servers.push(sut.server);
    expect(sut.port).toBeGreaterThan(busy + 1);
    expect(sut.port).toBeLessThanOrEqual(busy + 20);
    const response = await fetch(`http://${host}:${sut.port}/healthz`);
    expect(response.status).toBe(200);
  });

  it('refuses to start on a busy port that was set explicitly', async () => {
    const busy = await occupy(0);
    await expect(serveMetrics(new Registry(), host, busy)).rejects.toBeInstanceOf(
      MetricsPortBusyError,
    );
  });
});
