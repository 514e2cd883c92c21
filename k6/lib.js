// Shared helpers for the k6 scenarios (see ops/README.md for how to run them).
//
// Environment:
//   BASE_URL     API base URL                  (default http://localhost:3000)
//   JWT_SECRET   HS256 secret of buyer tokens  (default flashline-dev-secret, as compose)
//   ADMIN_TOKEN  admin bearer token            (default flashline-dev-admin, as compose)
//   PAYMENT_WEBHOOK_SECRET  signs the payment webhook (default flashline-dev-payment-webhook)
import { check, fail } from 'k6';
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';
import http from 'k6/http';
import { Rate } from 'k6/metrics';

export const BASE_URL = (__ENV.BASE_URL || 'http://localhost:3000').replace(/\/+$/, '');
export const JWT_SECRET = __ENV.JWT_SECRET || 'flashline-dev-secret';
export const ADMIN_TOKEN = __ENV.ADMIN_TOKEN || 'flashline-dev-admin';
export const PAYMENT_WEBHOOK_SECRET =
  __ENV.PAYMENT_WEBHOOK_SECRET || 'flashline-dev-payment-webhook';

// Refusals (409, 429, ...) are answers, not failures: only 5xx and transport errors count.
// A 503 with Retry-After is the API shedding load on purpose over its adaptive admission
// limit (ADMISSION, src/api/admission/): it is counted as `shed`, not as a server error. A 503 without
// Retry-After (a dependency down) stays a server error.
// This makes the built-in http_req_failed count transport errors and other 5xx only...
http.setResponseCallback(http.expectedStatuses({ min: 100, max: 499 }, 503));
// ...and server_errors counts every 5xx but shedding, whatever the response callback.
export const serverErrors = new Rate('server_errors');
export const shed = new Rate('shed');

export function isShed(res) {
  return res.status === 503 && Boolean(res.headers['Retry-After']);
}

export function trackServerErrors(res) {
  const wasShed = isShed(res);
  shed.add(wasShed);
  serverErrors.add(res.status === 0 || (res.status >= 500 && !wasShed));
  return res;
}

// Thresholds every scenario shares: fewer than 1% server errors, fewer than 5% of requests
// shed for overload, and 99% of checks passing.
export const commonThresholds = {
  http_req_failed: ['rate<0.01'],
  server_errors: ['rate<0.01'],
  shed: ['rate<0.05'],
  checks: ['rate>0.99'],
};

const JSON_HEADERS = { 'Content-Type': 'application/json' };

function b64url(text) {
  return encoding.b64encode(text, 'rawurl');
}

// HS256 JWT, signed here so the scenarios need nothing but k6.
export function signJwt(claims, secret = JWT_SECRET) {
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = b64url(JSON.stringify(claims));
  const signature = crypto.hmac('sha256', secret, `${header}.${payload}`, 'base64rawurl');
  return `${header}.${payload}.${signature}`;
}

// A buyer token: the buyer id is the `sub` claim (1-64 characters).
export function buyerToken(buyerId, ttlSeconds = 3600) {
  const now = Math.floor(Date.now() / 1000);
  return signJwt({ sub: String(buyerId), iat: now, exp: now + ttlSeconds });
}

// A short id for this run, so SKUs and buyer ids never meet those of an earlier run.
export function runId() {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1296)
    .toString(36)
    .padStart(2, '0')}`;
}

export function parseJson(res) {
  try {
    return res.json();
  } catch (_e) {
    return null;
  }
}

export function errorCode(res) {
  const body = parseJson(res);
  return body && body.error ? body.error.code : undefined;
}

// POST /admin/sales; call from setup(). Aborts the test unless the sale is created.
export function createSale({
  sku,
  name,
  stock,
  perUserLimit = 1,
  startsAt,
  endsAt,
  paymentWindowSeconds,
  shards,
}) {
  const body = { sku, name: name || sku, stock, perUserLimit };
  if (startsAt) body.startsAt = startsAt;
  if (endsAt) body.endsAt = endsAt;
  if (paymentWindowSeconds) body.paymentWindowSeconds = paymentWindowSeconds;
  if (shards) body.shards = shards;
  const res = http.post(`${BASE_URL}/admin/sales`, JSON.stringify(body), {
    headers: { ...JSON_HEADERS, Authorization: `Bearer ${ADMIN_TOKEN}` },
    tags: { name: 'create_sale' },
  });
  const sale = parseJson(res);
  const ok = check(res, {
    'sale created (201)': (r) => r.status === 201,
    'sale has an id': () => Boolean(sale && sale.id !== undefined && sale.id !== null),
  });
  if (!ok) {
    fail(`POST /admin/sales answered ${res.status}: ${res.body}`);
  }
  return sale;
}

export function getSale(saleId, tags = {}) {
  return trackServerErrors(
    http.get(`${BASE_URL}/sales/${encodeURIComponent(saleId)}`, {
      tags: { name: 'get_sale', ...tags },
    }),
  );
}

// POST /sales/:saleId/purchase as `buyer` (a buyer id, or { token } to reuse a signed token).
export function purchase(saleId, buyer, { quantity = 1, idempotencyKey, tags = {} } = {}) {
  const token = typeof buyer === 'object' && buyer.token ? buyer.token : buyerToken(buyer);
  const headers = { ...JSON_HEADERS, Authorization: `Bearer ${token}` };
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  return trackServerErrors(
    http.post(
      `${BASE_URL}/sales/${encodeURIComponent(saleId)}/purchase`,
      JSON.stringify({ quantity }),
      { headers, tags: { name: 'purchase', ...tags } },
    ),
  );
}

// GET /orders/:orderId as its buyer.
export function getOrder(orderId, buyer, tags = {}) {
  const token = typeof buyer === 'object' && buyer.token ? buyer.token : buyerToken(buyer);
  return trackServerErrors(
    http.get(`${BASE_URL}/orders/${encodeURIComponent(orderId)}`, {
      headers: { Authorization: `Bearer ${token}` },
      tags: { name: 'get_order', ...tags },
    }),
  );
}

// POST /payments/webhook as the payment provider: the raw body signed with HMAC-SHA256.
export function payOrder(orderId, paymentId, tags = {}) {
  const body = JSON.stringify({ orderId, paymentId });
  const signature = crypto.hmac('sha256', PAYMENT_WEBHOOK_SECRET, body, 'hex');
  return trackServerErrors(
    http.post(`${BASE_URL}/payments/webhook`, body, {
      headers: { ...JSON_HEADERS, 'X-Signature': `sha256=${signature}` },
      tags: { name: 'payment_webhook', ...tags },
    }),
  );
}
