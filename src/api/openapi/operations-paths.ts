import { z } from '@hono/zod-openapi';
import { errors, json, type Registry } from './describe.js';

const checks = z.object({ redis: z.boolean(), postgres: z.boolean(), rabbitmq: z.boolean() });
const text = (description: string, type: string) => ({
  description,
  content: { [type]: { schema: { type: 'string' as const } } },
});

// Probes and metrics (src/api/routes/health.ts, app.ts) and this description itself.
export function describeOperations(registry: Registry) {
  registry.registerPath({
    method: 'get',
    path: '/healthz',
    tags: ['operations'],
    summary: 'Liveness: 200 while the process runs',
    responses: { 200: json('alive', z.object({ status: z.literal('ok') })) },
  });
  registry.registerPath({
    method: 'get',
    path: '/readyz',
    tags: ['operations'],
    summary: 'Readiness: 200 only when Redis, RabbitMQ and PostgreSQL answer',
    responses: {
      200: json('ready', z.object({ status: z.literal('ready'), checks })),
      ...errors({ 503: 'UNAVAILABLE, with the checks beside the error' }),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/metrics',
    tags: ['operations'],
    summary: 'Prometheus metrics',
    responses: { 200: text('the text exposition format', 'text/plain') },
  });
  registry.registerPath({
    method: 'get',
    path: '/openapi.json',
    tags: ['operations'],
    summary: 'This document (OpenAPI 3.1)',
    responses: { 200: { description: 'the document', content: { 'application/json': {} } } },
  });
  registry.registerPath({
    method: 'get',
    path: '/docs',
    tags: ['operations'],
    summary: 'An interactive reference of this document (Scalar)',
    responses: { 200: text('the page', 'text/html') },
  });
}
