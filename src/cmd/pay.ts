import { randomUUID } from 'node:crypto';
import { loadConfig } from '../config.js';
import { payCurl } from './pay-command.js';

// `npm run pay -- <orderId> [paymentId]` prints the signed webhook call that pays the order.
const orderId = process.argv[2];
if (!orderId) {
  process.stderr.write('usage: npm run pay -- <orderId> [paymentId]\n');
  process.exit(2);
}
const config = loadConfig();
const paymentId = process.argv[3] ?? `pay-${randomUUID()}`;
process.stdout.write(
  `${payCurl(`http://localhost:${config.http.port}`, orderId, paymentId, config.payment.webhookSecret)}\n`,
);
