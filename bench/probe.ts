// One more buyer during a measure, in a process of its own: one keep-alive connection, a
// purchase every `intervalMs`, each request's latency kept by status. autocannon's own figures
// under overload include the time its event loop (1,000 connections, in the bench process,
// sharing two cores) took to read an answer; this process is idle between its requests, so
// what it sees is what a buyer on another machine would: the API's answer, plus the scheduler.
//
// Usage (bench/overload.ts spawns it): node --import tsx bench/probe.ts <url> <ms> <seconds>,
// tokens in PROBE_TOKENS (comma-separated); prints one line of JSON by status.
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { LatencyByStatus } from './latency-by-status.js';

const [url = '', intervalArg = '20', secondsArg = '5'] = process.argv.slice(2);
const intervalMs = Number(intervalArg);
const tokens = (process.env.PROBE_TOKENS ?? '').split(',').filter(Boolean);
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const body = JSON.stringify({ quantity: 1 });
const latency = new LatencyByStatus();

// The slow requests (over 100 ms), when they were sent and whether on a new connection: a
// tail that only new connections have is in the handshake, not in the API's answer.
const slow: { atMs: number; ms: number; status: number; newConnection: boolean }[] = [];
let reused = false;

const purchase = (token: string) =>
  new Promise<number>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        reused = req.reusedSocket;
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });

const begin = performance.now();
const until = begin + Number(secondsArg) * 1000;
for (let i = 0; performance.now() < until; i++) {
  const started = performance.now();
  const status = await purchase(tokens[i % tokens.length]!).catch(() => 0);
  const ms = performance.now() - started;
  latency.record(status, ms);
  if (ms > 100) {
    slow.push({
      atMs: Math.round(started - begin),
      ms: Math.round(ms),
      status,
      newConnection: !reused,
    });
  }
  await sleep(Math.max(0, intervalMs - (performance.now() - started)));
}
agent.destroy();
process.stdout.write(
  `${JSON.stringify({
    202: latency.summary(202),
    503: latency.summary(503),
    steady: { 202: latency.summaryAfter(202, 1_000), 503: latency.summaryAfter(503, 1_000) },
    other: latency.count(0),
    slow,
  })}\n`,
);
