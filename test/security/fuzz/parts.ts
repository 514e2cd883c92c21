import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { sign } from 'hono/jwt';
import { signBuyerToken } from '../../../src/auth/jwt.js';

// What the generators aim at: the sales of the running system and its secrets. `pow` is open
// and asks for proof of work: no generated X-Altcha can be a solution, so it sells nothing.
export type FuzzTarget = {
  sales: Record<'open' | 'future' | 'ended' | 'pow', number>;
  perUserLimit: number;
  jwtSecret: string;
  adminToken: string;
  // Tokens that look right but must be refused, signed once up front.
  forgedTokens: string[];
};

// A generated part of a request, with whether the contract accepts it.
export type Labeled<T = string> = { value: T; valid: boolean };
export type SaleKind = 'open' | 'future' | 'ended' | 'pow' | 'unknown' | 'malformed';

const saleIdPattern = /^[1-9][0-9]{0,14}$/;

// Header values a client can send and Node's parser accepts: no control characters.
const headerSafe = (value: string) =>
  /^[\t\x20-\x7e\x80-\xff]*$/.test(value) && value === value.trim();
export const headerText = (maxLength: number) =>
  fc.string({ unit: 'binary-ascii', maxLength }).filter(headerSafe);

export const subject = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 16 })
  .filter((s) => s.length <= 64);

export async function forgeTokens(secret: string, adminToken: string): Promise<string[]> {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const now = Math.floor(Date.now() / 1000);
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return [
    `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'fuzz' })}.`,
    await sign({ sub: 'fuzz' }, secret, 'HS512'),
    await sign({ sub: 'fuzz' }, secret, 'HS384'),
    await sign({ sub: 'fuzz' }, rsa.export({ format: 'jwk' }) as never, 'RS256'),
    await sign({ sub: 'fuzz', exp: now - 10 }, secret, 'HS256'),
    await sign({ sub: 'fuzz', nbf: now + 3600 }, secret, 'HS256'),
    await sign({ exp: now + 3600 }, secret, 'HS256'),
    await sign({ sub: 'x'.repeat(65) }, secret, 'HS256'),
    await sign({ sub: 12 } as never, secret, 'HS256'),
    signBuyerToken('fuzz', 'a-different-secret'),
    adminToken,
  ];
}

export const withAuth = (headers: Record<string, string>, auth: string | undefined) =>
  auth === undefined ? headers : { ...headers, authorization: auth };

export const buyerAuth = (t: FuzzTarget): fc.Arbitrary<Labeled<string | undefined>> =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: subject.map((s) => ({
        value: `Bearer ${signBuyerToken(s, t.jwtSecret)}`,
        valid: true,
      })),
    },
    subject.map((s) => ({ value: `bearer ${signBuyerToken(s, t.jwtSecret)}`, valid: true })),
    fc
      .constantFrom(...t.forgedTokens)
      .map((forged) => ({ value: `Bearer ${forged}`, valid: false })),
    fc.tuple(subject, fc.nat(), fc.constantFrom(...'AZaz09-_.\u00e9')).map(([s, at, char]) => {
      const token = signBuyerToken(s, t.jwtSecret);
      const i = at % token.length;
      const tampered = token.slice(0, i) + char + token.slice(i + 1);
      return { value: `Bearer ${tampered}`, valid: tampered === token };
    }),
    headerText(300).map((v) => ({ value: v, valid: false })),
    headerText(300).map((v) => ({ value: `Bearer ${v}`.trim(), valid: false })),
    fc.constant({ value: undefined, valid: false }),
  );

export const adminAuth = (t: FuzzTarget): fc.Arbitrary<Labeled<string | undefined>> =>
  fc.oneof(
    fc.constant({ value: `Bearer ${t.adminToken}`, valid: true }),
    fc.constant({
      value: `Basic ${Buffer.from(`admin:${t.adminToken}`).toString('base64')}`,
      valid: true,
    }),
    subject.map((s) => ({ value: `Bearer ${signBuyerToken(s, t.jwtSecret)}`, valid: false })),
    headerText(100).map((v) => ({
      value: `Bearer ${v}`.trim(),
      valid: v === t.adminToken,
    })),
    fc.constant({ value: undefined, valid: false }),
  );

export const saleId = (t: FuzzTarget): fc.Arbitrary<{ value: string; kind: SaleKind }> =>
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .constantFrom('open', 'future', 'ended', 'pow')
        .map((k) => ({ value: String(t.sales[k as 'open']), kind: k as SaleKind })),
    },
    fc
      .integer({ min: 1_000_000, max: 999_999_999 })
      .map((n) => ({ value: String(n), kind: 'unknown' as const })),
    fc
      .oneof(
        fc.constantFrom('0', '-1', '01', '1.5', '1e3', '0x1f', ' 1', '1 ', '9'.repeat(16), 'null'),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
      )
      .filter((raw) => raw !== '.' && raw !== '..')
      .map((raw) => {
        const known = Object.entries(t.sales).find(([, id]) => String(id) === raw);
        const kind: SaleKind = saleIdPattern.test(raw)
          ? ((known?.[0] as SaleKind | undefined) ?? 'unknown')
          : 'malformed';
        return { value: encodeURIComponent(raw), kind };
      }),
  );

export const idempotencyKey = (): fc.Arbitrary<Labeled<string | undefined>> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant({ value: undefined, valid: true }) },
    fc.stringMatching(/^[\x21-\x7e]{1,128}$/).map((v) => ({ value: v, valid: true })),
    fc
      .oneof(
        fc.constant(''),
        fc
          .string({ unit: 'grapheme-ascii', minLength: 129, maxLength: 300 })
          .map((s) => s.replace(/\s/g, 'k')),
        fc.constantFrom('two words', 'cl\u00e9', 'tab\there'),
      )
      .map((v) => ({ value: v, valid: false })),
  );

export const query = (): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant('') },
    fc.constantFrom('?quantity=2', '?x=1', '?__proto__[x]=1', '?buyer=alice'),
  );

const b64 = (text: string) => Buffer.from(text).toString('base64');

// What an X-Altcha header might hold: text, base64 of any JSON, or base64 of a payload shaped
// like ALTCHA's with made-up parameters and solution (never a solution this server signed).
export const altchaHeader = (): fc.Arbitrary<string> =>
  fc.oneof(
    headerText(300),
    fc.json({ maxDepth: 3 }).map(b64),
    fc
      .record({
        algorithm: fc.constantFrom('PBKDF2/SHA-256', 'SHA-256', 'ARGON2ID', ''),
        nonce: fc.oneof(fc.stringMatching(/^[0-9a-f]{32}$/), fc.string()),
        salt: fc.stringMatching(/^[0-9a-f]{0,40}$/),
        cost: fc.oneof(fc.integer(), fc.double(), fc.constant(1e12)),
        keyLength: fc.integer({ min: -1, max: 1e6 }),
        keyPrefix: fc.stringMatching(/^[0-9a-fA-F]{0,80}$/),
        keySignature: fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.string()),
        expiresAt: fc.oneof(fc.integer(), fc.constant(9_999_999_999)),
        data: fc.oneof(fc.object(), fc.record({ buyer: fc.string(), sale: fc.integer() })),
        signature: fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.string()),
        counter: fc.oneof(fc.integer(), fc.double(), fc.string()),
        derivedKey: fc.oneof(fc.stringMatching(/^[0-9a-f]{0,80}$/), fc.string()),
      })
      .map(({ signature, counter, derivedKey, ...parameters }) =>
        b64(
          JSON.stringify({
            challenge: { parameters, signature },
            solution: { counter, derivedKey },
          }),
        ),
      ),
  );

// Headers of the waiting room (issue 23) and of proof of work, sent anywhere: never a 5xx.
const trustHeaders = () =>
  fc.record(
    {
      'x-altcha': altchaHeader(),
      'x-queue-pass': headerText(400),
      'x-queue-ticket': headerText(400),
    },
    { requiredKeys: [] },
  );

export const noise = (): fc.Arbitrary<Record<string, string>> =>
  fc.tuple(otherNoise(), trustHeaders()).map(([headers, trust]) => ({ ...headers, ...trust }));

const otherNoise = (): fc.Arbitrary<Record<string, string>> =>
  fc.record(
    {
      'content-type': fc.constantFrom(
        'application/json',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/json; charset=latin1',
      ),
      'x-request-id': headerText(300),
      accept: fc.constantFrom('*/*', 'text/html', 'application/xml'),
    },
    { requiredKeys: [] },
  );
