import { errors } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { JwksServer, makeKey } from '../support/jwks-server.js';
import { IdentityKeys } from '../../src/auth/identity-keys.js';
import { TransientError } from '../../src/errors/transient-error.js';
import { createLogger } from '../../src/observability/logger.js';

const logger = createLogger('silent', 'identity-keys-test');
const options = { cooldownMs: 30_000, maxAgeMs: 600_000, maxStaleMs: 3_600_000, timeoutMs: 2_000 };

// The key set's clock is the test's: hours pass in a line.
describe('IdentityKeys against a real JWKS endpoint', () => {
  let jwks: JwksServer | undefined;
  afterEach(async () => {
    await jwks?.stop();
  });

  it('answers 503 (a TransientError), not 401, while it has never had the keys', async () => {
    const key = await makeKey('ES256', 'k1');
    jwks = await JwksServer.start([key.publicJwk]);
    jwks.failing = true;
    let clock = 1_000_000;
    const sut = new IdentityKeys({ ...options, jwksUrl: jwks.url }, logger, () => clock);
    await expect(sut.getKey({ alg: 'ES256', kid: 'k1' }, undefined as never)).rejects.toThrow(
      TransientError,
    );
    // Within the cooldown nothing is fetched again; after it, the provider is asked again.
    await expect(sut.getKey({ alg: 'ES256', kid: 'k1' }, undefined as never)).rejects.toThrow(
      TransientError,
    );
    expect(jwks.fetches).toBe(1);
    jwks.failing = false;
    clock += options.cooldownMs;
    await expect(sut.getKey({ alg: 'ES256', kid: 'k1' }, undefined as never)).resolves.toBeTruthy();
    expect(jwks.fetches).toBe(2);
  });

  it('trusts keys it could not refresh for maxStaleMs, then stops trusting them', async () => {
    const key = await makeKey('RS256', 'r1');
    jwks = await JwksServer.start([key.publicJwk]);
    let clock = 5_000_000;
    const sut = new IdentityKeys({ ...options, jwksUrl: jwks.url }, logger, () => clock);
    const lookup = () => sut.getKey({ alg: 'RS256', kid: 'r1' }, undefined as never);
    await expect(lookup()).resolves.toBeTruthy();
    await jwks.stop();
    clock += options.maxStaleMs;
    await expect(lookup()).resolves.toBeTruthy();
    clock += options.cooldownMs + 1;
    await expect(lookup()).rejects.toThrow(TransientError);
  });

  it('refuses a token without a kid, and never fetches for it', async () => {
    const key = await makeKey('EdDSA', 'e1');
    jwks = await JwksServer.start([key.publicJwk]);
    const sut = new IdentityKeys({ ...options, jwksUrl: jwks.url }, logger);
    await expect(sut.getKey({ alg: 'EdDSA' }, undefined as never)).rejects.toThrow(
      errors.JWKSNoMatchingKey,
    );
    expect(jwks.fetches).toBe(0);
  });
});
