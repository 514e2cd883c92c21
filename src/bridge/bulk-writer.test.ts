import { describe, expect, it } from 'vitest';
import { createLogger } from '../observability/logger.js';
import type { OrderJob } from '../orders/queue.js';
import { BulkWriter, type BulkWriterOptions, type Pending } from './bulk-writer.js';
import { orders } from './orders.fixture.js';

// A writer whose queue records each addBulk (or refuses the first `failures` of them), and
// whose callbacks record what was stored and handed back.
function writer(options: Partial<BulkWriterOptions<string, string>> & { failures?: number } = {}) {
  const bulks: string[][] = [];
  const stored: [string, string[]][] = [];
  const handedBack: string[] = [];
  const counts = { forwarded: 0, enqueue_failed: 0, unparseable: 0 };
  let failures = options.failures ?? 0;
  const sut = new BulkWriter<string, string>({
    queue: {
      addBulk: async (jobs: readonly OrderJob[]) => {
        if (failures-- > 0) throw new Error('redis is away');
        bulks.push(jobs.map((j) => j.opts.jobId));
      },
    },
    logger: createLogger('silent', 'test'),
    counters: {
      forwarded: () => (counts.forwarded += 1),
      failed: (reason) => (counts[reason] += 1),
    },
    maxBulk: 5,
    retryDelayMs: 5,
    stored: (channel, bulk) => stored.push([channel, bulk.map((p) => p.message)]),
    mayRetry: () => true,
    handBack: (_channel, message) => handedBack.push(message),
    ...options,
  });
  // Writes a message of these orders; resolves when it is stored or handed back.
  const write = (channel: string, message: string, ...ids: string[]) =>
    new Promise<void>((done) => {
      const pending: Pending<string, string> = { channel, message, orders: orders(...ids), done };
      sut.write(pending);
    });
  return { sut, write, bulks, stored, handedBack, counts };
}

describe('BulkWriter', () => {
  it('stores the messages written in one turn with one addBulk', async () => {
    const { write, bulks, stored, counts } = writer();
    await Promise.all([write('ch', 'm1', 'a'), write('ch', 'm2', 'b', 'c')]);
    expect(bulks).toEqual([['a', 'b', 'c']]);
    expect(stored).toEqual([['ch', ['m1', 'm2']]]);
    expect(counts.forwarded).toBe(3);
  });

  it('keeps a bulk within maxBulk orders without splitting a message', async () => {
    const { write, bulks } = writer();
    await Promise.all([
      write('ch', 'm1', 'a', 'b'),
      write('ch', 'm2', 'c', 'd'),
      write('ch', 'm3', 'e', 'f'),
      write('ch', 'm4', '1', '2', '3', '4', '5', '6', '7'),
    ]);
    expect(bulks).toEqual([
      ['a', 'b', 'c', 'd'],
      ['e', 'f'],
      ['1', '2', '3', '4', '5', '6', '7'],
    ]);
  });

  it('stores the messages of each channel in bulks of their own, in order', async () => {
    const { write, stored } = writer();
    await Promise.all([write('one', 'm1', 'a'), write('two', 'm2', 'b'), write('one', 'm3', 'c')]);
    expect(stored).toEqual([
      ['one', ['m1']],
      ['two', ['m2']],
      ['one', ['m3']],
    ]);
  });

  it('stores the messages written during a store together in the next bulk', async () => {
    const { write, bulks } = writer();
    const first = write('ch', 'm1', 'a');
    // The first bulk is being stored once this turn's writes have left.
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([first, write('ch', 'm2', 'b'), write('ch', 'm3', 'c')]);
    expect(bulks).toEqual([['a'], ['b', 'c']]);
  });

  it('stores a refused bulk again after the delay while its channel is open', async () => {
    const { write, bulks, stored, handedBack, counts } = writer({ failures: 2 });
    await write('ch', 'm1', 'a', 'b');
    expect(bulks).toEqual([['a', 'b']]);
    expect(stored).toEqual([['ch', ['m1']]]);
    expect(handedBack).toEqual([]);
    expect(counts).toMatchObject({ enqueue_failed: 4, forwarded: 2 });
  });

  it('hands a refused bulk back message by message once its channel is gone', async () => {
    const { write, bulks, stored, handedBack } = writer({ failures: 1, mayRetry: () => false });
    await Promise.all([write('ch', 'm1', 'a'), write('ch', 'm2', 'b')]);
    expect(handedBack).toEqual(['m1', 'm2']);
    expect([bulks, stored]).toEqual([[], []]);
  });
});
