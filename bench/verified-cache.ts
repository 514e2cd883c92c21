// What a buyer remembered verified costs the API's heap, against what the caches count for it
// (src/auth/verified-cache.ts: the characters of the token and buyer, plus overheadBytes).
// The budget API_VERIFIED_CACHE_MB holds only if the count is not below the heap's bytes.
//
//   node --expose-gc --import tsx bench/verified-cache.ts [buyers]
import { generateKeyPair, SignJWT, createLocalJWKSet, exportJWK } from 'jose';
import { IdentityTokens } from '../src/auth/identity-tokens.js';
import { Hs256Tokens, signBuyerToken } from '../src/auth/jwt.js';
import { overheadBytes } from '../src/auth/verified-cache.js';
import { RoomTokens } from '../src/room/tokens.js';

const buyers = Number(process.argv[2] ?? 100_000);
const gc = (globalThis as { gc?: (options: object) => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const budget = 2 ** 31;
const secret = 'flashline-dev-secret';
const idOf = (i: number) => `buyer-${String(i).padStart(7, '0')}`;

function heapUsed(): number {
  for (let i = 0; i < 2; i++) gc!({ type: 'major', execution: 'sync' });
  return process.memoryUsage().heapUsed;
}

// Heap bytes per buyer that `fill` left held, against the bytes the cache counted for them.
// The tokens and ids are made inside `fill`: held afterwards only by the cache, as in the API.
async function measure(name: string, fill: () => Promise<{ held: unknown; counted: number }>) {
  const before = heapUsed();
  const { held, counted } = await fill();
  const perBuyer = (heapUsed() - before) / buyers;
  const countedPerBuyer = counted / buyers;
  process.stdout.write(
    `${name}: ${perBuyer.toFixed(0)} bytes of heap a buyer, counted ${countedPerBuyer.toFixed(0)}` +
      ` (${(countedPerBuyer / perBuyer).toFixed(2)}x)${held ? '' : '?'}\n`,
  );
}

// An identity provider's RS256 token: several times the characters of an HS256 one. Its key
// is made first, so the garbage of making it is not measured.
const { privateKey, publicKey } = await generateKeyPair('RS256');
const keySet = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), alg: 'RS256' }] });
const options = { issuer: null, audience: null, algorithms: ['RS256' as const] };
const provider = { ...options, clockToleranceSeconds: 30, maxAgeMs: 600_000, cacheBytes: budget };
await measure('buyer JWT, HS256', async () => {
  const cache = new Hs256Tokens(secret, budget);
  let counted = 0;
  for (let i = 0; i < buyers; i++) {
    const jwt = signBuyerToken(idOf(i), secret);
    cache.verify(jwt);
    counted += overheadBytes.jwt + jwt.length + idOf(i).length;
  }
  return { held: cache, counted };
});

await measure('room ticket', async () => {
  const cache = new RoomTokens('flashline-dev-queue-pass', budget);
  const issuer = new RoomTokens('flashline-dev-queue-pass', 1);
  let counted = 0;
  for (let i = 0; i < buyers; i++) {
    const ticket = { saleId: 1, place: i + 1, joinedAtMs: Date.now(), admitted: false };
    const token = issuer.ticket(idOf(i), ticket);
    cache.readTicket(idOf(i), 1, token);
    counted += overheadBytes.ticket + token.length + idOf(i).length;
  }
  return { held: cache, counted };
});

await measure('buyer JWT, identity provider (RS256)', async () => {
  const cache = new IdentityTokens(keySet, provider);
  let counted = 0;
  for (let i = 0; i < buyers; i++) {
    const jwt = await new SignJWT({ sub: idOf(i), iss: 'https://id.example', aud: 'flashline' })
      .setProtectedHeader({ alg: 'RS256' })
      .setExpirationTime('1h')
      .setIssuedAt()
      .sign(privateKey);
    await cache.verify(jwt);
    counted += overheadBytes.jwt + jwt.length + idOf(i).length;
  }
  return { held: cache, counted };
});
process.stdout.write(`${buyers} buyers, overheadBytes ${JSON.stringify(overheadBytes)}\n`);
