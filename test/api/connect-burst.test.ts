import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { spawnApi, type ApiProcess } from '../support/api-process.js';

// More than Node's default listen backlog (511), fewer than the kernel's cap on this machine.
const crowd = 1_000;
// A SYN the kernel dropped for a full accept queue is sent again after 1 s, then 3 s: while the
// API stays stopped its queue stays full and every retry is dropped too, so a connection that did
// not fit never completes, however long the test waits (no timing is judged here).
const connectWaitMs = 5_000;

// The crowd of a flash sale connects at once, while the API is busy answering. Connections the
// API has not accepted yet wait in the kernel's accept queue; past the listen backlog the kernel
// drops the SYN, and that buyer's browser tries again a second later (then 3 s, 7 s...): part
// of the first second's tail in bench (h). The API is stopped (SIGSTOP) while the crowd connects, so nothing is
// accepted and the queue alone must hold everybody; then it resumes and answers each one.
describe.each([
  { processes: '1', what: 'one API process' },
  { processes: '2', what: 'API_PROCESSES=2 (the primary holds the socket)' },
])('a crowd connecting at once: $what', ({ processes }) => {
  let env: TestEnv;
  let api: ApiProcess;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    env = await createTestEnv(`connect-burst-${processes}`);
    api = await spawnApi(env, { API_PROCESSES: processes });
  });
  afterAll(async () => {
    api?.child.kill('SIGCONT');
    for (const socket of sockets) socket.destroy();
    await api?.stop();
    await env?.cleanup();
  });

  it('holds every connection in the accept queue and answers each once it runs again', async () => {
    const { port } = new URL(api.baseUrl);
    let connected = 0;
    api.child.kill('SIGSTOP');
    try {
      for (let i = 0; i < crowd; i++) {
        const socket = connect({ host: '127.0.0.1', port: Number(port) });
        socket.on('connect', () => connected++);
        socket.on('error', () => undefined);
        sockets.push(socket);
      }
      const until = Date.now() + connectWaitMs;
      while (connected < crowd && Date.now() < until) {
        await sleep(50);
      }
    } finally {
      api.child.kill('SIGCONT');
    }
    expect(connected).toBe(crowd);

    const answered = sockets.map(
      (socket) =>
        new Promise<string>((resolve) => {
          let head = '';
          socket.on('data', (chunk: Buffer) => {
            head += chunk.toString('latin1');
            if (head.includes('\r\n')) resolve(head.slice(0, head.indexOf('\r\n')));
          });
          socket.on('close', () => resolve(head));
          socket.write('GET /healthz HTTP/1.1\r\nHost: flashline\r\nConnection: close\r\n\r\n');
        }),
    );
    const statusLines = await Promise.all(answered);
    expect(statusLines.filter((line) => line === 'HTTP/1.1 200 OK')).toHaveLength(crowd);
    await waitFor(async () => (await fetch(`${api.baseUrl}/healthz`)).ok, { what: 'the api' });
  });
});
