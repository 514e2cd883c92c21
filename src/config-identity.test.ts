import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const jwks = 'https://idp.example/.well-known/jwks.json';

describe('loadConfig: who a buyer is and what an attempt costs', () => {
  it('verifies HS256 tokens with the development secret when nothing is set', () => {
    const config = loadConfig({});
    expect(config.jwt.secret).toBe('flashline-dev-secret');
    expect(config.jwt.identityProvider).toBeNull();
    expect(config.http.trustedProxies).toEqual([]);
  });

  it('takes an identity provider, with its algorithms, issuer and audiences', () => {
    const sut = loadConfig({
      JWT_JWKS_URL: jwks,
      JWT_ISSUER: 'https://idp.example/',
      JWT_AUDIENCE: 'shop, flashline',
      JWT_ALGORITHMS: 'ES256,EdDSA',
    }).jwt.identityProvider;
    expect(sut).toMatchObject({
      jwksUrl: jwks,
      issuer: 'https://idp.example/',
      audience: ['shop', 'flashline'],
      algorithms: ['ES256', 'EdDSA'],
      cooldownMs: 30_000,
    });
    expect(loadConfig({ JWT_JWKS_URL: jwks }).jwt.identityProvider?.algorithms).toEqual([
      'RS256',
      'ES256',
      'EdDSA',
    ]);
  });

  it.each([
    [{ JWT_SECRET: 'a-long-enough-secret', JWT_JWKS_URL: jwks }, /JWT_SECRET or JWT_JWKS_URL/],
    [{ JWT_ISSUER: 'https://idp.example/' }, /need JWT_JWKS_URL/],
    [{ JWT_AUDIENCE: 'shop' }, /need JWT_JWKS_URL/],
    [{ JWT_JWKS_URL: jwks, JWT_ALGORITHMS: 'RS256,HS256' }, /JWT_ALGORITHMS/],
    [{ JWT_JWKS_URL: jwks, JWT_ALGORITHMS: 'none' }, /JWT_ALGORITHMS/],
    [{ NODE_ENV: 'production', JWT_JWKS_URL: 'http://idp.example/jwks' }, /https/],
    [{ POW_MIN_COST: '2000', POW_MAX_COST: '1000' }, /POW_MIN_COST <= POW_MAX_COST/],
    [{ TRUSTED_PROXIES: '10.0.0.0/8,10.1.2.3/33' }, /TRUSTED_PROXIES/],
    [{ TRUSTED_PROXIES: 'proxy.internal' }, /TRUSTED_PROXIES/],
  ])('refuses %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('treats an empty JWT_SECRET as unset, so a provider can replace it', () => {
    expect(loadConfig({ JWT_SECRET: '', JWT_JWKS_URL: jwks }).jwt.identityProvider).not.toBeNull();
  });

  it('takes trusted proxies as addresses and CIDRs of either family', () => {
    const sut = loadConfig({ TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1, ::1, 2001:db8::/32' });
    expect(sut.http.trustedProxies).toEqual(['10.0.0.0/8', '127.0.0.1', '::1', '2001:db8::/32']);
  });
});
