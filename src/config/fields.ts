// The building blocks of the settings' schema (src/config.ts): number and list parsers, and
// the checks a variable's value needs before the groups can name it.
import { isIP } from 'node:net';
import { z } from 'zod';

// The most orders one message may hold (maxOrdersPerMessage in src/broker/messages.ts, where
// a longer message is refused as unparseable). Written here too, since config imports nothing
// from the domain; src/config.test.ts checks that the two agree.
export const maxPublishBatch = 10_000;

export const int = (fallback: number, min = 0) =>
  z.coerce.number().int().min(min).default(fallback);
export const ratio = (fallback: number) => z.coerce.number().min(0).max(1).default(fallback);
// Left unset, a metrics port is its default (defaultMetricsPorts) and may move up to the next
// free port; set, it is the operator's choice and must be free (metricsPortChoice).
export const metricsPort = z.coerce.number().int().min(0).max(65_535).optional();
// OpenTelemetry treats an empty variable as unset; so does this schema.
export const unsetWhenEmpty = <T extends z.ZodType>(inner: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), inner.optional());

export const hostPortList = unsetWhenEmpty(
  z
    .string()
    .regex(/^[^,:\s]+:\d{1,5}(,[^,:\s]+:\d{1,5})*$/, 'a list host:port,host:port')
    .transform((list) =>
      list.split(',').map((entry) => {
        const colon = entry.lastIndexOf(':');
        return { host: entry.slice(0, colon), port: Number(entry.slice(colon + 1)) };
      }),
    ),
).transform((list) => list ?? null);

// AMQP_URL: one RabbitMQ node, or several nodes of one cluster, comma-separated, all of one
// vhost (src/broker/urls.ts connects to them; docs/operations.md, RabbitMQ cluster). Throws
// saying what is wrong.
export function amqpNodeUrls(list: string): URL[] {
  const urls = list.split(',').map((entry) => {
    const url = URL.canParse(entry.trim()) ? new URL(entry.trim()) : null;
    if (!url || (url.protocol !== 'amqp:' && url.protocol !== 'amqps:')) {
      throw new Error(`not an amqp:// or amqps:// URL: ${JSON.stringify(entry.trim())}`);
    }
    return url;
  });
  // As amqplib reads it: the path without its slash, unescaped; none is `/`.
  const vhosts = new Set(urls.map((url) => decodeURIComponent(url.pathname.slice(1)) || '/'));
  if (vhosts.size > 1) throw new Error(`the nodes name different vhosts: ${[...vhosts].join(' ')}`);
  return urls;
}

export const amqpUrlList = z
  .string()
  .default('amqp://guest:guest@127.0.0.1:5672/')
  .superRefine((list, ctx) => {
    try {
      amqpNodeUrls(list);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });

// Signature algorithms an identity provider's key set may use: asymmetric only (a shared
// secret is JWT_SECRET's business, and "none" is never one).
export const identityAlgorithms = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
export type IdentityAlgorithm = (typeof identityAlgorithms)[number];
export const defaultAlgorithms: IdentityAlgorithm[] = ['RS256', 'ES256', 'EdDSA'];

export function isCidr(entry: string): boolean {
  const [address = '', bits, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

export const list = (text: string) => text.split(',').map((entry) => entry.trim());

export const defaultMetricsPorts = {
  bridge: 9101,
  worker: 9102,
  compensator: 9103,
  events: 9104,
} as const;
