import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { waitFor } from './env.js';
import { startRedisServer, type RedisServer } from './redis-servers.js';
import { freePortIn } from './local-servers.js';

const run = promisify(execFile);

// A Redis Cluster of a test's own: `masters` redis-servers with --cluster-enabled, each on a
// free port (its bus on port + 10000 free too) in a directory of its own with appendonly, put
// together by `redis-cli --cluster create`. Stopped by stopRedisServers like any other server.
export type RedisCluster = {
  masters: RedisServer[];
  // REDIS_CLUSTER_NODES: host:port,host:port,...
  nodes: string;
  // The master that serves `key`'s slot now.
  masterOf: (key: string) => Promise<RedisServer>;
  // Resolves once every running master says cluster_state:ok.
  healthy: () => Promise<void>;
};

// The settings that put a system on `cluster` (nothing listens at REDIS_URL's port 1, so a
// client that ignored the cluster would fail at once).
export const onCluster = (cluster: Pick<RedisCluster, 'nodes'>) => ({
  REDIS_CLUSTER_NODES: cluster.nodes,
  REDIS_URL: 'redis://127.0.0.1:1/0',
});

// A port whose cluster bus port (port + 10000) is free as well.
const freeNodePort = (taken: Set<number>) =>
  freePortIn(taken, { from: 20_000, span: 30_000, alongside: [10_000] });

export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const taken = new Set<number>();
  const servers: RedisServer[] = [];
  for (let i = 0; i < masters; i++) {
    const port = await freeNodePort(taken);
    servers.push(
      await startRedisServer({
        port,
        args: [
          '--cluster-enabled',
          'yes',
          // Relative to --dir: each node keeps its own cluster state beside its AOF.
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          '2000',
          // The other masters keep serving their slots while one is down (its slots refuse).
          '--cluster-require-full-coverage',
          'no',
        ],
      }),
    );
  }
  await run(
    'redis-cli',
    [
      '--cluster',
      'create',
      ...servers.map((s) => `127.0.0.1:${s.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ],
    { timeout: 30_000 },
  );
  const healthy = async () => {
    await waitFor(
      async () => {
        const states = await Promise.all(
          servers.map((s) => s.cli('cluster', 'info').catch(() => '')),
        );
        return states.every((info) => /cluster_state:ok/.test(info));
      },
      { timeoutMs: 30_000, what: 'cluster_state:ok on every master' },
    );
  };
  await healthy();
  const masterOf = async (key: string) => {
    const slot = Number(await servers[0]!.cli('cluster', 'keyslot', key));
    for (const server of servers) {
      const own = (await server.cli('cluster', 'nodes'))
        .split('\n')
        .find((line) => line.includes('myself'));
      const slots = own?.split(' ').slice(8) ?? [];
      for (const range of slots) {
        const [from, to = from] = range.split('-').map(Number);
        if (from !== undefined && to !== undefined && slot >= from && slot <= to) return server;
      }
    }
    throw new Error(`no master serves slot ${slot} of ${key}`);
  };
  return {
    masters: servers,
    nodes: servers.map((s) => `127.0.0.1:${s.port}`).join(','),
    masterOf,
    healthy,
  };
}
