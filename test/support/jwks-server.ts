import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import {
  SignJWT,
  exportJWK,
  generateKeyPair,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { freePort } from './api-process.js';

export type SigningKey = { kid: string; alg: string; privateKey: CryptoKey; publicJwk: JWK };

// A key pair made in the test, its public half as a JWK ready for a key set.
export async function makeKey(alg: 'RS256' | 'ES256' | 'EdDSA', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

export async function signWith(
  key: SigningKey,
  claims: JWTPayload,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
    .sign(key.privateKey);
}

// An identity provider's JWKS endpoint on a free port of its own: serves `keys`, counts the
// fetches, can fail them, and can be stopped and started again on the same port.
export class JwksServer {
  keys: JWK[] = [];
  fetches = 0;
  // While set, every fetch is answered 503: the provider is up but failing.
  failing = false;
  private server: Server | null = null;

  private constructor(readonly port: number) {}

  static async start(keys: JWK[]): Promise<JwksServer> {
    const jwks = new JwksServer(await freePort());
    jwks.keys = keys;
    await jwks.resume();
    return jwks;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/.well-known/jwks.json`;
  }

  async resume(): Promise<void> {
    if (this.server) return;
    const server = createServer((request, response) => {
      this.fetches++;
      if (request.url !== '/.well-known/jwks.json') return void response.writeHead(404).end();
      if (this.failing) return void response.writeHead(503).end();
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: this.keys }));
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
