import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Hs256Tokens, signBuyerToken } from './jwt.js';

const secret = 'cache-test-secret';
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const signed = (payload: object, key = secret) => {
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`;
  return `${head}.${createHmac('sha256', key).update(head).digest('base64url')}`;
};

// The verified-token cache must never change an answer: each case asks twice.
const tokens = new Hs256Tokens(secret, 2 ** 20);
const verifyBuyerToken = (token: string, key: string, now?: number) =>
  (key === secret ? tokens : new Hs256Tokens(key, 2 ** 20)).verify(token, now);
const knownBuyerToken = (token: string, key: string, now?: number) =>
  (key === secret ? tokens : new Hs256Tokens(key, 2 ** 20)).known(token, now);

describe('Hs256Tokens.verify with its cache of verified tokens', () => {
  it('still expires a token it has verified before', () => {
    const token = signBuyerToken('alice', secret, 100, 1_000);
    expect(verifyBuyerToken(token, secret, 1_050)).toBe('alice');
    expect(verifyBuyerToken(token, secret, 1_050)).toBe('alice');
    expect(verifyBuyerToken(token, secret, 1_100)).toBeNull();
    expect(verifyBuyerToken(token, secret, 1_099.5)).toBe('alice');
  });

  it('still refuses a token before its nbf, then accepts it', () => {
    const token = signed({ sub: 'bob', nbf: 2_000 });
    expect(verifyBuyerToken(token, secret, 1_999)).toBeNull();
    expect(verifyBuyerToken(token, secret, 2_000)).toBe('bob');
    expect(verifyBuyerToken(token, secret, 1_999)).toBeNull();
  });

  it('does not accept a token verified under one secret under another', () => {
    const token = signBuyerToken('carol', secret);
    expect(verifyBuyerToken(token, secret)).toBe('carol');
    expect(verifyBuyerToken(token, 'another-secret')).toBeNull();
    expect(verifyBuyerToken(token, 'another-secret')).toBeNull();
  });

  it('keeps refusing a token with a bad signature or malformed claims', () => {
    const forged = signed({ sub: 'dave' }, 'not-the-secret');
    const badExp = signed({ sub: 'erin', exp: 'tomorrow' });
    for (let i = 0; i < 2; i++) {
      expect(verifyBuyerToken(forged, secret)).toBeNull();
      expect(verifyBuyerToken(badExp, secret)).toBeNull();
    }
  });

  it('answers the same once the cache has let a token go for want of room', () => {
    const small = new Hs256Tokens(secret, 4_096);
    const token = signBuyerToken('frank', secret);
    expect(small.verify(token)).toBe('frank');
    for (let i = 0; i < 100; i++) small.verify(signBuyerToken(`filler-${i}`, secret));
    expect(small.known(token)).toBeUndefined();
    expect(small.verify(token)).toBe('frank');
  });
});

// The lookup alone (the poll's front door): verifyBuyerToken's answer for a token it verified,
// nothing for one it did not, and never an HMAC of its own.
describe('Hs256Tokens.known', () => {
  it('knows only tokens verified before, and expires them as verifyBuyerToken does', () => {
    const token = signBuyerToken('gina', secret, 100, 1_000);
    expect(knownBuyerToken(token, secret, 1_050)).toBeUndefined();
    expect(verifyBuyerToken(token, secret, 1_050)).toBe('gina');
    expect(knownBuyerToken(token, secret, 1_099.5)).toBe('gina');
    expect(knownBuyerToken(token, secret, 1_100)).toBeNull();
    expect(knownBuyerToken(token, 'another-secret', 1_050)).toBeUndefined();
    const nbf = signed({ sub: 'hank', nbf: 2_000 });
    expect(verifyBuyerToken(nbf, secret, 2_000)).toBe('hank');
    expect(knownBuyerToken(nbf, secret, 1_999)).toBeNull();
  });

  it('does not know a token verifyBuyerToken refused', () => {
    const forged = signed({ sub: 'ian' }, 'not-the-secret');
    expect(verifyBuyerToken(forged, secret)).toBeNull();
    expect(knownBuyerToken(forged, secret)).toBeUndefined();
  });
});
