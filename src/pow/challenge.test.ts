import fc from 'fast-check';
import { solveChallenge as librarySolve, verifySolution, type Challenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';
import { describe, expect, it } from 'vitest';
import { challengeSecrets, createSaleChallenge } from './challenge.js';
import { checkSolution } from './solution.js';
import { solveChallenge } from './browser-solver.js';

const secrets = challengeSecrets('unit-test-pow-secret-0123');
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');
const decode = (header: string) =>
  JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as {
    challenge: Challenge;
    solution: { counter: number; derivedKey: string };
  };

async function solved(buyer = 'alice', saleId = 7, nowMs = Date.now()) {
  const challenge = await createSaleChallenge(secrets, {
    buyer,
    saleId,
    cost: 2,
    attempts: 6,
    lifetimeSeconds: 60,
    nowMs,
  });
  return (await solveChallenge(challenge as never))!;
}

// What altcha-lib's own verifySolution says of a payload (the reference checkSolution follows).
async function libraryVerifies(header: string): Promise<boolean> {
  try {
    const { challenge, solution } = decode(header);
    const result = await verifySolution({
      challenge,
      solution,
      deriveKey,
      hmacSignatureSecret: secrets.signature,
      hmacKeySignatureSecret: secrets.keySignature,
    });
    return result.verified;
  } catch {
    return false;
  }
}

describe('createSaleChallenge', () => {
  it("makes challenges altcha-lib's own solver solves and its verifier accepts", async () => {
    const challenge = await createSaleChallenge(secrets, {
      buyer: 'alice',
      saleId: 7,
      cost: 3,
      attempts: 10,
      lifetimeSeconds: 60,
    });
    expect(challenge.parameters).toMatchObject({
      algorithm: 'PBKDF2/SHA-256',
      cost: 3,
      keyLength: 32,
    });
    expect(challenge.parameters.keyPrefix).toMatch(/^[0-9a-f]{32}$/);
    const solution = await librarySolve({ challenge, deriveKey });
    expect(solution?.counter).toBeGreaterThanOrEqual(5);
    expect(solution?.counter).toBeLessThanOrEqual(15);
    const verified = await verifySolution({
      challenge,
      solution: solution!,
      deriveKey,
      hmacSignatureSecret: secrets.signature,
      hmacKeySignatureSecret: secrets.keySignature,
    });
    expect(verified).toMatchObject({ verified: true, expired: false });
    // The page's solver finds the same solution.
    const header = (await solveChallenge(challenge as never))!;
    expect(JSON.parse(Buffer.from(header, 'base64').toString()).solution).toMatchObject({
      counter: solution!.counter,
      derivedKey: solution!.derivedKey,
    });
  });
});

describe('checkSolution', () => {
  it('accepts a solution of a challenge it issued, for its buyer and sale only', async () => {
    const header = await solved();
    expect(checkSolution(secrets, header, 'alice', 7)).toMatchObject({ kind: 'solved' });
    expect(checkSolution(secrets, header, 'bob', 7)).toEqual({
      kind: 'failed',
      reason: 'other_buyer',
    });
    expect(checkSolution(secrets, header, 'alice', 8)).toEqual({
      kind: 'failed',
      reason: 'other_sale',
    });
    expect(checkSolution(secrets, undefined, 'alice', 7)).toEqual({ kind: 'missing' });
    const other = challengeSecrets('another-secret-entirely');
    expect(checkSolution(other, header, 'alice', 7)).toEqual({ kind: 'failed', reason: 'wrong' });
  });

  it('refuses an expired challenge', async () => {
    const header = await solved('alice', 7, Date.now() - 120_000);
    expect(checkSolution(secrets, header, 'alice', 7)).toEqual({
      kind: 'failed',
      reason: 'expired',
    });
  });

  it("agrees with altcha-lib's verifySolution on tampered payloads", async () => {
    const genuine = decode(await solved());
    const mutation = fc.oneof(
      fc.record({
        path: fc.constant('solution.derivedKey'),
        value: fc.stringMatching(/^[0-9a-f]{0,70}$/),
      }),
      fc.record({
        path: fc.constant('solution.counter'),
        value: fc.oneof(fc.integer(), fc.double(), fc.constant(-1), fc.constant(2 ** 32)),
      }),
      fc.record({
        path: fc.constantFrom('parameters.cost', 'parameters.expiresAt', 'parameters.keyLength'),
        value: fc.oneof(fc.integer({ min: 1, max: 9_999_999_999 }), fc.constant(1)),
      }),
      fc.record({
        path: fc.constantFrom(
          'parameters.keyPrefix',
          'parameters.keySignature',
          'parameters.salt',
          'signature',
        ),
        value: fc.stringMatching(/^[0-9a-f]{0,64}$/),
      }),
      fc.record({ path: fc.constant('parameters.extra'), value: fc.jsonValue() }),
      fc.record({ path: fc.constant('none'), value: fc.constant(null) }),
    );
    await fc.assert(
      fc.asyncProperty(mutation, async ({ path, value }) => {
        const payload = structuredClone(genuine) as unknown as Record<
          string,
          Record<string, unknown>
        >;
        const challenge = payload.challenge as unknown as Record<string, Record<string, unknown>>;
        if (path.startsWith('solution.')) payload.solution![path.slice(9)] = value;
        else if (path.startsWith('parameters.')) challenge.parameters![path.slice(11)] = value;
        else if (path === 'signature') (challenge as Record<string, unknown>).signature = value;
        const header = encode(payload);
        const mine = checkSolution(secrets, header, 'alice', 7).kind === 'solved';
        expect(mine, `${path} = ${JSON.stringify(value)}`).toBe(await libraryVerifies(header));
      }),
      { numRuns: 150 },
    );
  });
});
