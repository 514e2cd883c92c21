import { amqpNodeUrls } from '../config.js';

// AMQP_URL names one RabbitMQ node or several of one cluster, comma-separated:
// `amqp://u:p@rabbit-1:5672/v,amqp://u:p@rabbit-2:5672/v`. A process connects to the first
// and, when it loses that node, to the next (docs/operations.md, RabbitMQ cluster).

export class AmqpUrlError extends Error {
  override readonly name = 'AmqpUrlError';
}

// Heartbeats find a node that vanished without closing its sockets (a host lost, a partition);
// RabbitMQ's guide advises 5 to 20 seconds, and the broker's own offer is 60.
export const defaultHeartbeatSeconds = 10;

export function parseAmqpUrls(list: string): string[] {
  let urls: URL[];
  try {
    urls = amqpNodeUrls(list);
  } catch (error) {
    throw new AmqpUrlError((error as Error).message);
  }
  return urls.map((url) => {
    if (!url.searchParams.has('heartbeat')) {
      url.searchParams.set('heartbeat', String(defaultHeartbeatSeconds));
    }
    return url.toString();
  });
}

// host:port/vhost, for logs: never the credentials.
export function redact(url: string): string {
  try {
    const { protocol, host, pathname } = new URL(url);
    return `${protocol}//${host}${pathname}`;
  } catch {
    return '(unparseable)';
  }
}
