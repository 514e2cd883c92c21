import { request } from 'node:http';
import type { TestEnv } from './env.js';
import { sendRaw, type RawAnswer } from './contract.js';
import { signBuyerToken } from '../../src/auth/jwt.js';
import { solveChallenge } from '../../src/pow/browser-solver.js';

// Settings that keep every challenge a few milliseconds' work in a test: the cost curve is
// still the real one, between its own bounds.
export const cheapProofOfWork = {
  POW_MIN_COST: '1',
  POW_MAX_COST: '20',
  POW_ATTEMPTS: '20',
  POW_CROWD_RATE: '10',
};

export const bearer = (env: TestEnv, buyer: string) =>
  `Bearer ${signBuyerToken(buyer, env.config.jwt.secret)}`;

export function askChallenge(
  baseUrl: string,
  env: TestEnv,
  buyer: string,
  saleId: number,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  return sendRaw(baseUrl, 'GET', `/sales/${saleId}/challenge`, {
    authorization: bearer(env, buyer),
    ...headers,
  });
}

// A challenge asked for and solved the way a page would: the X-Altcha value.
export async function solvedChallenge(
  baseUrl: string,
  env: TestEnv,
  buyer: string,
  saleId: number,
): Promise<string> {
  const answer = await askChallenge(baseUrl, env, buyer, saleId);
  if (answer.status !== 200) throw new Error(`challenge: ${answer.status} ${answer.text}`);
  const solution = await solveChallenge(answer.body);
  if (!solution) throw new Error('challenge not solved');
  return solution;
}

export function purchaseWithSolution(
  baseUrl: string,
  env: TestEnv,
  buyer: string,
  saleId: number,
  altcha: string | undefined,
  extra: Record<string, string> = {},
  body = '{"quantity":1}',
): Promise<RawAnswer> {
  return sendRaw(
    baseUrl,
    'POST',
    `/sales/${saleId}/purchase`,
    {
      authorization: bearer(env, buyer),
      'content-type': 'application/json',
      ...(altcha === undefined ? {} : { 'x-altcha': altcha }),
      ...extra,
    },
    body,
  );
}

// A GET sent from another loopback address (127.0.0.2, ...): a peer that is not 127.0.0.1.
export function getFrom(
  localAddress: string,
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers, localAddress }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
