import fc from 'fast-check';
import { maxBodyBytes } from '../../../src/api/app.js';
import { signBuyerToken } from '../../../src/auth/jwt.js';
import { badSaleBody, purchaseBody, purchaseQuantity } from './bodies.js';
import {
  adminAuth,
  buyerAuth,
  idempotencyKey,
  noise,
  query,
  saleId,
  subject,
  withAuth,
  type FuzzTarget,
} from './parts.js';

export type HostileRequest = {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  // The statuses the contract allows for this request; null when anything below 500 is.
  expected: number[] | null;
  // True when every part is valid and the request would reserve stock.
  wouldBuy: boolean;
};

// The order id format src/gate/order-id.ts mints: `<sale>-<uuid>`, or `<sale>.<home>-<uuid>`
// for a sale over shards (the buyer's home shard, 0-99). Written out here, not imported, so the
// fuzz judges the API's validation against the format rather than against itself.
const orderIdPattern =
  /^[1-9][0-9]{0,15}(\.(0|[1-9][0-9]?))?-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const purchaseRequest = (t: FuzzTarget): fc.Arbitrary<HostileRequest> =>
  fc
    .record({
      auth: buyerAuth(t),
      sale: saleId(t),
      body: purchaseBody(t.perUserLimit),
      key: idempotencyKey(),
      query: query(),
      noise: noise(),
    })
    .map(({ auth, sale, body, key, query, noise }) => {
      const headers = withAuth({ ...noise }, auth.value);
      if (key.value !== undefined) headers['idempotency-key'] = key.value;
      const quantity = purchaseQuantity(body ?? '');
      const oversize = Buffer.byteLength(body ?? '') > maxBodyBytes;
      const wellFormed =
        sale.kind !== 'malformed' && query === '' && key.valid && quantity !== 'invalid';
      let expected: number[];
      if (oversize) expected = [413];
      else if (!auth.valid) expected = [401];
      else if (!wellFormed) expected = [400];
      else if (sale.kind === 'unknown') expected = [404];
      else if (sale.kind === 'future' || sale.kind === 'ended') expected = [403];
      // No generated X-Altcha is a solution: CHALLENGE_REQUIRED or CHALLENGE_FAILED, before
      // the gate judges the quantity.
      else if (sale.kind === 'pow') expected = [403];
      // Over the limit: the gate refuses it, unless the buyer's bucket ran dry first.
      else expected = [400, 429];
      // API.md: a sale outside its window may be answered 403 before the credentials and the
      // body (once the process has read the sale), except to a request with an
      // Idempotency-Key; a query string is judged after the credentials here.
      const answeredEarly =
        !oversize &&
        (sale.kind === 'future' || sale.kind === 'ended') &&
        key.value === undefined &&
        query === '';
      if (answeredEarly && !expected.includes(403)) expected = [403, ...expected];
      const wouldBuy =
        !oversize &&
        auth.valid &&
        wellFormed &&
        sale.kind === 'open' &&
        (quantity as number) <= t.perUserLimit;
      return {
        method: 'POST',
        path: `/sales/${sale.value}/purchase${query}`,
        headers,
        body,
        expected,
        wouldBuy,
      };
    });

// Everything right but the sale or the quantity: these reach the gate in Redis.
const nearMissPurchase = (t: FuzzTarget): fc.Arbitrary<HostileRequest> =>
  fc
    .record({
      buyer: subject,
      kind: fc.constantFrom('future', 'ended', 'unknown', 'open', 'pow'),
      unknownId: fc.integer({ min: 1_000_000, max: 999_999_999 }),
      quantity: fc.integer({ min: 1, max: 10_000 }),
      key: fc.option(fc.stringMatching(/^[\x21-\x7e]{1,128}$/), { nil: undefined }),
    })
    .map(({ buyer, kind, unknownId, quantity, key }) => {
      // The open sale only ever sees quantities over the limit: it must sell nothing.
      const asked = kind === 'open' ? Math.max(quantity, t.perUserLimit + 1) : quantity;
      const id = kind === 'unknown' ? unknownId : t.sales[kind as 'open'];
      const headers: Record<string, string> = {
        authorization: `Bearer ${signBuyerToken(buyer, t.jwtSecret)}`,
        'content-type': 'application/json',
      };
      if (key) headers['idempotency-key'] = key;
      return {
        method: 'POST',
        path: `/sales/${id}/purchase`,
        headers,
        body: JSON.stringify({ quantity: asked }),
        expected: kind === 'unknown' ? [404] : kind === 'open' ? [400, 429] : [403],
        // (`pow`: its X-Altcha is missing, so 403 CHALLENGE_REQUIRED whatever the quantity.)
        wouldBuy: false,
      };
    });

const orderRequest = (t: FuzzTarget): fc.Arbitrary<HostileRequest> =>
  fc
    .record({
      auth: buyerAuth(t),
      id: fc.oneof(
        fc.tuple(saleId(t), fc.uuid()).map(([s, u]) => `${s.value}-${u}`),
        fc
          .tuple(saleId(t), fc.integer({ min: -1, max: 120 }), fc.uuid())
          .map(([s, home, u]) => `${s.value}.${home}-${u}`),
        fc
          .string({ unit: 'binary', minLength: 1, maxLength: 60 })
          .filter((s) => s !== '.' && s !== '..'),
      ),
      query: query(),
      noise: noise(),
    })
    .map(({ auth, id, query, noise }) => {
      const wellFormed = orderIdPattern.test(id) && query === '';
      const expected = !auth.valid ? [401] : !wellFormed ? [400] : [404];
      return {
        method: 'GET',
        path: `/orders/${encodeURIComponent(id)}${query}`,
        headers: withAuth(noise, auth.value),
        expected,
        wouldBuy: false,
      };
    });

// GET /sales/:saleId/challenge: 401, 400, 404, 409 for a sale without proof of work, else a
// challenge (or 429 once a buyer or this test's address asked too often).
const challengeRequest = (t: FuzzTarget): fc.Arbitrary<HostileRequest> =>
  fc
    .record({ auth: buyerAuth(t), sale: saleId(t), query: query(), noise: noise() })
    .map(({ auth, sale, query, noise }) => {
      let expected: number[];
      if (!auth.valid) expected = [401];
      else if (sale.kind === 'malformed' || query !== '') expected = [400];
      else if (sale.kind === 'unknown') expected = [404];
      else if (sale.kind === 'pow') expected = [200, 429];
      else expected = [409];
      return {
        method: 'GET',
        path: `/sales/${sale.value}/challenge${query}`,
        headers: withAuth(noise, auth.value),
        expected,
        wouldBuy: false,
      };
    });

const saleRequest = (t: FuzzTarget): fc.Arbitrary<HostileRequest> =>
  fc.record({ sale: saleId(t), query: query(), noise: noise() }).map(({ sale, query, noise }) => ({
    method: 'GET',
    path: `/sales/${sale.value}${query}`,
    headers: noise,
    expected:
      sale.kind === 'malformed' || query !== '' ? [400] : sale.kind === 'unknown' ? [404] : [200],
    wouldBuy: false,
  }));

const adminRequest = (t: FuzzTarget): fc.Arbitrary<HostileRequest> =>
  fc
    .record({ auth: adminAuth(t), body: badSaleBody(), query: query(), noise: noise() })
    .map(({ auth, body, query, noise }) => ({
      method: 'POST',
      path: `/admin/sales${query}`,
      headers: withAuth(noise, auth.value),
      body,
      expected: Buffer.byteLength(body) > maxBodyBytes ? [413] : !auth.valid ? [401] : [400],
      wouldBuy: false,
    }));

// Anywhere, with any method: never a 5xx, and an error is always the contract's body.
const strayRequest = (t: FuzzTarget): fc.Arbitrary<HostileRequest> =>
  fc
    .record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
      path: fc.oneof(
        fc.webPath(),
        fc.constantFrom('/admin', '/sales', '/orders', '/admin/sales/1', '/sales/1/purchase/x'),
      ),
      auth: buyerAuth(t),
      noise: noise(),
    })
    .map(({ method, path, auth, noise }) => ({
      method,
      path: path.startsWith('/') ? path : `/${path}`,
      headers: withAuth(noise, auth.value),
      body: method === 'GET' ? undefined : '{"quantity":1}',
      expected: null,
      // A stray path can land on the purchase route with a valid token.
      wouldBuy:
        method === 'POST' &&
        auth.valid &&
        /^\/sales\/[^/]+\/purchase\/?$/.test(path.split(/[?#]/)[0]!),
    }));

// Every endpoint, weighted towards the purchase path that takes stock.
export const hostileRequest = (t: FuzzTarget): fc.Arbitrary<HostileRequest> =>
  fc.oneof(
    { weight: 6, arbitrary: purchaseRequest(t) },
    { weight: 2, arbitrary: nearMissPurchase(t) },
    { weight: 2, arbitrary: orderRequest(t) },
    { weight: 1, arbitrary: saleRequest(t) },
    { weight: 1, arbitrary: challengeRequest(t) },
    { weight: 2, arbitrary: adminRequest(t) },
    { weight: 1, arbitrary: strayRequest(t) },
  );
