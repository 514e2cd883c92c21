import { once } from 'node:events';
import { createServer } from 'node:net';

// What the servers a test starts of its own (RabbitMQ nodes, redis-servers) share: ports that
// are free, and nothing left running when the test process dies without its afterAll.

async function isFree(port: number): Promise<boolean> {
  const server = createServer();
  server.listen(port, '127.0.0.1');
  try {
    await once(server, 'listening');
  } catch {
    return false;
  }
  server.close();
  await once(server, 'close');
  return true;
}

// A random port of [from, from + span) not in `taken` and free on 127.0.0.1, together with
// port + each of `alongside` (a Redis Cluster node's bus port, port + 10000); all of them are
// added to `taken`.
export async function freePortIn(
  taken: Set<number>,
  { from, span, alongside = [] }: { from: number; span: number; alongside?: number[] },
): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = from + Math.floor(Math.random() * span);
    const ports = [port, ...alongside.map((offset) => port + offset)];
    if (ports.some((p) => taken.has(p))) continue;
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) {
      for (const p of ports) taken.add(p);
      return port;
    }
  }
  throw new Error(`no free port in ${from}-${from + span} (with +${alongside.join(', +')})`);
}

// SIGKILL, and nothing if the process is already gone.
export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

// Runs `cleanup` when the test process exits, also on SIGINT and SIGTERM (whose default
// action skips 'exit' handlers: clean up, then let the signal act).
export function cleanUpOnExit(cleanup: () => void): void {
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanup();
      process.kill(process.pid, signal);
    });
  }
}
