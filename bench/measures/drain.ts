import { rawSingleRowInserts } from '../ceilings.js';
import { log, measured, plan, start, watchConfirmed, type Bench } from './context.js';

// (e) the drain of the orders (b) queued, the worker and the bridge started now, against raw
// single-row INSERTs through pg.
export async function drain(bench: Bench, bigSale: number, backlog: number) {
  log(`(e) drain of the ${backlog} orders queued by (b), bridge and worker started now`);
  await start(bench, 'worker', 'src/cmd/worker.ts', 'WORKER_PORT');
  await start(bench, 'bridge', 'src/cmd/bridge.ts', 'BRIDGE_PORT', false);
  const drained = await measured(bench, '(e)', () =>
    watchConfirmed(bench.db, bigSale, () => backlog),
  );
  log('(e) raw single-row INSERTs through pg');
  const { database } = bench.env.config;
  const rawInserts = await rawSingleRowInserts(database.url, database.pgPoolMax, plan.rawSeconds);
  return {
    drain: { orders: backlog, confirmedPerSecond: Math.round(drained.perSecond) },
    rawInsertsPerSecond: Math.round(rawInserts),
  };
}
