import { describe, expect, it } from 'vitest';
import { ExpiryScheduler } from './expiry-scheduler.js';

// A scheduler over a queue that records its adds, and sales whose windows are counted reads.
function scheduler(windows: Record<number, number | null | Error>) {
  const added: { jobId: string | undefined; delay: number | undefined }[] = [];
  const reads: number[] = [];
  const sut = new ExpiryScheduler(
    {
      add: async (_name, _data, opts) => {
        added.push({ jobId: opts?.jobId, delay: opts?.delay });
        return undefined as never;
      },
    },
    async (saleId) => {
      reads.push(saleId);
      const window = windows[saleId];
      if (window instanceof Error) throw window;
      return window ?? null;
    },
  );
  return { sut, added, reads };
}

describe('ExpiryScheduler', () => {
  it("schedules an order's expiry at its pay_by, or at now + the sale's window", async () => {
    const { sut, added } = scheduler({ 1: 300 });
    await sut.schedule({ id: '1-a', saleId: 1 }, new Date(Date.now() + 60_000));
    await sut.schedule({ id: '1-b', saleId: 1 });
    expect(added.map((a) => a.jobId)).toEqual(['expire-1-a', 'expire-1-b']);
    expect(added[0]!.delay).toBeGreaterThan(59_000);
    expect(added[0]!.delay).toBeLessThanOrEqual(60_000);
    expect(added[1]!.delay).toBeGreaterThan(299_000);
    expect(added[1]!.delay).toBeLessThanOrEqual(300_000);
  });

  it('schedules nothing for a sale without a window', async () => {
    const { sut, added } = scheduler({ 2: null });
    await sut.schedule({ id: '2-a', saleId: 2 }, new Date());
    expect(added).toEqual([]);
  });

  it("reads a sale's window once, and again only after a read failed", async () => {
    const { sut, reads } = scheduler({ 1: 300, 3: new Error('database away') });
    await sut.schedule({ id: '1-a', saleId: 1 });
    await sut.schedule({ id: '1-b', saleId: 1 });
    await expect(sut.schedule({ id: '3-a', saleId: 3 })).rejects.toThrow('database away');
    await expect(sut.schedule({ id: '3-b', saleId: 3 })).rejects.toThrow('database away');
    expect(reads).toEqual([1, 3, 3]);
  });
});
