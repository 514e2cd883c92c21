import { readFile } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { spawnApi, type ApiProcess } from '../support/api-process.js';
import { orderFields, orderSchema } from '../../src/api/openapi/schemas.js';

const orders = 100_000;
const statuses = ['confirmed', 'paid', 'expired', 'cancelled', 'failed'] as const;
// A failed order's reason holds a comma and quotes, which CSV must quote.
const reason = 'worker said "no", twice';

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
}

type Read = { status: number; headers: IncomingMessage['headers']; text: string; ms: number };

// GET through node:http, reading at most `bytesPerSecond` (unlimited: as fast as it comes).
function get(url: string, headers: Record<string, string>, bytesPerSecond = Infinity) {
  return new Promise<Read>((resolve, reject) => {
    const started = performance.now();
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        bytes += chunk.length;
        const due = (bytes / bytesPerSecond) * 1000 - (performance.now() - started);
        if (due > 0) {
          res.pause();
          setTimeout(() => res.resume(), due);
        }
      });
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString('utf8'),
          ms: performance.now() - started,
        }),
      );
    })
      .on('error', reject)
      .end();
  });
}

describe('order export (GET /admin/sales/:saleId/orders)', () => {
  let env: TestEnv;
  let api: ApiProcess;
  let db: pg.Client;
  let saleId: number;
  let admin: Record<string, string>;
  const exportUrl = (query = '') => `${api.baseUrl}/admin/sales/${saleId}/orders${query}`;
  // The export's query, while PostgreSQL runs it.
  const exportsRunning = async () =>
    (
      await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND state <> 'idle'
            AND query LIKE 'SELECT id, user_id%'`,
      )
    ).rows[0]!.n;

  beforeAll(async () => {
    env = await createTestEnv('export');
    api = await spawnApi(env, { EXPORT_STALL_SECONDS: '3', LOG_LEVEL: 'warn' });
    admin = { authorization: `Bearer ${env.config.auth.adminToken}` };
    const created = await fetch(`${api.baseUrl}/admin/sales`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({
        sku: 'export',
        name: 'Export',
        stock: orders,
        paymentWindowSeconds: 600,
      }),
    });
    expect(created.status).toBe(201);
    saleId = ((await created.json()) as { id: number }).id;
    db = new pg.Client({ connectionString: env.env.DATABASE_URL });
    await db.connect();
    // Another sale's orders, which the export must leave out.
    const other = await db.query<{ id: string }>(
      `INSERT INTO sales (sku, name, stock) VALUES ('other', 'Other', 10) RETURNING id`,
    );
    for (const [sale, count] of [
      [saleId, orders],
      [Number(other.rows[0]!.id), 10],
    ] as const) {
      await db.query(
        `INSERT INTO orders (id, sale_id, user_id, quantity, status, reason, reserved_at, payment_id)
         SELECT $1::text || '-' || md5(i::text)::uuid, $1::bigint, 'buyer-' || i, 1 + i % 3,
                ($3::text[])[1 + i % 5], CASE WHEN i % 5 = 4 THEN $4 END, now(),
                CASE WHEN i % 5 = 1 THEN 'pay-' || i END
           FROM generate_series(1, $2::int) i`,
        [sale, count, statuses, reason],
      );
    }
  }, 120_000);
  afterAll(async () => {
    await db?.end();
    await api?.stop();
    await env?.cleanup();
  });

  it('streams every order as NDJSON to a slow client, the process memory bounded', async () => {
    // Warm: the route's modules loaded and the JIT done, so the baseline is the process's own.
    expect((await get(exportUrl('?status=paid'), admin)).status).toBe(200);
    const pid = api.child.pid!;
    const before: number[] = [];
    for (let i = 0; i < 10; i++) {
      before.push(await rssBytes(pid));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const baseline = Math.max(...before);
    let peak = baseline;
    const sampler = setInterval(() => {
      void rssBytes(pid).then((rss) => (peak = Math.max(peak, rss)));
    }, 50);
    // About 25 MB of NDJSON at 4 MB/s: the table is read over several seconds, as it drains.
    const read = await get(exportUrl(), admin, 4 * 1024 * 1024).finally(() =>
      clearInterval(sampler),
    );
    expect(read.status).toBe(200);
    expect(read.headers['content-type']).toBe('application/x-ndjson');
    const lines = read.text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(orders);
    const seen = new Set<string>();
    const byStatus: Record<string, number> = {};
    const strict = orderSchema.strict();
    const sales = new Set<number>();
    for (const line of lines) {
      const order = strict.parse(JSON.parse(line));
      sales.add(order.saleId);
      seen.add(order.orderId);
      byStatus[order.status] = (byStatus[order.status] ?? 0) + 1;
    }
    expect([...sales]).toEqual([saleId]);
    expect(seen.size).toBe(orders);
    expect(byStatus).toEqual(Object.fromEntries(statuses.map((s) => [s, orders / 5])));
    const grew = (peak - baseline) / 2 ** 20;
    console.log(
      `export: ${(read.text.length / 2 ** 20).toFixed(1)} MB in ${(read.ms / 1000).toFixed(1)} s, ` +
        `RSS ${(baseline / 2 ** 20).toFixed(0)} MB, peak +${grew.toFixed(1)} MB`,
    );
    expect(read.ms).toBeGreaterThan(4_000);
    // The body alone is 25 MB, and the rows as objects several times that.
    expect(grew).toBeLessThan(12);
  }, 120_000);

  it('answers CSV with a header of the order fields, filtered by status', async () => {
    const read = await get(exportUrl('?format=csv&status=failed'), admin);
    expect(read.status).toBe(200);
    expect(read.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(read.headers['content-disposition']).toBe(
      `attachment; filename="sale-${saleId}-orders.csv"`,
    );
    const rows = read.text.split('\r\n');
    expect(rows.pop()).toBe('');
    expect(rows.shift()).toBe(orderFields.join(','));
    expect(orderFields).toEqual([
      'orderId',
      'saleId',
      'userId',
      'quantity',
      'status',
      'reason',
      'payBy',
      'createdAt',
      'updatedAt',
    ]);
    expect(rows).toHaveLength(orders / 5);
    const quoted = `"${reason.replaceAll('"', '""')}"`;
    for (const row of rows) {
      expect(row).toContain(`,failed,${quoted},,`);
      const cells = row.replace(quoted, 'REASON').split(',');
      const [orderId, sale, userId, quantity, status, cell, payBy, ...times] = cells;
      expect(orderId).toMatch(new RegExp(`^${saleId}-`));
      expect([sale, status, cell, payBy]).toEqual([String(saleId), 'failed', 'REASON', '']);
      expect(userId).toMatch(/^buyer-\d+$/);
      expect(Number(quantity)).toBeGreaterThanOrEqual(1);
      expect(times.map((t) => Number.isNaN(Date.parse(t)))).toEqual([false, false]);
    }
    const confirmed = await get(exportUrl('?format=csv&status=confirmed'), admin);
    const first = confirmed.text.split('\r\n')[1]!.split(',');
    // A confirmed order of a sale with a payment window has its pay-by time.
    expect(Date.parse(first[6]!)).toBeGreaterThan(Date.now());
    expect(confirmed.text.split('\r\n')).toHaveLength(orders / 5 + 2);
  }, 60_000);

  it('refuses without admin credentials, a bad query and an unknown sale', async () => {
    const answer = async (url: string, headers = admin) => {
      const response = await fetch(url, { headers });
      return [response.status, ((await response.json()) as { error: { code: string } }).error.code];
    };
    expect(await answer(exportUrl(), {})).toEqual([401, 'UNAUTHORIZED']);
    expect(await answer(exportUrl(), { authorization: 'Bearer nope-nope-nope' })).toEqual([
      401,
      'UNAUTHORIZED',
    ]);
    for (const query of ['?format=xml', '?status=lost', '?limit=5']) {
      expect(await answer(exportUrl(query))).toEqual([400, 'BAD_REQUEST']);
    }
    expect(await answer(`${api.baseUrl}/admin/sales/999999/orders`)).toEqual([
      404,
      'SALE_NOT_FOUND',
    ]);
  });

  it('lets the cursor go when the client leaves or stops reading', async () => {
    // A client that reads the headers and leaves.
    for (let i = 0; i < 3; i++) {
      const gone = new AbortController();
      const response = await fetch(exportUrl(), { headers: admin, signal: gone.signal });
      expect(response.status).toBe(200);
      gone.abort();
      await waitFor(async () => (await exportsRunning()) === 0, { what: 'the export closed' });
    }
    // A client that takes nothing: cut off after EXPORT_STALL_SECONDS (3 s).
    const stalled = await new Promise<IncomingMessage>((resolve, reject) =>
      request(exportUrl(), { headers: admin }, resolve).on('error', reject).end(),
    );
    stalled.pause();
    await waitFor(async () => (await exportsRunning()) === 1, { what: 'the export running' });
    await waitFor(async () => (await exportsRunning()) === 0, {
      what: 'the stalled export closed',
      timeoutMs: 15_000,
    });
    stalled.destroy();
    // Every export released its place: two at once still run (EXPORT_MAX_CONCURRENT).
    const both = await Promise.all([
      get(exportUrl('?status=paid'), admin),
      get(exportUrl(), admin),
    ]);
    expect(both.map((read) => read.status)).toEqual([200, 200]);
  }, 60_000);
});
