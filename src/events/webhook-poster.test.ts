import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { webhookPoster } from './webhook-post.js';

const run = promisify(execFile);
const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const servers: Server[] = [];
const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
  for (const server of servers.splice(0)) server.closeAllConnections();
});

type Seen = { headers: IncomingMessage['headers']; body: string };
// A receiver on a free port answering with `answer`; what it got, and the connections it saw.
async function receiver(answer: (seen: Seen, response: ServerResponse, n: number) => void) {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      seen.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      answer(seen.at(-1)!, response, seen.length);
    });
  });
  server.on('connection', (socket: Socket) => sockets.add(socket));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks?shop=1`, seen, sockets, server };
}

const poster = (url: string, options: { sockets?: number; timeoutMs?: number } = {}) => {
  const made = webhookPoster({ url, secret, timeoutMs: 5000, sockets: 4, ...options });
  closers.push(made.close);
  return made;
};

it('POSTs the payload signed, over at most `sockets` kept-alive connections', async () => {
  const r = await receiver((_, response) => response.writeHead(204).end());
  const { post } = poster(r.url, { sockets: 3 });
  const payload = JSON.stringify({ id: 'evt_1', note: 'ünïcödé' });
  await Promise.all(Array.from({ length: 30 }, (_, i) => post(`evt_${i}`, payload)));
  await post('evt_last', payload);
  expect(r.seen).toHaveLength(31);
  expect(r.sockets.size).toBeLessThanOrEqual(3);
  const last = r.seen.at(-1)!;
  expect(last.body).toBe(payload);
  expect(last.headers['content-type']).toBe('application/json');
  expect(new Webhook(secret).verify(last.body, last.headers as Record<string, string>)).toEqual(
    JSON.parse(payload),
  );
  expect(last.headers['webhook-id']).toBe('evt_last');
});

it('reads answers with a length, chunked or ended by a close, and rejects what is not a 2xx', async () => {
  const r = await receiver((seen, response) => {
    const kind = seen.headers['webhook-id'];
    if (kind === 'length') response.writeHead(200, { 'content-length': 2 }).end('ok');
    else if (kind === 'chunked') {
      response.writeHead(202);
      response.write('a'.repeat(5000));
      setTimeout(() => response.end('b'), 20);
    } else if (kind === 'close') response.writeHead(200, { connection: 'close' }).end('bye');
    else if (kind === 'refuse') response.writeHead(503, { 'content-length': 4 }).end('busy');
    else response.writeHead(301, { location: '/elsewhere' }).end();
  });
  const { post } = poster(r.url, { sockets: 1 });
  for (const kind of ['length', 'chunked', 'close', 'length', 'chunked'])
    await expect(post(kind, '{}')).resolves.toBeUndefined();
  await expect(post('refuse', '{}')).rejects.toThrow('the receiver answered 503');
  await expect(post('moved', '{}')).rejects.toThrow('the receiver answered 301');
  await expect(post('length', '{}')).resolves.toBeUndefined();
  // One connection at a time; a new one only after the receiver closed the last.
  expect(r.sockets.size).toBe(2);
});

it('rejects a receiver that does not answer in time, or is gone, and goes on after', async () => {
  let silent = true;
  const r = await receiver((_, response) => {
    if (!silent) response.writeHead(200).end();
  });
  const { post } = poster(r.url, { sockets: 2, timeoutMs: 200 });
  await expect(post('evt_1', '{}')).rejects.toThrow('no answer within 200 ms');
  silent = false;
  await expect(post('evt_2', '{}')).resolves.toBeUndefined();
  // The receiver drops its kept-alive connections between two requests.
  r.server.closeAllConnections();
  await new Promise((resolve) => setTimeout(resolve, 50));
  await expect(post('evt_3', '{}')).resolves.toBeUndefined();
  await new Promise<void>((resolve) => r.server.close(() => resolve()));
  r.server.closeAllConnections();
  await expect(post('evt_4', '{}')).rejects.toThrow();
});

it('POSTs to an https receiver whose certificate it trusts, and refuses one it does not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'webhook-tls-'));
  closers.push(() => rmSync(dir, { recursive: true, force: true }));
  await run('openssl', [
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost'],
    ...['-addext', 'subjectAltName=DNS:localhost', '-keyout', `${dir}/key.pem`],
    ...['-out', `${dir}/cert.pem`],
  ]);
  const cert = readFileSync(`${dir}/cert.pem`, 'utf8');
  const seen: string[] = [];
  const server = createHttpsServer(
    { key: readFileSync(`${dir}/key.pem`), cert },
    (request, response) => {
      seen.push(String(request.headers['webhook-id']));
      request.resume();
      request.on('end', () => response.writeHead(200, { 'content-length': 2 }).end('ok'));
    },
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://localhost:${(server.address() as AddressInfo).port}/hooks`;
  const trusted = webhookPoster({ url, secret, timeoutMs: 5000, sockets: 2, ca: cert });
  closers.push(trusted.close);
  await Promise.all(['evt_1', 'evt_2', 'evt_3'].map((id) => trusted.post(id, '{}')));
  expect(seen.sort()).toEqual(['evt_1', 'evt_2', 'evt_3']);
  const { post } = poster(url);
  await expect(post('evt_4', '{}')).rejects.toThrow(/self.signed|certificate/i);
  expect(seen).toHaveLength(3);
});
