import { describe, expect, it } from 'vitest';
import { webhookDelayMs } from './webhooks.js';

describe('webhookDelayMs', () => {
  it('retries first within a second, doubles, and never waits past the cap', () => {
    const cap = 300_000;
    for (let i = 0; i < 200; i++) {
      expect(webhookDelayMs(1, cap)).toBeLessThanOrEqual(1000);
      expect(webhookDelayMs(1, cap)).toBeGreaterThanOrEqual(500);
      expect(webhookDelayMs(4, cap)).toBeGreaterThanOrEqual(4000);
      expect(webhookDelayMs(4, cap)).toBeLessThanOrEqual(8000);
      expect(webhookDelayMs(30, cap)).toBeLessThanOrEqual(cap);
      expect(webhookDelayMs(30, cap)).toBeGreaterThanOrEqual(cap / 2);
    }
  });
});
