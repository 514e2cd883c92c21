import { describe, expect, it } from 'vitest';
import { trends } from './trend.js';
import type { Sample } from './samples.js';

const minutes = (n: number, figures: (minute: number) => Record<string, number>): Sample[] =>
  Array.from({ length: n }, (_, minute) => ({ at: minute * 60_000, figures: figures(minute) }));
const verdict = (samples: Sample[], figure: string) =>
  trends(samples).find((t) => t.figure === figure)?.grows;

describe('the soak judges a figure over the last half of the run', () => {
  it('calls a steady rise a leak, and noise, a sawtooth or a level reached early bounded', () => {
    const mb = 1024 * 1024;
    const samples = minutes(60, (m) => ({
      'api.rss': 100 * mb + m * 2 * mb,
      'api.startedAt': 1,
      'worker.rss': 100 * mb + ((m * 7919) % 13) * mb,
      'worker.startedAt': 1,
      'bridge.heap': 40 * mb + (m % 10) * 3 * mb,
      'bridge.startedAt': 1,
      'redis.keys': Math.min(m, 10) * 5_000,
    }));
    expect(verdict(samples, 'api.rss')).toBe(true);
    expect(verdict(samples, 'worker.rss')).toBe(false);
    expect(verdict(samples, 'bridge.heap')).toBe(false);
    expect(verdict(samples, 'redis.keys')).toBe(false);
  });

  it('judges a process restarted by a fault on its current life only', () => {
    const mb = 1024 * 1024;
    // Killed at minute 45 and started again: the new life sits higher, and is flat.
    const samples = minutes(60, (m) => ({
      'api.rss': m < 45 ? 80 * mb : 150 * mb,
      'api.startedAt': m < 45 ? 1 : 2,
    }));
    expect(verdict(samples, 'api.rss')).toBe(false);
  });

  it('does not call a rise below the floor growth', () => {
    const samples = minutes(60, (m) => ({ 'postgres.connections': 2 + Math.floor(m / 20) }));
    expect(verdict(samples, 'postgres.connections')).toBe(false);
  });
});
