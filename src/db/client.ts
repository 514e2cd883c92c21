import pg from 'pg';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import * as schema from './schema.js';

export type Database = NodePgDatabase<typeof schema> & { $client: pg.Pool };

// `queryTimeoutMs` bounds every query on the client side, so a stalled server or network
// fails the call instead of hanging it (the recovery paths must not hang).
export function createDatabase(
  url: string,
  max: number,
  { queryTimeoutMs }: { queryTimeoutMs?: number } = {},
): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: 5_000,
    ...(queryTimeoutMs ? { query_timeout: queryTimeoutMs } : {}),
  });
  // A backend terminated under an idle client surfaces here; without a listener it would crash
  // the process. The next query gets a fresh connection.
  pool.on('error', () => undefined);
  // A client checked out for a transaction has no such listener (the pool removes its own on
  // checkout), so a backend terminated mid-transaction would throw an uncaught 'error' and
  // kill the process. The query in flight still fails, and the pool discards the client.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return drizzle(pool, { schema }) as Database;
}
