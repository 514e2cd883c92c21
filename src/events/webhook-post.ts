import { createHmac } from 'node:crypto';
import { Pool } from 'undici';

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

// undici's errors for no answer in time, told as such in the dispatcher's log.
const timeouts = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

// One signed POST per call over at most `sockets` kept-alive connections (undici's Pool, the
// others waiting for one): a 2xx resolves, anything else (an answer, a refused or broken
// connection, no answer within timeoutMs) rejects. undici's client took about 80 µs of CPU a
// POST in a local loop against node:http's 140 (bench/README.md, "npm run bench:events").
export function webhookPoster(target: WebhookTarget) {
  const url = new URL(target.url);
  const pool = new Pool(url.origin, {
    connections: target.sockets,
    headersTimeout: target.timeoutMs,
    bodyTimeout: target.timeoutMs,
    connect: { timeout: target.timeoutMs, ...(target.ca ? { ca: target.ca } : {}) },
  });
  const path = `${url.pathname}${url.search}`;
  const sign = webhookSigner(target.secret);
  let closed = false;
  const post = async (id: string, payload: string): Promise<void> => {
    if (closed) throw new WebhookRefusedError('the poster is closed');
    const seconds = Math.floor(Date.now() / 1000);
    const answer = await pool
      .request({
        path,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(seconds),
          'webhook-signature': sign(id, seconds, payload),
        },
        body: payload,
      })
      .catch((error: unknown) => {
        throw timeouts.has((error as { code?: string }).code ?? '')
          ? new WebhookRefusedError(`no answer within ${target.timeoutMs} ms`)
          : error;
      });
    // Read to its end, so that the connection carries the next POST.
    await answer.body.dump();
    if (answer.statusCode < 200 || answer.statusCode >= 300)
      throw new WebhookRefusedError(`the receiver answered ${answer.statusCode}`);
  };
  const close = () => {
    closed = true;
    void pool.destroy().catch(() => undefined);
  };
  return { post, close };
}
