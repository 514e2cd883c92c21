import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { declaredBodyLimit } from './body-limit.js';

const sut = new Hono()
  .use(declaredBodyLimit({ maxSize: 16, onError: (c) => c.text('too large', 413) }))
  .post('/', async (c) => c.text(`read ${(await c.req.text()).length}`));

const stream = (bytes: number) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new Uint8Array(bytes).fill(120));
      controller.close();
    },
  });

describe('declaredBodyLimit', () => {
  it('refuses a declared Content-Length over the limit without reading the body', async () => {
    const response = await sut.request('/', {
      method: 'POST',
      body: 'x'.repeat(17),
      headers: { 'content-length': '17' },
    });
    expect(response.status).toBe(413);
  });

  it('lets a body within the limit through, readable by the handler', async () => {
    const response = await sut.request('/', {
      method: 'POST',
      body: 'x'.repeat(16),
      headers: { 'content-length': '16' },
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('read 16');
  });

  it('counts a streamed body without Content-Length as it arrives', async () => {
    const over = await sut.request('/', { method: 'POST', body: stream(17), duplex: 'half' });
    expect(over.status).toBe(413);
    const within = await sut.request('/', { method: 'POST', body: stream(16), duplex: 'half' });
    expect(await within.text()).toBe('read 16');
  });
});
