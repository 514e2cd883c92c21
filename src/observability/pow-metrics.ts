import { type Registry } from 'prom-client';
import { instruments } from './instruments.js';

// Proof of work (API.md; docs/security.md): what each challenge request and each check of a
// solution came to, and the cost the crowd set. Summed over API processes.
export function powMetrics(registry: Registry) {
  return instruments(registry, {
    challenges: {
      counter: 'flashline_pow_challenges_total',
      help: 'Challenge requests, by outcome: issued, or refused by the buyer or address limit',
      labels: ['outcome'],
      zero: ['issued', 'limited_buyer', 'limited_address'],
    },
    cost: {
      histogram: 'flashline_pow_challenge_cost',
      help: 'PBKDF2 iterations per attempt of the challenges issued (ALTCHA cost)',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10_000],
    },
    checks: {
      counter: 'flashline_pow_checks_total',
      help: 'Solutions checked at a purchase or a join, by outcome (accepted, repeat, or why refused)',
      labels: ['outcome'],
    },
  });
}

export type PowMetrics = ReturnType<typeof powMetrics>;
