import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../support/env.js';
import { client, startSystem, type System } from '../support/system.js';
import { expectError } from '../support/contract.js';
import { askChallenge, bearer, cheapProofOfWork, getFrom } from '../support/proof-of-work.js';

// The per-buyer and per-address limits on challenge requests (docs/security.md): an address is
// the socket's peer, or X-Forwarded-For's client behind a trusted proxy (here 127.0.0.1; the
// test reaches the API from 127.0.0.2 to be a peer that is not one).
// challenge limits per buyer and per client address
let env: TestEnv;
let sut: System;
let saleCount = 0;

beforeAll(async () => {
  env = await createTestEnv('powlimits', {
    ...cheapProofOfWork,
    CHALLENGE_BUYER_LIMIT: '3',
    CHALLENGE_ADDRESS_LIMIT: '5',
    // A window longer than the test, so no count resets midway.
    CHALLENGE_LIMIT_WINDOW_SECONDS: '300',
    TRUSTED_PROXIES: '127.0.0.1/32',
  });
  sut = await startSystem(env);
});
afterAll(async () => {
  await sut?.stop();
  await env?.cleanup();
});

// Each case on a sale of its own: the limits count per sale.
const newSale = async () => {
  const api = client(sut.baseUrl, env);
  const created = await api.createSale({
    sku: `limits-${saleCount++}`,
    name: 'Limits',
    stock: 10,
    proofOfWork: true,
  });
  return created.body.id as number;
};
const ask = (buyer: string, saleId: number, forwardedFor?: string) =>
  askChallenge(
    sut.baseUrl,
    env,
    buyer,
    saleId,
    forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
  );

it("limits one buyer's challenges, with Retry-After, without touching another buyer's", async () => {
  const saleId = await newSale();
  // Each from an address of its own, so only the buyer's limit is in play.
  for (let i = 0; i < 3; i++)
    expect((await ask('ivy', saleId, `198.51.100.${i}`)).status).toBe(200);
  const limited = await ask('ivy', saleId, '198.51.100.9');
  expectError(limited, 429, 'RATE_LIMITED');
  expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect((await ask('jack', saleId, '198.51.100.10')).status).toBe(200);
});

it('limits one address, and keeps apart the people behind a trusted proxy', async () => {
  const saleId = await newSale();
  for (let i = 0; i < 5; i++) expect((await ask(`direct-${i}`, saleId)).status).toBe(200);
  expectError(await ask('direct-5', saleId), 429, 'RATE_LIMITED');
  // A campus behind the trusted proxy: its own address's bucket is full, theirs are not.
  for (let i = 0; i < 8; i++)
    expect((await ask(`campus-${i}`, saleId, `6.6.6.6, 203.0.113.${i}`)).status).toBe(200);
});

it('groups IPv6 clients by their /64', async () => {
  const saleId = await newSale();
  for (let i = 1; i <= 5; i++)
    expect((await ask(`v6-${i}`, saleId, `2001:db8:7:7::${i}`)).status).toBe(200);
  expectError(await ask('v6-6', saleId, '2001:db8:7:7:ffff::1'), 429, 'RATE_LIMITED');
  expect((await ask('v6-7', saleId, '2001:db8:7:8::1')).status).toBe(200);
});

it('believes no X-Forwarded-For from a peer that is not a trusted proxy', async () => {
  const saleId = await newSale();
  const url = `${sut.baseUrl}/sales/${saleId}/challenge`;
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    const answer = await getFrom('127.0.0.2', url, {
      authorization: bearer(env, `spoof-${i}`),
      'x-forwarded-for': `192.0.2.${i}`,
    });
    statuses.push(answer.status);
  }
  expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
});
