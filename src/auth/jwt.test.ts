import { createHmac, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sign, verify } from 'hono/jwt';
import { signBuyerToken, verifyBuyerToken } from './jwt.js';

const secret = 'unit-test-secret-0123456789';
const now = Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

// A token with any header and payload, signed HS256 over exactly what it carries.
function handMade(header: unknown, payload: unknown, key = secret): string {
  const body = `${b64(header)}.${b64(payload)}`;
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
}

describe('verifyBuyerToken against tokens signed by hono/jwt', () => {
  it('accepts HS256 with the configured secret and returns the subject', async () => {
    const sut = await sign({ sub: 'alice', exp: now + 60 }, secret, 'HS256');
    expect(verifyBuyerToken(sut, secret)).toBe('alice');
  });

  it('accepts a token without exp, and a subject of exactly 64 characters', async () => {
    expect(verifyBuyerToken(await sign({ sub: 'bob' }, secret, 'HS256'), secret)).toBe('bob');
    const longest = 'x'.repeat(64);
    expect(verifyBuyerToken(await sign({ sub: longest }, secret, 'HS256'), secret)).toBe(longest);
  });

  it.each(['HS384', 'HS512'] as const)('refuses %s even with the right secret', async (alg) => {
    const sut = await sign({ sub: 'alice', exp: now + 60 }, secret, alg);
    expect(verifyBuyerToken(sut, secret)).toBeNull();
  });

  it('refuses RS256 and ES256 tokens', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const rs = await sign({ sub: 'alice' }, rsa.export({ format: 'jwk' }) as never, 'RS256');
    const es = await sign({ sub: 'alice' }, ec.export({ format: 'jwk' }) as never, 'ES256');
    expect(verifyBuyerToken(rs, secret)).toBeNull();
    expect(verifyBuyerToken(es, secret)).toBeNull();
  });

  it('refuses a token signed with another secret', async () => {
    const sut = await sign({ sub: 'alice' }, 'some-other-secret', 'HS256');
    expect(verifyBuyerToken(sut, secret)).toBeNull();
  });

  it('refuses an expired token, and one not valid yet', async () => {
    expect(verifyBuyerToken(await sign({ sub: 'a', exp: now - 1 }, secret), secret)).toBeNull();
    expect(verifyBuyerToken(await sign({ sub: 'a', exp: now }, secret), secret, now)).toBeNull();
    expect(verifyBuyerToken(await sign({ sub: 'a', nbf: now + 60 }, secret), secret)).toBeNull();
  });

  it('refuses a missing, empty, non-string or over-long subject', async () => {
    for (const payload of [
      { exp: now + 60 },
      { sub: '' },
      { sub: 42 },
      { sub: ['alice'] },
      { sub: 'x'.repeat(65) },
    ]) {
      const sut = await sign(payload as never, secret, 'HS256');
      expect(verifyBuyerToken(sut, secret), JSON.stringify(payload)).toBeNull();
    }
  });

  it('agrees with hono/jwt verify on tokens we sign', async () => {
    const sut = signBuyerToken('carol', secret, 60);
    await expect(verify(sut, secret, 'HS256')).resolves.toMatchObject({ sub: 'carol' });
    expect(verifyBuyerToken(sut, secret)).toBe('carol');
  });
});

describe('verifyBuyerToken against forged tokens', () => {
  it('refuses alg none, with or without a signature', () => {
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice' })}.`;
    expect(verifyBuyerToken(unsigned, secret)).toBeNull();
    expect(verifyBuyerToken(handMade({ alg: 'none' }, { sub: 'alice' }), secret)).toBeNull();
  });

  it('refuses a header naming another algorithm even when the HS256 MAC matches', () => {
    expect(verifyBuyerToken(handMade({ alg: 'HS512' }, { sub: 'alice' }), secret)).toBeNull();
    expect(verifyBuyerToken(handMade({ alg: 'RS256' }, { sub: 'alice' }), secret)).toBeNull();
    expect(verifyBuyerToken(handMade({ alg: 'hs256' }, { sub: 'alice' }), secret)).toBeNull();
  });

  it('refuses a payload swapped under a valid signature', () => {
    const [header, , signature] = signBuyerToken('alice', secret).split('.');
    const forged = `${header}.${b64({ sub: 'mallory' })}.${signature}`;
    expect(verifyBuyerToken(forged, secret)).toBeNull();
  });

  it('refuses subjects PostgreSQL could not store', () => {
    expect(verifyBuyerToken(handMade({ alg: 'HS256' }, { sub: 'a\u0000b' }), secret)).toBeNull();
    expect(verifyBuyerToken(handMade({ alg: 'HS256' }, { sub: 'a\ud800' }), secret)).toBeNull();
    expect(verifyBuyerToken(handMade({ alg: 'HS256' }, { sub: 'zoë 😀' }), secret)).toBe('zoë 😀');
  });

  it('refuses non-numeric exp and nbf', () => {
    expect(verifyBuyerToken(handMade({ alg: 'HS256' }, { sub: 'a', exp: 'never' }), secret)).toBe(
      null,
    );
    expect(verifyBuyerToken(handMade({ alg: 'HS256' }, { sub: 'a', nbf: '0' }), secret)).toBe(null);
  });

  it('answers null, never throws, for malformed tokens', () => {
    const good = signBuyerToken('alice', secret);
    const latin1Signature = `${good.split('.').slice(0, 2).join('.')}.${'é'.repeat(43)}`;
    for (const sut of [
      '',
      '.',
      '..',
      'a.b',
      'a.b.c.d',
      `${good}.`,
      `.${good}`,
      latin1Signature,
      good.replace(/.$/, '='),
      `${b64([1, 2])}.${b64('text')}.${'A'.repeat(43)}`,
    ]) {
      expect(() => verifyBuyerToken(sut, secret)).not.toThrow();
      expect(verifyBuyerToken(sut, secret), sut).toBeNull();
    }
  });
});
