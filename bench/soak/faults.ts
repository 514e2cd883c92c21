import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { restartPostgres } from '../../test/support/service-restart.js';
import type { Stack } from './stack.js';

// The faults a soak rotates through, one every few minutes. PostgreSQL is the machine's: by
// default the soak's connections to its database are terminated (what a restart does to a
// client); `--restart-postgres` restarts the server itself, on a machine of your own only.
export type Fault = { name: string; inject: (stack: Stack) => Promise<void> };

async function terminateConnections(stack: Stack): Promise<void> {
  const database = new URL(stack.env.config.database.url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: stack.env.config.database.url });
  await admin.connect();
  try {
    await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [database],
    );
  } finally {
    await admin.end();
  }
}

let rabbitVictim = 0;

export function faults({ restartPostgresServer = false } = {}): Fault[] {
  return [
    {
      name: 'worker killed -9',
      inject: async (stack) => {
        stack.children.worker.kill('SIGKILL');
        await stack.children.worker.exited;
        await stack.respawn('worker');
      },
    },
    {
      name: 'api killed -9',
      inject: async (stack) => {
        stack.children.api.kill('SIGKILL');
        await stack.children.api.exited;
        await stack.respawn('api');
      },
    },
    {
      name: 'redis restarted',
      inject: (stack) => stack.redis.restart(),
    },
    {
      name: 'rabbitmq node killed -9',
      inject: async (stack) => {
        const node = stack.rabbit.nodes[rabbitVictim++ % stack.rabbit.nodes.length]!;
        await node.kill9();
        await sleep(20_000);
        await node.start();
      },
    },
    restartPostgresServer
      ? { name: 'postgresql restarted', inject: () => restartPostgres() }
      : { name: 'postgresql connections terminated', inject: terminateConnections },
  ];
}
