import { generateKeyPairSync } from 'node:crypto';
import { sign } from 'hono/jwt';
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { useSystem } from '../support/use-system.js';
import { expectError, sendRaw, stockState } from '../support/contract.js';
import { signBuyerToken } from '../../src/auth/jwt.js';
import { mintOrderId } from '../../src/gate/order-id.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

// who may do what
const system = useSystem('tokens');
let saleId: number;
let secret: string;

beforeAll(async () => {
  secret = system.env.config.jwt.secret;
  const created = await system.api.createSale({ sku: 'tokens', name: 'Tokens', stock: 50 });
  saleId = created.body.id;
});

const purchaseWith = (authorization: string) =>
  sendRaw(
    system.sut.baseUrl,
    'POST',
    `/sales/${saleId}/purchase`,
    { authorization, 'content-type': 'application/json' },
    '{"quantity":1}',
  );

describe('buyer tokens', () => {
  // Every way a bearer token can be wrong, each one a 401 that changes nothing.
  const forged = async (): Promise<Record<string, string>> => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const [header, , signature] = signBuyerToken('alice', secret).split('.');
    return {
      'alg none': `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice' })}.`,
      'HS512 with the right secret': `Bearer ${await sign({ sub: 'alice' }, secret, 'HS512')}`,
      'HS384 with the right secret': `Bearer ${await sign({ sub: 'alice' }, secret, 'HS384')}`,
      RS256: `Bearer ${await sign({ sub: 'alice' }, rsa.export({ format: 'jwk' }) as never, 'RS256')}`,
      'wrong secret': `Bearer ${signBuyerToken('alice', 'another-secret-123')}`,
      'payload swapped': `Bearer ${header}.${b64({ sub: 'mallory' })}.${signature}`,
      expired: `Bearer ${await sign({ sub: 'alice', exp: now() - 5 }, secret, 'HS256')}`,
      'not yet valid': `Bearer ${await sign({ sub: 'alice', nbf: now() + 600 }, secret)}`,
      'missing sub': `Bearer ${await sign({ exp: now() + 60 }, secret, 'HS256')}`,
      'empty sub': `Bearer ${signBuyerToken('', secret)}`,
      'sub of 65 characters': `Bearer ${signBuyerToken('x'.repeat(65), secret)}`,
      'numeric sub': `Bearer ${await sign({ sub: 7 } as never, secret, 'HS256')}`,
      'the admin token': `Bearer ${system.env.config.auth.adminToken}`,
      'basic auth': `Basic ${Buffer.from(`alice:${secret}`).toString('base64')}`,
      'no scheme': signBuyerToken('alice', secret),
      'two tokens': `Bearer ${signBuyerToken('alice', secret)} ${signBuyerToken('bob', secret)}`,
      empty: '',
    };
  };

  it('refuses every forged, foreign, expired or malformed token with 401', async () => {
    const before = await stockState(system.env, [saleId]);
    for (const [why, authorization] of Object.entries(await forged())) {
      const answer = await purchaseWith(authorization);
      expect(answer.status, why).toBe(401);
      expectError(answer, 401, 'UNAUTHORIZED');
      const order = await sendRaw(system.sut.baseUrl, 'GET', `/orders/${mintOrderId(saleId)}`, {
        authorization,
      });
      expect(order.status, `GET /orders with ${why}`).toBe(401);
    }
    expect(await stockState(system.env, [saleId])).toEqual(before);
  });

  it('accepts HS256 with the configured secret, a 64-character sub and a future exp', async () => {
    const longest = 'b'.repeat(64);
    const token = await sign({ sub: longest, exp: now() + 600 }, secret, 'HS256');
    const answer = await purchaseWith(`Bearer ${token}`);
    expect(answer.status).toBe(202);
    // The scheme is case-insensitive (RFC 9110).
    expect((await purchaseWith(`bearer ${signBuyerToken('lower', secret)}`)).status).toBe(202);
  });
});

describe('admin token', () => {
  const createWith = (authorization: string, sku: string) =>
    sendRaw(
      system.sut.baseUrl,
      'POST',
      '/admin/sales',
      { authorization, 'content-type': 'application/json' },
      JSON.stringify({ sku, name: sku, stock: 1 }),
    );

  it('refuses near misses and buyer tokens, and asks a browser for basic auth', async () => {
    const token = system.env.config.auth.adminToken;
    const attempts = {
      'buyer token': `Bearer ${signBuyerToken('admin', secret)}`,
      'one character short': `Bearer ${token.slice(0, -1)}`,
      'one character more': `Bearer ${token}x`,
      'other case': `Bearer ${token.toUpperCase()}`,
      'basic with another user': `Basic ${Buffer.from(`root:${token}`).toString('base64')}`,
      'basic without a user': `Basic ${Buffer.from(token).toString('base64')}`,
    };
    for (const [why, authorization] of Object.entries(attempts)) {
      const answer = await createWith(authorization, 'admin-refused');
      expect(answer.status, why).toBe(401);
      expectError(answer, 401, 'UNAUTHORIZED');
      expect(answer.headers.get('www-authenticate')).toMatch(/^Basic /);
    }
    const state = await stockState(system.env, []);
    expect(state.sales.map((s) => s.sku)).not.toContain('admin-refused');
  });

  it('accepts the bearer token and basic auth admin:<ADMIN_TOKEN>', async () => {
    const token = system.env.config.auth.adminToken;
    expect((await createWith(`Bearer ${token}`, 'admin-bearer')).status).toBe(201);
    const basic = `Basic ${Buffer.from(`admin:${token}`).toString('base64')}`;
    expect((await createWith(basic, 'admin-basic')).status).toBe(201);
  });
});

describe("another buyer's order", () => {
  it('is a 404 exactly like a missing order, once confirmed', async () => {
    const placed = await system.api.purchase(saleId, 'owner-1');
    expect(placed.status).toBe(202);
    const orderId = placed.body.orderId as string;
    await waitFor(
      async () => (await system.api.order(orderId, 'owner-1')).body.status === 'confirmed',
    );

    const foreign = await system.api.order(orderId, 'intruder');
    expectError(foreign, 404, 'ORDER_NOT_FOUND');
    const missing = await system.api.order(mintOrderId(saleId), 'intruder');
    expect(foreign.body).toEqual(missing.body);
  });

  it('is a 404 while the order is still in flight (answered from Redis)', async () => {
    const orderId = mintOrderId(saleId);
    const gate = system.sut.api.deps.gate;
    // Reserved at the gate but never published: no row, only the reservation.
    const outcome = await gate.reserve({ saleId, orderId, buyer: 'owner-2', quantity: 1 });
    expect(outcome.kind).toBe('reserved');
    try {
      const own = await system.api.order(orderId, 'owner-2');
      expect(own.status).toBe(200);
      expect(own.body).toMatchObject({ orderId, userId: 'owner-2', status: 'pending' });
      expectError(await system.api.order(orderId, 'intruder'), 404, 'ORDER_NOT_FOUND');
    } finally {
      await gate.release(saleId, orderId, 'test_cleanup');
    }
  });
});
