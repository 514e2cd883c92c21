import type { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import { isCluster, type RedisClient } from '../redis/connection.js';

export type IdentityChange = { node: string; from: string; to: string };

// How often a cluster's masters are asked who they are, besides on every (re)connect: a master
// restarted from its files, or a replica promoted in its place, must be noticed even when this
// process's connection to it never dropped long enough to say so.
const clusterCheckMs = 1_000;

function runIdOf(info: string): string | undefined {
  return /^run_id:(\S+)/m.exec(info)?.[1];
}

// Notices that a Redis behind a connection is no longer the one it was: after a reconnect
// the server's run_id is new when it restarted (from older files, or with none) or when a
// failover put another server behind the name. Either way it may have forgotten writes, and
// the caller repairs at once instead of at its next periodic pass. On a cluster each master is
// followed by its address, and a master at an address that held none before (a replica
// promoted after a failover) counts as a new server too.
export function watchRedisIdentity(
  redis: RedisClient,
  logger: Logger,
  onChanged: (detail: IdentityChange) => void,
): () => void {
  const known = new Map<string, string>();
  let baseline = false;
  const changed = (node: string, from: string, to: string) => {
    logger.warn({ node, from, to }, 'redis is a new server; it may have lost state');
    onChanged({ node, from, to });
  };
  const readRunId = (node: Redis) =>
    node
      .info('server')
      .then(runIdOf)
      .catch((error: unknown) => {
        logger.warn({ err: error }, 'reading the redis run_id failed');
        return undefined;
      });

  if (!isCluster(redis)) {
    const check = () =>
      void readRunId(redis).then((runId) => {
        if (!runId) return;
        const previous = known.get('server');
        known.set('server', runId);
        if (previous !== undefined && previous !== runId) changed('server', previous, runId);
      });
    redis.on('ready', check);
    if (redis.status === 'ready') check();
    return () => redis.off('ready', check);
  }

  let checking = false;
  const checkCluster = async () => {
    if (checking || redis.status !== 'ready') return;
    checking = true;
    try {
      const masters = redis.nodes('master');
      const seen = await Promise.all(
        masters.map(async (node) => {
          const address = `${node.options.host ?? ''}:${node.options.port ?? ''}`;
          return [address, await readRunId(node)] as const;
        }),
      );
      for (const [address, runId] of seen) {
        if (!runId) continue;
        const previous = known.get(address);
        known.set(address, runId);
        if (previous !== undefined && previous !== runId) changed(address, previous, runId);
        else if (previous === undefined && baseline) changed(address, 'none', runId);
      }
      // Masters first seen in the first complete reading are the baseline, not a change.
      if (seen.length > 0 && seen.every(([, runId]) => runId)) baseline = true;
    } finally {
      checking = false;
    }
  };
  const check = () => void checkCluster();
  redis.on('ready', check);
  redis.on('+node', check);
  const timer = setInterval(check, clusterCheckMs);
  timer.unref();
  if (redis.status === 'ready') check();
  return () => {
    clearInterval(timer);
    redis.off('ready', check);
    redis.off('+node', check);
  };
}
