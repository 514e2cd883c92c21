import { sampleCpu } from '../cpu.js';
import { overloadMeasure } from '../overload.js';
import { apiTarget, log, measured, pids, plan, type Bench } from './context.js';

// (h) overload: the capacity flat out (admission off, then on), paced at it, then three times
// it from 1,000 connections (bench/overload.ts).
export function overload(bench: Bench, bigSale: number) {
  log('(h) overload: capacity flat out (admission off, then on), paced, 3x from 1,000 conns');
  return measured(bench, '(h) 3x capacity', () =>
    overloadMeasure({
      unlimitedUrl: bench.unlimitedUrl,
      baseUrl: apiTarget(bench),
      path: `/sales/${bigSale}/purchase`,
      tokens: bench.tokens,
      seconds: plan.seconds,
      sampleCpu: () => sampleCpu(pids(bench)),
    }),
  );
}
