import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Context } from 'hono';

// hono/secure-headers' defaults, the same on every answer. Set here, on the Node response,
// they cost a few property writes; set by the Hono middleware after each handler, they turned
// every answer's lightweight Response into a web Headers object: 15 µs of the 98 µs a sold-out
// answer took (bench/layers.ts).
const secureHeaders: ReadonlyArray<readonly [string, string]> = [
  ['cross-origin-opener-policy', 'same-origin'],
  ['cross-origin-resource-policy', 'same-origin'],
  ['origin-agent-cluster', '?1'],
  ['referrer-policy', 'no-referrer'],
  ['strict-transport-security', 'max-age=15552000; includeSubDomains'],
  ['x-content-type-options', 'nosniff'],
  ['x-dns-prefetch-control', 'off'],
  ['x-download-options', 'noopen'],
  ['x-frame-options', 'SAMEORIGIN'],
  ['x-permitted-cross-domain-policies', 'none'],
  ['x-xss-protection', '0'],
];

// A client's id is echoed when it is a short word (what hono/request-id accepts), so a caller
// can follow its own id through our logs; anything else could forge log lines or headers.
const wellFormedRequestId = /^[\w\-=]{1,255}$/;
const requestIdKey = Symbol('flashline.requestId');

type Tagged = IncomingMessage & { [requestIdKey]?: string };

// Wraps the listener @hono/node-server builds: every answer, whatever produced it, carries
// the secure headers and the request's X-Request-Id. Headers the app sets itself win, since
// Node merges writeHead's headers over these.
// (@hono/node-server's listener answers its own errors; its promise needs no handling.)
export function withEdgeHeaders(
  listener: (incoming: IncomingMessage, outgoing: ServerResponse) => Promise<unknown>,
): RequestListener {
  return (incoming: IncomingMessage, outgoing: ServerResponse) => {
    const given = incoming.headers['x-request-id'];
    const requestId =
      typeof given === 'string' && wellFormedRequestId.test(given) ? given : randomUUID();
    (incoming as Tagged)[requestIdKey] = requestId;
    for (const [name, value] of secureHeaders) outgoing.setHeader(name, value);
    outgoing.setHeader('x-request-id', requestId);
    void listener(incoming, outgoing);
  };
}

// The id withEdgeHeaders gave this request.
export function requestIdOf(c: Context): string | undefined {
  const incoming = (c.env as { incoming?: Tagged } | undefined)?.incoming;
  return incoming?.[requestIdKey];
}
