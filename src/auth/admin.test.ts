import { describe, expect, it } from 'vitest';
import { adminTokenMatches, isAdminAuthorization } from './admin.js';

const token = 'admin-token-for-tests';
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('isAdminAuthorization', () => {
  it('accepts the bearer token, with the scheme in any case', () => {
    expect(isAdminAuthorization(`Bearer ${token}`, token)).toBe(true);
    expect(isAdminAuthorization(`bearer ${token}`, token)).toBe(true);
  });

  it('accepts basic auth admin:<token> and nothing else over basic', () => {
    expect(isAdminAuthorization(basic('admin', token), token)).toBe(true);
    expect(isAdminAuthorization(basic('root', token), token)).toBe(false);
    expect(isAdminAuthorization(basic('admin', 'wrong'), token)).toBe(false);
    expect(isAdminAuthorization(`Basic ${Buffer.from(token).toString('base64')}`, token)).toBe(
      false,
    );
  });

  it('refuses missing, empty, partial and padded tokens', () => {
    for (const header of [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      `Bearer ${token.slice(0, -1)}`,
      `Bearer ${token}x`,
      `Bearer ${token} extra`,
      `Token ${token}`,
      token,
    ]) {
      expect(isAdminAuthorization(header, token), String(header)).toBe(false);
    }
  });
});

describe('adminTokenMatches', () => {
  // timingSafeEqual throws on buffers of different lengths; hashing first avoids that and
  // keeps the comparison's duration independent of where the inputs differ.
  it('compares tokens of any length without throwing', () => {
    expect(adminTokenMatches('', token)).toBe(false);
    expect(adminTokenMatches('x'.repeat(10_000), token)).toBe(false);
    expect(adminTokenMatches(token, token)).toBe(true);
  });
});
