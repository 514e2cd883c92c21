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
  const entries = list.split(',').map((entry) => entry.trim());
  const urls = entries.map((entry) => {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new AmqpUrlError(`not a URL: ${JSON.stringify(redact(entry))}`);
    }
    if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:') {
      throw new AmqpUrlError(`not an amqp:// or amqps:// URL: ${redact(entry)}`);
    }
    if (!url.searchParams.has('heartbeat')) {
      url.searchParams.set('heartbeat', String(defaultHeartbeatSeconds));
    }
    return url;
  });
  // The nodes of one cluster serve the same vhost: a list naming two is a mistake.
  const vhosts = new Set(urls.map(vhostOf));
  if (vhosts.size > 1) {
    throw new AmqpUrlError(`the nodes name different vhosts: ${[...vhosts].join(' ')}`);
  }
  return urls.map((url) => url.toString());
}

// As amqplib reads it: the path without its slash, unescaped; none is `/`.
export function vhostOf(url: URL): string {
  return decodeURIComponent(url.pathname.slice(1)) || '/';
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
