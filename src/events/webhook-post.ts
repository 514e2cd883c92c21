import { createHmac } from 'node:crypto';
import { HttpConnection, type Endpoint } from './http-connection.js';

export class WebhookRefusedError extends Error {
  override readonly name = 'WebhookRefusedError';
}

export type WebhookTarget = {
  url: string;
  secret: string;
  timeoutMs: number;
  sockets: number;
  // Certificates trusted besides the system's, for an https receiver (tests).
  ca?: string | undefined;
};

// The Standard Webhooks signature (`v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`
// under the secret's bytes), what the `standardwebhooks` library's sign() makes, computed by
// node:crypto: the library's own SHA-256 is JavaScript and took twice the CPU per event.
export function webhookSigner(secret: string) {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  return (id: string, seconds: number, payload: string) =>
    `v1,${createHmac('sha256', key).update(`${id}.${seconds}.${payload}`).digest('base64')}`;
}

// One signed POST per call over kept-alive connections (at most `sockets`, the others waiting
// for one): a 2xx resolves, anything else (an answer, a refused or broken connection, no answer
// within timeoutMs) rejects. Each connection carries one request at a time; the head is built
// as one string with the signature, the only per-event work besides the HMAC.
export function webhookPoster(target: WebhookTarget) {
  const url = new URL(target.url);
  const secure = url.protocol === 'https:';
  const endpoint: Endpoint = {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port || (secure ? 443 : 80)),
    secure,
    servername: url.hostname,
    ca: target.ca,
  };
  const head = `POST ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\n`;
  const sign = webhookSigner(target.secret);
  const idle: HttpConnection[] = [];
  const queued: ((connection: HttpConnection) => void)[] = [];
  let open = 0;
  let closed = false;
  const dropped = (connection: HttpConnection) => {
    const at = idle.indexOf(connection);
    if (at >= 0) idle.splice(at, 1);
  };
  const connect = () => {
    open += 1;
    const connection = new HttpConnection(endpoint, dropped);
    connection.socket.once('close', () => {
      open -= 1;
      // A request waiting for a connection gets a new one for the one that went.
      const next = queued.shift();
      if (next && !closed) next(connect());
    });
    return connection;
  };
  const release = (connection: HttpConnection) => {
    if (!connection.reusable || closed) {
      connection.destroy();
      return;
    }
    const next = queued.shift();
    if (next) next(connection);
    else idle.push(connection);
  };
  const take = (): Promise<HttpConnection> | HttpConnection => {
    const ready = idle.pop();
    if (ready) return ready;
    if (open < target.sockets) return connect();
    return new Promise((resolve) => queued.push(resolve));
  };
  const post = async (id: string, payload: string): Promise<void> => {
    if (closed) throw new WebhookRefusedError('the poster is closed');
    const connection = await take();
    const seconds = Math.floor(Date.now() / 1000);
    const request = `${head}content-length: ${Buffer.byteLength(payload)}\r\nwebhook-id: ${id}\r\nwebhook-timestamp: ${seconds}\r\nwebhook-signature: ${sign(id, seconds, payload)}\r\n\r\n${payload}`;
    const status = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          connection.destroy(new WebhookRefusedError(`no answer within ${target.timeoutMs} ms`)),
        target.timeoutMs,
      );
      connection.send(request, (error, answered) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(answered);
      });
    }).finally(() => release(connection));
    if (status < 200 || status >= 300)
      throw new WebhookRefusedError(`the receiver answered ${status}`);
  };
  const close = () => {
    closed = true;
    for (const connection of idle.splice(0)) connection.destroy();
  };
  return { post, close };
}
