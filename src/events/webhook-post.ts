import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

export class WebhookRefusedError extends Error {
  override readonly name = 'WebhookRefusedError';
}

export type WebhookTarget = { url: string; secret: string; timeoutMs: number; sockets: number };

// The Standard Webhooks signature (`v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`
// under the secret's bytes), what the `standardwebhooks` library's sign() makes, computed by
// node:crypto: the library's own SHA-256 is JavaScript and took twice the CPU per event.
export function webhookSigner(secret: string) {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  return (id: string, seconds: number, payload: string) =>
    `v1,${createHmac('sha256', key).update(`${id}.${seconds}.${payload}`).digest('base64')}`;
}

// One signed POST per call over kept-alive connections: a 2xx resolves, anything else (an
// answer, a refused connection, no answer within timeoutMs) rejects. node:http rather than
// fetch: fetch's streams and headers took about three times its CPU per delivery, and the
// dispatcher makes one per event.
export function webhookPoster(target: WebhookTarget) {
  const url = new URL(target.url);
  const secure = url.protocol === 'https:';
  const agent = new (secure ? https : http).Agent({
    keepAlive: true,
    maxSockets: target.sockets,
  });
  const send = secure ? https.request : http.request;
  const sign = webhookSigner(target.secret);
  const post = (id: string, payload: string): Promise<void> => {
    const seconds = Math.floor(Date.now() / 1000);
    return new Promise<void>((resolve, reject) => {
      const request = send(url, {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          'webhook-id': id,
          'webhook-timestamp': String(seconds),
          'webhook-signature': sign(id, seconds, payload),
        },
      });
      const timer = setTimeout(
        () => request.destroy(new WebhookRefusedError(`no answer within ${target.timeoutMs} ms`)),
        target.timeoutMs,
      );
      request.on('response', (response) => {
        const status = response.statusCode ?? 0;
        // Read to the end, so the connection goes back to the pool.
        response.resume();
        response.on('end', () => {
          clearTimeout(timer);
          if (status >= 200 && status < 300) resolve();
          else reject(new WebhookRefusedError(`the receiver answered ${status}`));
        });
        response.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
      });
      request.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      request.end(payload);
    });
  };
  return { post, close: () => agent.destroy() };
}
