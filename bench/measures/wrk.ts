import { wrk, wrkAvailable, type WrkResult } from '../wrk.js';
import { apiUrl, connections, log, plan, type Bench } from './context.js';

// (g) wrk, 2 threads, on the bare route and the sold-out path, after a warm-up; wrk takes
// one URL: the first bare server and the first API process. null when wrk is not installed.
export async function wrkMeasure(
  bench: Bench,
  soldOutSale: number,
): Promise<{ bare: WrkResult; soldOut: WrkResult } | null> {
  if (!wrkAvailable()) {
    log('(g) skipped: wrk is not installed (Debian: apt-get install wrk)');
    return null;
  }
  log('(g) wrk, 2 threads, 200 connections: bare route and sold-out path, after a warm-up');
  const authorization = `Bearer ${bench.tokens[0]!}`;
  const run = async (url: string, pid: number | undefined, metricsUrl?: string) => {
    await wrk(url, { connections, seconds: plan.wrkWarmup, authorization });
    return wrk(url, { connections, seconds: plan.seconds, authorization, pid, metricsUrl });
  };
  const pidOf = (name: string) => bench.children.find((c) => c.name === name)?.child.pid;
  const api = apiUrl(bench);
  return {
    bare: await run(`${bench.bareUrls[0]!}/sales/1/purchase`, pidOf('bare')),
    soldOut: await run(`${api}/sales/${soldOutSale}/purchase`, pidOf('api'), `${api}/metrics`),
  };
}
