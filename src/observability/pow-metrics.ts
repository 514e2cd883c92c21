import { type Registry } from 'prom-client';
import { counter, histogram } from './instruments.js';

// Proof of work (API.md; docs/security.md): what each challenge request and each check of a
// solution came to, and the cost the crowd set. Summed over API processes.
export function powMetrics(registry: Registry) {
  const challenges = counter(
    registry,
    'flashline_pow_challenges_total',
    'Challenge requests, by outcome: issued, or refused by the buyer or address limit',
    ['outcome'],
  );
  for (const outcome of ['issued', 'limited_buyer', 'limited_address'])
    challenges.inc({ outcome }, 0);
  const cost = histogram(
    registry,
    'flashline_pow_challenge_cost',
    'PBKDF2 iterations per attempt of the challenges issued (ALTCHA cost)',
    [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10_000],
  );
  const checks = counter(
    registry,
    'flashline_pow_checks_total',
    'Solutions checked at a purchase or a join, by outcome (accepted, repeat, or why refused)',
    ['outcome'],
  );
  return { challenges, cost, checks };
}

export type PowMetrics = ReturnType<typeof powMetrics>;
