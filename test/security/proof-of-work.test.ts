import { setTimeout as sleep } from 'node:timers/promises';
import { pbkdf2Sync } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestEnv } from '../support/env.js';
import { type Client, type System, openSystem, closeSystem } from '../support/system.js';
import { expectError, sendRaw, stockState } from '../support/contract.js';
import { createSaleOk } from '../support/sales.js';
import {
  askChallenge,
  bearer,
  cheapProofOfWork,
  purchaseWithSolution,
  solvedChallenge,
} from '../support/proof-of-work.js';
import { solveChallenge } from '../../src/pow/browser-solver.js';
import { challengeSecrets, createSaleChallenge } from '../../src/pow/challenge.js';
import { costFor } from '../../src/pow/crowd.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');
const decode = (altcha: string) => JSON.parse(Buffer.from(altcha, 'base64').toString('utf8'));
// proof of work (API.md, sales with proofOfWork)
let env: TestEnv;
let sut: System;
let api: Client;
let powSale: number;
let otherPowSale: number;
let plainSale: number;

beforeAll(async () => {
  ({ env, sut, api } = await openSystem('pow', {
    ...cheapProofOfWork,
    POW_CHALLENGE_SECONDS: '60',
  }));
  const create = async (sku: string, extra: Record<string, unknown>) => {
    const created = await api.createSale({
      sku,
      name: sku,
      stock: 100,
      perUserLimit: 2,
      ...extra,
    });
    expect(created.status).toBe(201);
    return created.body.id as number;
  };
  powSale = await create('pow', { proofOfWork: true });
  otherPowSale = await create('pow-other', { proofOfWork: true });
  plainSale = await create('plain', {});
});
afterAll(() => closeSystem(sut, env));

const solved = (buyer: string, saleId = powSale) =>
  solvedChallenge(sut.baseUrl, env, buyer, saleId);
const buy = (buyer: string, altcha: string | undefined, saleId = powSale, extra = {}) =>
  purchaseWithSolution(sut.baseUrl, env, buyer, saleId, altcha, extra);

it('shows proofOfWork on the sale object, false unless asked for, and refuses a non-boolean', async () => {
  expect((await api.sale(powSale)).body.proofOfWork).toBe(true);
  expect((await api.sale(plainSale)).body.proofOfWork).toBe(false);
  const bad = await api.createSale({ sku: 'pow-bad', name: 'x', stock: 1, proofOfWork: 'yes' });
  expect(bad.status).toBe(400);
});

it('issues a challenge bound to the buyer and the sale, signed, expiring within minutes', async () => {
  const before = Math.floor(Date.now() / 1000);
  const answer = await askChallenge(sut.baseUrl, env, 'alice', powSale);
  expect(answer.status).toBe(200);
  expect(answer.headers.get('cache-control')).toBe('private, no-store');
  const { parameters, signature } = answer.body;
  expect(signature).toMatch(/^[0-9a-f]{64}$/);
  expect(parameters).toMatchObject({
    algorithm: 'PBKDF2/SHA-256',
    data: { buyer: 'alice', sale: powSale },
    keySignature: expect.stringMatching(/^[0-9a-f]{64}$/),
  });
  expect(parameters.cost).toBeGreaterThanOrEqual(1);
  expect(parameters.cost).toBeLessThanOrEqual(20);
  expect(parameters.expiresAt).toBeGreaterThanOrEqual(before + 59);
  expect(parameters.expiresAt).toBeLessThanOrEqual(before + 61);
});

it('answers the challenge route 401, 400, 404 and 409 in the contract order', async () => {
  const path = `/sales/${powSale}/challenge`;
  expectError(await sendRaw(sut.baseUrl, 'GET', path), 401, 'UNAUTHORIZED');
  const auth = { authorization: bearer(env, 'bob') };
  expectError(await sendRaw(sut.baseUrl, 'GET', '/sales/0x1/challenge', auth), 400, 'BAD_REQUEST');
  expectError(await sendRaw(sut.baseUrl, 'GET', `${path}?cost=1`, auth), 400, 'BAD_REQUEST');
  expectError(await askChallenge(sut.baseUrl, env, 'bob', 987_654_321), 404, 'SALE_NOT_FOUND');
  expectError(await askChallenge(sut.baseUrl, env, 'bob', plainSale), 409, 'NO_PROOF_OF_WORK');
});

it('sells to a solved challenge, and refuses a missing, unreadable, forged or expired one', async () => {
  const refused = async (why: string, altcha: string | undefined, code: string) => {
    const before = await stockState(env, [powSale]);
    const answer = await buy('carol', altcha);
    expect(answer.status, why).toBe(403);
    expectError(answer, 403, code);
    expect(await stockState(env, [powSale]), why).toEqual(before);
  };
  await refused('missing', undefined, 'CHALLENGE_REQUIRED');
  await refused('empty', '', 'CHALLENGE_REQUIRED');
  await refused('not base64', 'not base64 at all!', 'CHALLENGE_FAILED');
  await refused('base64 of no JSON', Buffer.from('hello').toString('base64'), 'CHALLENGE_FAILED');
  await refused('JSON of another shape', b64({ challenge: 1, solution: 2 }), 'CHALLENGE_FAILED');
  await refused('far too long', 'A'.repeat(6000), 'CHALLENGE_FAILED');

  const genuine = decode(await solved('carol'));
  const wrongKey = { ...genuine, solution: { ...genuine.solution, derivedKey: '00'.repeat(32) } };
  await refused('a wrong derived key', b64(wrongKey), 'CHALLENGE_FAILED');
  // A real attempt that is not the solution: the key of the next counter, honestly derived.
  const { nonce, salt, cost } = genuine.challenge.parameters;
  const password = Buffer.concat([Buffer.from(nonce, 'hex'), Buffer.alloc(4)]);
  password.writeUInt32BE(genuine.solution.counter + 1, 16);
  const nextKey = pbkdf2Sync(password, Buffer.from(salt, 'hex'), cost, 32, 'sha256').toString(
    'hex',
  );
  const notTheSolution = {
    ...genuine,
    solution: { counter: genuine.solution.counter + 1, derivedKey: nextKey },
  };
  await refused('an attempt that is not the solution', b64(notTheSolution), 'CHALLENGE_FAILED');
  const cheaper = {
    ...genuine,
    challenge: { ...genuine.challenge, parameters: { ...genuine.challenge.parameters, cost: 1 } },
  };
  await refused('parameters changed under the signature', b64(cheaper), 'CHALLENGE_FAILED');
  const unsigned = { ...genuine, challenge: { parameters: genuine.challenge.parameters } };
  await refused('no signature', b64(unsigned), 'CHALLENGE_FAILED');

  const forgedSecrets = challengeSecrets('not-the-server-secret-0123');
  const forged = await createSaleChallenge(forgedSecrets, {
    buyer: 'carol',
    saleId: powSale,
    cost: 1,
    attempts: 5,
    lifetimeSeconds: 60,
  });
  await refused(
    'signed with another secret',
    (await solveChallenge(forged as never))!,
    'CHALLENGE_FAILED',
  );

  // Made with the server's own secret ten minutes ago: genuine, but expired.
  const serverSecrets = challengeSecrets(env.config.pow.secret);
  const old = await createSaleChallenge(serverSecrets, {
    buyer: 'carol',
    saleId: powSale,
    cost: 1,
    attempts: 5,
    lifetimeSeconds: 60,
    nowMs: Date.now() - 600_000,
  });
  await refused('expired', (await solveChallenge(old as never))!, 'CHALLENGE_FAILED');

  expect((await buy('carol', b64(genuine))).status).toBe(202);
});

it("refuses a replayed solution, another buyer's and another sale's", async () => {
  const dave = await solved('dave');
  expect((await buy('dave', dave)).status).toBe(202);
  expectError(await buy('dave', dave), 403, 'CHALLENGE_FAILED');

  const erin = await solved('erin');
  expectError(await buy('mallory', erin), 403, 'CHALLENGE_FAILED');
  const forOtherSale = await solved('frank', otherPowSale);
  expectError(await buy('frank', forOtherSale), 403, 'CHALLENGE_FAILED');
  // Refused unused: the rightful buyer and sale still get theirs through.
  expect((await buy('erin', erin)).status).toBe(202);
  expect((await buy('frank', forOtherSale, otherPowSale)).status).toBe(202);
});

it('keeps the contract order: 401, then 400, then the challenge', async () => {
  const answer = await sendRaw(
    sut.baseUrl,
    'POST',
    `/sales/${powSale}/purchase`,
    { 'content-type': 'application/json' },
    '{"quantity":1}',
  );
  expectError(answer, 401, 'UNAUTHORIZED');
  const badBody = await purchaseWithSolution(
    sut.baseUrl,
    env,
    'gina',
    powSale,
    undefined,
    {},
    '{"quantity":0}',
  );
  expectError(badBody, 400, 'BAD_REQUEST');
  const badKey = await buy('gina', undefined, powSale, { 'idempotency-key': 'two words' });
  expectError(badKey, 400, 'BAD_REQUEST');
  expectError(await buy('gina', undefined, 987_654_321), 404, 'SALE_NOT_FOUND');
  // A sale without proof of work ignores the header, whatever it holds.
  expect((await buy('gina', undefined, plainSale)).status).toBe(202);
  expect((await buy('gina', 'garbage', plainSale)).status).toBe(202);
});

it('lets a retry with the same Idempotency-Key through to its first order, and nothing else', async () => {
  const altcha = await solved('hank');
  const first = await buy('hank', altcha, powSale, { 'idempotency-key': 'hank-1' });
  expect(first.status).toBe(202);
  const retry = await buy('hank', altcha, powSale, { 'idempotency-key': 'hank-1' });
  expect(retry.status).toBe(202);
  expect(retry.body.orderId).toBe(first.body.orderId);
  expectError(
    await buy('hank', altcha, powSale, { 'idempotency-key': 'hank-2' }),
    403,
    'CHALLENGE_FAILED',
  );
  expectError(await buy('hank', altcha), 403, 'CHALLENGE_FAILED');
});

it('raises the cost under a burst of attempts and lets it fall back once the burst is over', async () => {
  const curve = { minCost: 1, maxCost: 20, crowdRate: 10 };
  const saleId = await createSaleOk(api, {
    sku: 'pow-crowd',
    name: 'Crowd',
    stock: 5,
    proofOfWork: true,
  });
  const costOf = async (buyer: string) => {
    const answer = await askChallenge(sut.baseUrl, env, buyer, saleId);
    expect(answer.status).toBe(200);
    return answer.body.parameters.cost as number;
  };
  expect(await costOf('quiet-0')).toBe(costFor(1, curve));
  const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => costOf(`crowd-${i}`)));
  expect(Math.max(...burst)).toBe(curve.maxCost);
  // Two seconds without attempts: the one asking is alone again.
  await sleep(2_100);
  expect(await costOf('quiet-1')).toBe(costFor(1, curve));
});

it('prices a challenge asked before the sale starts at the highest cost', async () => {
  const created = await api.createSale({
    sku: 'pow-early',
    name: 'Early',
    stock: 5,
    proofOfWork: true,
    startsAt: new Date(Date.now() + 3_600_000).toISOString(),
  });
  const answer = await askChallenge(sut.baseUrl, env, 'early-bird', created.body.id as number);
  expect(answer.status).toBe(200);
  expect(answer.body.parameters.cost).toBe(20);
});
