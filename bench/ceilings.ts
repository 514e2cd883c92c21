import amqp from 'amqplib';
import pg from 'pg';
import { randomUUID } from 'node:crypto';

// Runs `step` in `lanes` loops at once until the deadline; returns how many steps finished.
const runLanes = async (lanes: number, until: number, step: () => Promise<void>) => {
  let done = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (performance.now() < until) {
        await step();
        done += 1;
      }
    }),
  );
  return done;
};

const sampleOrder = () => ({
  orderId: `1-${randomUUID()}`,
  saleId: 1,
  userId: 'buyer-12345',
  quantity: 1,
  reservedAt: new Date().toISOString(),
});

// (a') Persistent messages to a durable queue through amqplib's confirm channel, `inFlight`
// publishes outstanding at once, each lane publishing again when its confirm arrives.
export async function rawConfirmedPublishes(amqpUrl: string, inFlight: number, seconds: number) {
  // Nagle off, as Flashline's own connections (src/broker/connection.ts).
  const connection = await amqp.connect(amqpUrl, { noDelay: true });
  const channel = await connection.createConfirmChannel();
  const queue = 'bench.raw-publishes';
  await channel.assertQueue(queue, { durable: true });
  try {
    const started = performance.now();
    const published = await runLanes(
      inFlight,
      started + seconds * 1000,
      () =>
        new Promise<void>((resolve, reject) => {
          channel.sendToQueue(
            queue,
            Buffer.from(JSON.stringify(sampleOrder())),
            { persistent: true, contentType: 'application/json' },
            (error: unknown) => (error ? reject(new Error('nacked')) : resolve()),
          );
        }),
    );
    return published / ((performance.now() - started) / 1000);
  } finally {
    await channel.deleteQueue(queue).catch(() => undefined);
    await connection.close();
  }
}

// (e') Single-row INSERTs, each its own transaction, through a pg pool of `connections`,
// into a copy of the orders table on the same database.
export async function rawSingleRowInserts(
  databaseUrl: string,
  connections: number,
  seconds: number,
) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: connections });
  const table = 'bench_raw_orders';
  await pool.query(`DROP TABLE IF EXISTS ${table}`);
  await pool.query(`CREATE TABLE ${table} (LIKE orders INCLUDING DEFAULTS INCLUDING INDEXES)`);
  try {
    const started = performance.now();
    const inserted = await runLanes(connections, started + seconds * 1000, async () => {
      const o = sampleOrder();
      await pool.query({
        name: 'bench-raw-insert',
        text: `INSERT INTO ${table} (id, sale_id, user_id, quantity, status, reserved_at) VALUES ($1, $2, $3, $4, 'confirmed', $5)`,
        values: [o.orderId, o.saleId, o.userId, o.quantity, o.reservedAt],
      });
    });
    return inserted / ((performance.now() - started) / 1000);
  } finally {
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.end();
  }
}
