import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { purchaseFrontDoor } from './purchase-front.js';
import { AdaptiveAdmission } from './admission/adaptive-admission.js';
import { answerRecorder } from './middleware/http-metrics.js';
import { admissionMetrics } from '../observability/admission-metrics.js';
import { createLogger } from '../observability/logger.js';
import { apiMetrics } from '../observability/metrics.js';

// An admission whose latency limit is 1 and maxLimit 3, with the system rules off (or the heap
// rule always firing: `heapMax` near 0).
function admission(heapMax = 1, windowMs = 1_000) {
  return new AdaptiveAdmission(
    {
      ...{ initialLimit: 1, minLimit: 1, maxLimit: 3, windowMs, rttTolerance: 1.5 },
      ...{ cpuMax: 1, heapMax, rssLimitBytes: Number.MAX_SAFE_INTEGER, floorMemoryMs: 0 },
    },
    admissionMetrics(new Registry()),
    createLogger('silent', 'test'),
  );
}

// The front door over sale 7 (a waiting room's) and sale 8 (none): each purchase's answer, a
// status when it answered (503: shed), or 'app' when it handed the request on.
function door(limiter = admission()) {
  const metrics = apiMetrics(new Registry());
  const front = purchaseFrontDoor({
    admission: limiter,
    roomSale: (saleId) => saleId === 7,
    metrics,
    recordAnswer: answerRecorder(metrics),
  });
  return (saleId: number, headers: Record<string, string> = {}) => {
    let status: number | 'app' = 'app';
    const incoming = { method: 'POST', url: `/sales/${saleId}/purchase`, headers };
    const outgoing = new EventEmitter();
    const answered = front(
      incoming as unknown as IncomingMessage,
      outgoing as unknown as ServerResponse,
      performance.now(),
      (code) => (status = code),
    );
    expect(answered).toBe(status !== 'app');
    return status;
  };
}

it("lets a waiting room's admitted buyers past the latency's limit, up to maxLimit", () => {
  const limiter = admission();
  const buy = door(limiter);
  expect(buy(7)).toBe('app');
  // The limit (1) is reached: a purchase without a pass is shed, one with a pass is not.
  expect(buy(7)).toBe(503);
  expect(limiter.signal().shed).toBe(1);
  expect(buy(7, { 'x-queue-pass': '7.1.1.mac' })).toBe('app');
  expect(buy(7, { 'x-queue-pass': '7.2.1.mac' })).toBe('app');
  // The rooms' outflow hears of each as of a shed: it slows down.
  expect(limiter.signal()).toMatchObject({ shed: 3, inFlight: 3 });
  // maxLimit (3) bounds them too.
  expect(buy(7, { 'x-queue-pass': '7.3.1.mac' })).toBe(503);
});

it('gives no priority for a pass on a sale without a room', () => {
  const buy = door();
  expect(buy(8)).toBe('app');
  expect(buy(8, { 'x-queue-pass': '8.1.1.mac' })).toBe(503);
});

it('sheds admitted buyers too while a memory rule cuts the limit', async () => {
  const cut = admission(1e-9, 20);
  cut.start();
  await new Promise((resolve) => setTimeout(resolve, 80));
  cut.stop();
  expect(cut.tryAcquire(true)).not.toBeNull();
  expect(cut.tryAcquire(true)).toBeNull();
});
