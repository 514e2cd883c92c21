import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config.js';
import { createLogger } from '../observability/logger.js';
import { migrateDatabase } from '../db/migrate.js';
import { createDatabase } from '../db/client.js';
import { createRedis } from '../redis/connection.js';
import { Gate, gateOptions } from '../gate/gate.js';
import { signBuyerToken } from '../auth/jwt.js';
import { readProcfile } from './procfile.js';
import { ensureDemoSale } from './demo-sale.js';
import { payCurl } from './pay-command.js';
import { placeDemoOrder } from './demo-order.js';

// `npm start`: migrate, make sure a demo sale is on, run every Procfile process with its
// output prefixed, and print how to buy. Like foreman: when one process dies, all stop.
const root = fileURLToPath(new URL('../../', import.meta.url));
const config = loadConfig();
const logger = createLogger(config.process.logLevel, 'start');
const out = (text: string) => process.stdout.write(`${text}\n`);

await migrateDatabase(config.database.url);
const db = createDatabase(config.database.url, 1);
const redis = createRedis(config);
const sale = await ensureDemoSale(
  db,
  new Gate(redis, gateOptions(config)),
  redis,
  config.redis.prefix,
);
await db.$client.end();
redis.disconnect();

const children = new Map<string, ChildProcess>();
let stopping = false;

function stopAll(code: number): void {
  if (stopping) return;
  stopping = true;
  for (const child of children.values()) child.kill('SIGTERM');
  const exitWhenDone = setInterval(() => {
    if (
      [...children.values()].every((child) => child.exitCode !== null || child.signalCode !== null)
    ) {
      clearInterval(exitWhenDone);
      process.exit(code);
    }
  }, 100);
}

const width = Math.max(...readProcfile(`${root}Procfile`).map((entry) => entry.name.length));
for (const entry of readProcfile(`${root}Procfile`)) {
  // exec: the shell becomes the process, so SIGTERM reaches it and not only the shell.
  const child = spawn(`exec ${entry.command}`, {
    cwd: root,
    shell: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.set(entry.name, child);
  const label = `${entry.name.padEnd(width)} | `;
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) out(label + line);
    });
  }
  child.on('exit', (code, signal) => {
    logger.info({ process: entry.name, code, signal }, 'process exited');
    if (!stopping) stopAll(code ?? 1);
  });
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

const base = `http://localhost:${config.http.port}`;
for (let attempt = 0; attempt < 120 && !stopping; attempt++) {
  const ready = await fetch(`${base}/readyz`).then(
    (r) => r.ok,
    () => false,
  );
  if (ready) {
    const token = signBuyerToken('alice', config.jwt.secret);
    const bob = signBuyerToken('bob', config.jwt.secret);
    out('');
    out(
      `Flashline is up. Demo sale ${sale.id} "${sale.name}": ${sale.stock} units, ${sale.perUserLimit} per buyer.`,
    );
    out(`  API            ${base}   (sale: ${base}/sales/${sale.id})`);
    out(`  bull-board     ${base}/admin/queues   (user admin, password = ADMIN_TOKEN)`);
    out(`  metrics        ${base}/metrics`);
    out('');
    out('The demo is bought through its waiting room. Its page, as alice and as bob:');
    out(`  ${base}/sales/${sale.id}/room#token=${token}`);
    out(`  ${base}/sales/${sale.id}/room#token=${bob}`);
    out('Or with curl, as alice: join the line (again until "state" is "admitted")...');
    out(`  curl -s -X POST ${base}/sales/${sale.id}/queue -H 'authorization: Bearer ${token}'`);
    out('...then buy with the "pass" of the answer:');
    out(
      `  curl -s -X POST ${base}/sales/${sale.id}/purchase -H 'authorization: Bearer ${token}' -H 'x-queue-pass: <pass>' -H 'content-type: application/json' -d '{"quantity":1}'`,
    );
    out('Then look at the order (use the orderId from the answer):');
    out(`  curl -s ${base}/orders/<orderId> -H 'authorization: Bearer ${token}'`);
    out("Another buyer's token: npm run token -- bob");
    const demoOrder = await placeDemoOrder(base, sale.id, token);
    if (demoOrder) {
      out('');
      out(
        `Orders are held ${sale.paymentWindowSeconds ?? 0} s for payment. Alice's order ${demoOrder} is confirmed and waits; pay it as the payment provider would:`,
      );
      out(`  ${payCurl(base, demoOrder, `demo-${Date.now()}`, config.payment.webhookSecret)}`);
      out('or let alice cancel it:');
      out(
        `  curl -s -X POST ${base}/orders/${demoOrder}/cancel -H 'authorization: Bearer ${token}'`,
      );
      out('Any other order: npm run pay -- <orderId>');
    }
    out('');
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
}
