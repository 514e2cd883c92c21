import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Context } from 'hono';
import { errorBody } from './api-error.js';

// The headers that mean something on an answer a program reads: OWASP's REST Security cheat
// sheet ("Security Headers") lists these for an API, and says the ones written for documents
// (x-xss-protection, x-download-options, x-dns-prefetch-control, origin-agent-cluster,
// cross-origin-opener-policy) "may provide little or no security benefits" on answers that
// are not HTML. The pages add those themselves (pageHeaders in ./app.ts). Each header is paid
// on every answer of a crowd polling a room, by the API that writes it and by the client that
// parses it: in alternated runs the edge's headers cost the API about 4 µs a poll and the
// client 5-8 µs, and the poll's rate read 0.87-0.92x the bare route's without the five where
// it read 0.68-0.79x with them, a day apart (bench/README.md, "The poll's headers are most of
// its gap" and "API answers without the document headers").
// Set here, on the Node response, they cost a few property writes; set by the Hono middleware
// after each handler, they turned every answer's lightweight Response into a web Headers
// object: 15 µs of the 98 µs a sold-out answer took (bench/layers.ts).
const apiSecureHeaders: ReadonlyArray<readonly [string, string]> = [
  ['cross-origin-resource-policy', 'same-origin'],
  ['referrer-policy', 'no-referrer'],
  ['strict-transport-security', 'max-age=15552000; includeSubDomains'],
  ['x-content-type-options', 'nosniff'],
  ['x-frame-options', 'SAMEORIGIN'],
  ['x-permitted-cross-domain-policies', 'none'],
];

// A client's id is echoed when it is a short word (what hono/request-id accepts), so a caller
// can follow its own id through our logs; anything else could forge log lines or headers.
const wellFormedRequestId = /^[\w\-=]{1,255}$/;
const requestIdKey = Symbol('flashline.requestId');

type Tagged = IncomingMessage & { [requestIdKey]?: string; rawBody?: Buffer };
type Listener = (incoming: IncomingMessage, outgoing: ServerResponse) => Promise<unknown>;

export type EdgeOptions = {
  maxBodyBytes: number;
  // Called for each request refused here for its size, to count and time it like any other
  // answer: it never reaches the app.
  onTooLarge?: (method: string, seconds: number) => void;
  // May answer a request itself, before the app (./purchase-front.ts, ./poll-front.ts),
  // through `reply`; true when it did.
  front?: (
    incoming: IncomingMessage,
    outgoing: ServerResponse,
    started: number,
    reply: FrontReply,
  ) => boolean;
};

// Writes a whole answer: the edge's headers, then `headers` (a flat name, value, ... list).
export type FrontReply = (status: number, headers: readonly string[], body: string) => void;

const secureHeadersFlat = apiSecureHeaders.flat();

const tooLargeBody = (maxBodyBytes: number) =>
  JSON.stringify(errorBody('PAYLOAD_TOO_LARGE', `body exceeds ${maxBodyBytes} bytes`));

// What every request meets before the Hono app, in plain Node, because it is the same for
// every route and costs less here than as middleware run on every answer:
// - the API's secure headers and the request's X-Request-Id on every answer, whatever produced it
//   (headers the app sets itself win: Node merges writeHead's headers over these);
// - the front doors (`front`): the purchase's sold-out answers and admission, before the
//   JWT and the body, and a waiting room's steady polls, from memory;
// - the body limit: a declared Content-Length over it is answered 413 without reading a byte;
//   a chunked body is read here up to the limit (413 past it) and handed to the app whole, as
//   `rawBody`, which @hono/node-server reads instead of the socket.
// (@hono/node-server's listener answers its own errors; its promise needs no handling.)
export function withEdge(listener: Listener, options: EdgeOptions): RequestListener {
  const refusal = tooLargeBody(options.maxBodyBytes);
  // The connection is closed after a 413: the rest of an oversized body is never read, not
  // even to be thrown away (Node would otherwise drain it to keep the connection alive).
  const refuse = (incoming: IncomingMessage, outgoing: ServerResponse, started: number) => {
    options.onTooLarge?.(incoming.method ?? 'UNKNOWN', (performance.now() - started) / 1000);
    outgoing.setHeader('connection', 'close');
    outgoing.writeHead(413, { 'content-type': 'application/json' }).end(refusal);
  };
  return (incoming: IncomingMessage, outgoing: ServerResponse) => {
    const started = performance.now();
    const given = incoming.headers['x-request-id'];
    const requestId =
      typeof given === 'string' && wellFormedRequestId.test(given) ? given : randomUUID();
    (incoming as Tagged)[requestIdKey] = requestId;

    const chunked = incoming.headers['transfer-encoding'] !== undefined;
    const declared = chunked ? undefined : incoming.headers['content-length'];
    const tooLarge = declared !== undefined && Number(declared) > options.maxBodyBytes;
    // One writeHead with every header, none set one by one: the front door answers a sold-out
    // storm, and each setHeader is a lookup and a store in the response's header map.
    const reply: FrontReply = (status, headers, body) => {
      outgoing.writeHead(status, [...secureHeadersFlat, 'x-request-id', requestId, ...headers]);
      outgoing.end(body);
    };
    if (!tooLarge && options.front?.(incoming, outgoing, started, reply)) return;
    for (const [name, value] of apiSecureHeaders) outgoing.setHeader(name, value);
    outgoing.setHeader('x-request-id', requestId);
    if (tooLarge) return refuse(incoming, outgoing, started);
    if (!chunked) {
      void listener(incoming, outgoing);
      return;
    }
    readLimited(incoming, options.maxBodyBytes).then(
      (body) => {
        if (body === null) return refuse(incoming, outgoing, started);
        (incoming as Tagged).rawBody = body;
        void listener(incoming, outgoing);
      },
      // The client went away mid-body: there is no one left to answer.
      () => incoming.destroy(),
    );
  };
}

// The whole body, or null as soon as it passes `limit` (the rest is not read).
function readLimited(incoming: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length > limit) {
        cleanup();
        incoming.pause();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('client closed the connection mid-body'));
    };
    const cleanup = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}

// The id withEdge gave this request.
export function requestIdOf(c: Context): string | undefined {
  const incoming = (c.env as { incoming?: Tagged } | undefined)?.incoming;
  return incoming?.[requestIdKey];
}
