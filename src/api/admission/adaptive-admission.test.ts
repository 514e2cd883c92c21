import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Registry } from 'prom-client';
import { AdaptiveAdmission, type AdmissionOptions } from './adaptive-admission.js';
import { admissionMetrics } from '../../observability/admission-metrics.js';
import { createLogger } from '../../observability/logger.js';

const baseOptions: AdmissionOptions = {
  initialLimit: 50,
  minLimit: 2,
  maxLimit: 1_000,
  windowMs: 100,
  rttTolerance: 1.5,
  // The system rules read this process's real CPU and memory: off, so only the model moves it.
  cpuMax: 1,
  heapMax: 1,
  rssLimitBytes: Number.MAX_SAFE_INTEGER,
  floorMemoryMs: 5_000,
};

function started(options: AdmissionOptions): AdaptiveAdmission {
  const admission = new AdaptiveAdmission(
    options,
    admissionMetrics(new Registry()),
    createLogger('silent', 'test'),
  );
  admission.start();
  return admission;
}

// A closed crowd of `clients`: each presses, waits `rtt()` ms if let in, and presses again
// 20 ms after a refusal. Time is fake, so the run is exact and instant.
function crowd(admission: AdaptiveAdmission, rtt: () => number) {
  let clients = 0;
  let completed = 0;
  const press = () => {
    const admittedAt = admission.tryAcquire();
    if (admittedAt === null) {
      setTimeout(press, 20);
      return;
    }
    setTimeout(() => {
      admission.release(admittedAt);
      completed++;
      press();
    }, rtt());
  };
  return {
    grow(to: number) {
      for (; clients < to; clients++) press();
    },
    take() {
      const n = completed;
      completed = 0;
      return n;
    },
  };
}

describe('adaptive admission under a crowd', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  // The overload bench's collapse, as a model: 300 clients arrive, and every purchase takes
  // four times as long whatever the limit (the loop refusing the excess, the machine's cores shared).
  // Gradient2 reads that as its own queue and cuts window after window; goodput falls with it.
  const overloadRun = (floorMemoryMs: number) => {
    const admission = started({ ...baseOptions, floorMemoryMs });
    let overloaded = false;
    const model = crowd(admission, () => (overloaded ? 80 : 20));
    model.grow(100);
    vi.advanceTimersByTime(2_000);
    model.take();
    vi.advanceTimersByTime(1_000);
    const before = model.take();
    overloaded = true;
    model.grow(300);
    vi.advanceTimersByTime(8_000);
    model.take();
    vi.advanceTimersByTime(2_000);
    const during = model.take() / 2;
    admission.stop();
    return { limit: admission.limit, before, during };
  };

  it('holds the concurrency of its best goodput when latency rises for reasons it does not control', () => {
    const { limit, before, during } = overloadRun(baseOptions.floorMemoryMs);
    // 100 clients at 20 ms: 5,000 purchases a second at a concurrency of 100.
    expect(before).toBeGreaterThan(4_500);
    expect(limit).toBeGreaterThanOrEqual(90);
    // At 80 ms a purchase, 100 in flight is 1,250 a second: a quarter, as the model dictates.
    expect(during).toBeGreaterThan(1_100);
  });

  it('collapses without the floor (plain Gradient2), which is why the floor is there', () => {
    const { limit, during } = overloadRun(0);
    expect(limit).toBeLessThan(30);
    expect(during).toBeLessThan(400);
  });

  it('lets a crowd the system has room for in within a few windows (slow start)', () => {
    const admission = started(baseOptions);
    const model = crowd(admission, () => 20);
    model.grow(20);
    vi.advanceTimersByTime(2_000);
    // 300 buyers at once, and every purchase still takes 20 ms: nothing queues.
    model.grow(300);
    vi.advanceTimersByTime(1_000);
    admission.stop();
    // Gradient2 alone grows by about 0.2 sqrt(limit) a window: about 65 after this second.
    expect(admission.limit).toBeGreaterThanOrEqual(300);
  });

  it('still falls when nothing completes: a stalled dependency is not a goodput to hold', () => {
    const admission = started(baseOptions);
    let stalled = false;
    const model = crowd(admission, () => (stalled ? 600_000 : 20));
    model.grow(40);
    vi.advanceTimersByTime(3_000);
    stalled = true;
    vi.advanceTimersByTime(8_000);
    admission.stop();
    // The floor's memory is 5 s: after it, no window delivered anything, so the floor is 0 and
    // Gradient2 has cut the limit to its minimum meanwhile.
    expect(admission.limit).toBeLessThan(10);
  });
});
