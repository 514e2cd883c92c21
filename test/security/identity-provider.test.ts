import { setTimeout as sleep } from 'node:timers/promises';
import { createHmac, createPublicKey } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { startSystem, type System } from '../support/system.js';
import { expectError, sendRaw } from '../support/contract.js';
import { JwksServer, makeKey, signWith, type SigningKey } from '../support/jwks-server.js';
import { signBuyerToken } from '../../src/auth/jwt.js';

const issuer = 'https://idp.flashline.test/';
const audience = 'flashline-api';
// Longer than a burst of 20 first-time ES256 checks takes on a loaded two-core machine (a helper
// saw two fetches with 2 s: the second round began after the cooldown had passed).
const cooldownSeconds = 4;
const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
// Buyer tokens signed by an identity provider (API.md): a JWKS endpoint of the test's own,
// with keys made here, in front of the whole system.
// buyer tokens from an identity provider
let env: TestEnv;
let sut: System;
let jwks: JwksServer;
let keys: Record<'rsa' | 'ec' | 'ed', SigningKey>;
let saleId: number;

beforeAll(async () => {
  keys = {
    rsa: await makeKey('RS256', 'rsa-1'),
    ec: await makeKey('ES256', 'ec-1'),
    ed: await makeKey('EdDSA', 'ed-1'),
  };
  jwks = await JwksServer.start(Object.values(keys).map((k) => k.publicJwk));
  env = await createTestEnv('idp', {
    // Empty is unset: the test environment's JWT_SECRET would be a configuration error here.
    JWT_SECRET: '',
    JWT_JWKS_URL: jwks.url,
    JWT_ISSUER: issuer,
    JWT_AUDIENCE: `other-api, ${audience}`,
    JWT_JWKS_COOLDOWN_SECONDS: String(cooldownSeconds),
    JWT_JWKS_MAX_AGE_SECONDS: '1',
  });
  sut = await startSystem(env);
  const created = await sendRaw(
    sut.baseUrl,
    'POST',
    '/admin/sales',
    { authorization: `Bearer ${env.config.auth.adminToken}`, 'content-type': 'application/json' },
    JSON.stringify({ sku: 'idp', name: 'IdP', stock: 1000, perUserLimit: 5 }),
  );
  saleId = (created.body as { id: number }).id;
});
afterAll(async () => {
  await sut?.stop();
  await jwks?.stop();
  await env?.cleanup();
});

const claims = (sub: string, extra: Record<string, unknown> = {}) => ({
  sub,
  iss: issuer,
  aud: audience,
  iat: now(),
  exp: now() + 600,
  ...extra,
});
const purchaseWith = (token: string) =>
  sendRaw(
    sut.baseUrl,
    'POST',
    `/sales/${saleId}/purchase`,
    { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    '{"quantity":1}',
  );
// Waits out the cooldown of the key set's last fetch, so the next unknown kid may fetch.
const pastCooldown = () => sleep(cooldownSeconds * 1000 + 200);

it('accepts RS256, ES256 and EdDSA tokens and names the buyer by sub', async () => {
  for (const [name, key] of Object.entries(keys)) {
    const token = await signWith(key, claims(`buyer-${name}`));
    // Twice: the second answer comes from the verified-token cache.
    for (let i = 0; i < 2; i++) {
      const answer = await purchaseWith(token);
      expect(answer.status, `${name} #${i}`).toBe(202);
      const orderId = (answer.body as { orderId: string }).orderId;
      const order = await sendRaw(sut.baseUrl, 'GET', `/orders/${orderId}`, {
        authorization: `Bearer ${token}`,
      });
      expect(order.status).toBe(200);
      expect(order.body).toMatchObject({ userId: `buyer-${name}` });
    }
  }
});

it('refuses alg confusion, none, a wrong iss or aud, an expired token and the dev secret', async () => {
  const pem = createPublicKey({ key: keys.rsa.publicJwk as never, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' })
    .toString();
  const hmacSigned = (header: object, payload: object, secret: string | Buffer) => {
    const body = `${b64(header)}.${b64(payload)}`;
    return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
  };
  const stranger = await makeKey('RS256', keys.rsa.kid);
  const refused: Record<string, string> = {
    'HS256 signed with the public key': hmacSigned(
      { alg: 'HS256', typ: 'JWT', kid: keys.rsa.kid },
      claims('mallory'),
      pem,
    ),
    'alg none': `${b64({ alg: 'none', typ: 'JWT', kid: keys.rsa.kid })}.${b64(claims('mallory'))}.`,
    'wrong iss': await signWith(keys.rsa, claims('mallory', { iss: 'https://evil.test/' })),
    'no iss': await signWith(keys.ec, claims('mallory', { iss: undefined })),
    'wrong aud': await signWith(keys.ec, claims('mallory', { aud: 'another-api' })),
    'no aud': await signWith(keys.ed, claims('mallory', { aud: undefined })),
    'expired beyond the tolerance': await signWith(keys.ed, claims('m', { exp: now() - 60 })),
    'not valid yet beyond the tolerance': await signWith(
      keys.rsa,
      claims('m', { nbf: now() + 120 }),
    ),
    'no sub': await signWith(keys.rsa, claims('m', { sub: undefined })),
    'sub of 65 characters': await signWith(keys.ec, claims('x'.repeat(65))),
    'no kid': await new SignJWT(claims('mallory'))
      .setProtectedHeader({ alg: 'RS256' })
      .sign(keys.rsa.privateKey),
    'another key under a known kid': await signWith(stranger, claims('mallory')),
    'an HS256 token with the development secret': signBuyerToken('mallory', 'flashline-dev-secret'),
  };
  for (const [why, token] of Object.entries(refused)) {
    for (let i = 0; i < 2; i++) expectError(await purchaseWith(token), 401, 'UNAUTHORIZED');
    const order = await sendRaw(
      sut.baseUrl,
      'GET',
      `/orders/${saleId}-00000000-0000-4000-8000-000000000000`,
      {
        authorization: `Bearer ${token}`,
      },
    );
    expect(order.status, why).toBe(401);
  }
  // Within the clock tolerance (30 s by default) an expiry just past is still honoured.
  expect(
    (await purchaseWith(await signWith(keys.ec, claims('late', { exp: now() - 5 })))).status,
  ).toBe(202);
});

it('picks up a rotated key by its new kid', async () => {
  const next = await makeKey('ES256', 'ec-2');
  const token = await signWith(next, claims('rotated'));
  await pastCooldown();
  jwks.keys = [...jwks.keys, next.publicJwk];
  expect((await purchaseWith(token)).status).toBe(202);
});

it('makes one fetch for a burst of unknown kids, and none within the cooldown', async () => {
  const strangers = await Promise.all(
    Array.from({ length: 20 }, (_, i) => makeKey('ES256', `unknown-${i}`)),
  );
  const tokens = await Promise.all(strangers.map((k) => signWith(k, claims('storm'))));
  await pastCooldown();
  const before = jwks.fetches;
  const answers = await Promise.all(tokens.map(purchaseWith));
  expect(answers.map((a) => a.status)).toEqual(tokens.map(() => 401));
  expect(jwks.fetches - before).toBe(1);
  const again = await Promise.all(tokens.map(purchaseWith));
  expect(again.map((a) => a.status)).toEqual(tokens.map(() => 401));
  expect(jwks.fetches - before).toBe(1);
});

it('keeps verifying with the keys it has while the provider is down', async () => {
  const freshTokensVerify = async (label: string) => {
    for (const [name, key] of Object.entries(keys)) {
      // Signed now, so never verified before: each is checked against the cached keys.
      const fresh = await signWith(key, claims(`${label}-${name}`));
      expect((await purchaseWith(fresh)).status, `${label} ${name}`).toBe(202);
    }
  };
  await pastCooldown();
  const before = jwks.fetches;
  jwks.failing = true;
  try {
    // Past the key set's max age (1 s): a refresh is tried, fails, and the keys stay.
    await sleep(1_200);
    await freshTokensVerify('failing');
    // Unknown kids one after another: the failed refresh's cooldown holds them all back.
    for (let i = 0; i < 10; i++) {
      const stranger = await makeKey('ES256', `during-outage-${i}`);
      expectError(await purchaseWith(await signWith(stranger, claims('x'))), 401, 'UNAUTHORIZED');
    }
    expect(jwks.fetches - before).toBe(1);
    // Gone altogether: connections refused.
    await jwks.stop();
    await freshTokensVerify('stopped');
  } finally {
    jwks.failing = false;
    await jwks.resume();
  }
  // Back up: a new kid is found again once the cooldown allows a fetch.
  const later = await makeKey('EdDSA', 'ed-2');
  jwks.keys = [...jwks.keys, later.publicJwk];
  const token = await signWith(later, claims('after-outage'));
  await waitFor(async () => (await purchaseWith(token)).status === 202, {
    timeoutMs: 10_000,
    intervalMs: 500,
    what: 'a key added after the outage to verify',
  });
});
