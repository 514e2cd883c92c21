import { request } from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { useSystem } from '../support/use-system.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { expectError, stockState } from '../support/contract.js';
import { maxBodyBytes } from '../../src/api/app.js';

type SocketAnswer = { status: number; headers: Headers; body: unknown };

// Sends a body over a real socket, either with a content-length or chunked without one
// (the case hono's bodyLimit once let through), in pieces of `chunkBytes`. It stops writing
// once the server has answered, as a client would, and uses a fresh connection each time.
function post(
  port: number,
  path: string,
  headers: Record<string, string>,
  body: string,
  { chunked = false, chunkBytes = 1024 } = {},
): Promise<SocketAnswer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: false,
        headers: chunked
          ? { ...headers, 'transfer-encoding': 'chunked' }
          : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        answered = true;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (piece: string) => (text += piece));
        res.on('end', () => {
          const answerHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (typeof value === 'string') answerHeaders.set(name, value);
          }
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // Left as text for the assertion to show.
          }
          resolve({ status: res.statusCode ?? 0, headers: answerHeaders, body: parsed });
        });
      },
    );
    // Once answered, the server may close while the rest of the body is still on its way.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    void (async () => {
      for (let at = 0; at < body.length && !answered && !req.destroyed; at += chunkBytes) {
        await new Promise<void>((done) => req.write(body.slice(at, at + chunkBytes), () => done()));
      }
      if (!req.destroyed) req.end();
    })();
  });
}

// A purchase body of exactly `bytes` bytes: valid JSON padded with spaces.
const purchaseBodyOf = (bytes: number) => {
  const core = '{"quantity":1}';
  return `${core.slice(0, -1)}${' '.repeat(bytes - core.length)}}`;
};

describe(`the ${maxBodyBytes}-byte body limit`, () => {
  const system = useSystem('bodylimit');
  let saleId: number;
  const answers: Answer[] = [];

  beforeAll(async () => {
    const created = await system.api.createSale({ sku: 'limit', name: 'Limit', stock: 50 });
    saleId = created.body.id;
  });

  const buy = async (buyer: string, body: string, options: { chunked?: boolean } = {}) => {
    const answer = await post(
      system.sut.api.port,
      `/sales/${saleId}/purchase`,
      system.api.buyerHeaders(buyer),
      body,
      options,
    );
    const orderId = (answer.body as { orderId?: string } | null)?.orderId;
    answers.push({ status: answer.status, orderId, buyer, quantity: 1 });
    return answer;
  };

  it('413 for a chunked body without content-length, and nothing reserved', async () => {
    const before = await stockState(system.env, [saleId]);
    for (const size of [maxBodyBytes + 1, 20 * 1024, 1024 * 1024]) {
      const answer = await buy(`chunked-${size}`, purchaseBodyOf(size), { chunked: true });
      expectError(answer, 413, 'PAYLOAD_TOO_LARGE');
    }
    expect(await stockState(system.env, [saleId])).toEqual(before);
  });

  it('413 for a declared content-length over the limit', async () => {
    const answer = await buy('declared', purchaseBodyOf(maxBodyBytes + 1));
    expectError(answer, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('413 on the admin endpoint too, before anything is parsed', async () => {
    const admin = {
      authorization: `Bearer ${system.env.config.auth.adminToken}`,
      'content-type': 'application/json',
    };
    const body = JSON.stringify({ sku: 'huge', name: 'n'.repeat(maxBodyBytes), stock: 1 });
    const answer = await post(system.sut.api.port, '/admin/sales', admin, body, { chunked: true });
    expectError(answer, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('counts and times every 413 in the request metrics, though the app never saw them', async () => {
    const text = await (await fetch(`${system.sut.baseUrl}/metrics`)).text();
    const tooLarge = (metric: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith(`${metric}{`) && l.includes('status="413"'))
        .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    // The three chunked, the declared one and the admin one above.
    expect(tooLarge('flashline_http_requests_total')).toBe(5);
    expect(tooLarge('flashline_http_request_duration_seconds_count')).toBe(5);
  });

  it('accepts a body of exactly the limit, chunked or not, and reads it whole', async () => {
    expect((await buy('exact-declared', purchaseBodyOf(maxBodyBytes))).status).toBe(202);
    const chunked = await buy('exact-chunked', purchaseBodyOf(maxBodyBytes), { chunked: true });
    expect(chunked.status).toBe(202);
    const small = await buy('small-chunked', '{"quantity":1}', { chunked: true });
    expect(small.status).toBe(202);
    await assertOracle(system.env, saleId, answers);
  });
});
