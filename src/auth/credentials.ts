// The credentials of an Authorization header. The scheme is case-insensitive (RFC 9110);
// the credentials are one token68-like word with no spaces inside.
const authorizationPattern = /^([A-Za-z]+) +([^\s]+) *$/;

export type Credentials = { scheme: 'bearer' | 'basic'; value: string };

export function parseAuthorization(header: string | undefined): Credentials | null {
  const match = header ? authorizationPattern.exec(header) : null;
  if (!match) return null;
  const scheme = match[1]!.toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'basic') return null;
  return { scheme, value: match[2]! };
}
