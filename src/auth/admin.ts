import { createHash, timingSafeEqual } from 'node:crypto';
import { parseAuthorization } from './credentials.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

// Compares hashes, so neither the token's length nor its content leaks through timing.
export function adminTokenMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

// Accepts `Bearer <ADMIN_TOKEN>`, or basic auth `admin:<ADMIN_TOKEN>` for the bull-board UI.
export function isAdminAuthorization(header: string | undefined, adminToken: string): boolean {
  const credentials = parseAuthorization(header);
  if (!credentials) return false;
  if (credentials.scheme === 'bearer') return adminTokenMatches(credentials.value, adminToken);
  const decoded = Buffer.from(credentials.value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  // Both halves are always compared, so a wrong user name takes as long as a wrong token.
  const userOk = adminTokenMatches(decoded.slice(0, colon), 'admin');
  const tokenOk = adminTokenMatches(decoded.slice(colon + 1), adminToken);
  return userOk && tokenOk;
}
