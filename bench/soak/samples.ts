import pg from 'pg';
import { Redis } from 'ioredis';
import { procs, type Stack } from './stack.js';

// One minute's figures: each process's memory, heap, open handles and event-loop delay (its
// default prom-client metrics, with its start time to tell a restarted one), Redis's memory
// and key count, the depth of each RabbitMQ queue and the connections to the cluster, and
// the connections to the soak's database.
export type Sample = { at: number; figures: Record<string, number> };

const processFigures = {
  rss: 'process_resident_memory_bytes',
  heap: 'nodejs_heap_size_used_bytes',
  handles: 'nodejs_active_handles_total',
  lagP99: 'nodejs_eventloop_lag_p99_seconds',
  startedAt: 'process_start_time_seconds',
} as const;

// Each metric of a process's /metrics, its samples summed over their labels (the registry's
// default label, one series each for these); a metric name may hold digits (`..._p99_...`).
async function scrape(port: number): Promise<Map<string, number>> {
  const values = new Map<string, number>();
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const line of text.split('\n')) {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{.*\})? (\S+)$/.exec(line);
      if (match) values.set(match[1]!, (values.get(match[1]!) ?? 0) + Number(match[2]));
    }
  } catch {
    // The process is down (a fault): no figures this minute.
  }
  return values;
}

async function rabbitFigures(stack: Stack): Promise<Record<string, number>> {
  for (const node of stack.rabbit.nodes) {
    try {
      const queues = JSON.parse(
        await node.ctl('list_queues', 'name', 'messages', '--formatter', 'json'),
      ) as { name: string; messages: number }[];
      const connections = JSON.parse(
        await node.ctl('list_connections', 'name', '--formatter', 'json'),
      ) as unknown[];
      const figures: Record<string, number> = { 'rabbitmq.connections': connections.length };
      for (const q of queues) figures[`rabbitmq.${q.name}`] = q.messages;
      return figures;
    } catch {
      // That node is down (a fault): ask the next.
    }
  }
  return {};
}

export async function sample(stack: Stack): Promise<Sample> {
  const figures: Record<string, number> = {};
  for (const proc of procs) {
    const scraped = await scrape(stack.ports[proc]);
    for (const [label, name] of Object.entries(processFigures)) {
      figures[`${proc}.${label}`] = scraped.get(name) ?? Number.NaN;
    }
  }
  const redis = new Redis(stack.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const info = await redis.info('memory');
    figures['redis.usedMemory'] = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
    // BullMQ keeps each finished job (its hash) for an hour, at most 10,000 a queue
    // (removeOnComplete, removeOnFail): counted apart, the rest of the keys must level off.
    let retained = 0;
    for (const set of await redis.keys('*:bull:*:completed')) retained += await redis.zcard(set);
    for (const set of await redis.keys('*:bull:*:failed')) retained += await redis.zcard(set);
    figures['redis.retainedJobs'] = retained;
    figures['redis.keys'] = (await redis.dbsize()) - retained;
  } catch {
    // Redis restarting (a fault): no figure this minute.
  } finally {
    redis.disconnect();
  }
  Object.assign(figures, await rabbitFigures(stack));
  const database = new URL(stack.env.config.database.url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: stack.env.config.database.url });
  try {
    await admin.connect();
    const { rows } = await admin.query<{ count: string }>(
      'SELECT count(*) FROM pg_stat_activity WHERE datname = $1',
      [database],
    );
    // Less the one asking.
    figures['postgres.connections'] = Number(rows[0]?.count ?? 0) - 1;
  } catch {
    // PostgreSQL restarting (a fault).
  } finally {
    await admin.end().catch(() => undefined);
  }
  return { at: Date.now(), figures };
}
