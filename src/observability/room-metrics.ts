import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

// The waiting room (docs/waiting-room.md, "Seen"). The admitter's figures carry the sale and
// are written only by the process holding that room's lease; sum them over processes. The
// poll's figures (joins, passes, time in line) are counted where the request was answered.
export function roomMetrics(registry: Registry) {
  const sale = ['sale'];
  const outflowReason = new Gauge({
    name: 'flashline_room_outflow_reason',
    help: 'What set the outflow limit last (1 on the reason that did): fixed, default, adaptive, overbook, sold_out, paused',
    labelNames: ['sale', 'reason'],
    registers: [registry],
  });
  return {
    waiting: new Gauge({
      name: 'flashline_room_waiting',
      help: 'Buyers in line, not yet admitted',
      labelNames: sale,
      registers: [registry],
    }),
    admitted: new Counter({
      name: 'flashline_room_admitted_total',
      help: 'Buyers admitted (passes issued); its rate is the outflow',
      labelNames: sale,
      registers: [registry],
    }),
    outflowLimit: new Gauge({
      name: 'flashline_room_outflow_limit',
      help: 'Admissions per second the outflow allows now',
      labelNames: sale,
      registers: [registry],
    }),
    outflowReason,
    outstandingPasses: new Gauge({
      name: 'flashline_room_passes_outstanding',
      help: 'Passes issued, unused and unexpired (at most remaining x WAITING_ROOM_OVERBOOK)',
      labelNames: sale,
      registers: [registry],
    }),
    passesExpired: new Counter({
      name: 'flashline_room_passes_expired_total',
      help: 'Passes that expired unused',
      labelNames: sale,
      registers: [registry],
    }),
    idleDrops: new Counter({
      name: 'flashline_room_idle_drops_total',
      help: 'Places dropped for not being asked for within idleSeconds',
      labelNames: sale,
      registers: [registry],
    }),
    passesUsed: new Counter({
      name: 'flashline_room_passes_used_total',
      help: 'Passes used by a purchase for the first time',
      registers: [registry],
    }),
    passRefusals: new Counter({
      name: 'flashline_room_pass_refusals_total',
      help: 'Purchases of a sale with a room refused 403 NOT_ADMITTED (no valid pass)',
      registers: [registry],
    }),
    joins: new Counter({
      name: 'flashline_room_joins_total',
      help: 'New places in line (a repeated join is not counted)',
      registers: [registry],
    }),
    leaves: new Counter({
      name: 'flashline_room_leaves_total',
      help: 'Places given up by their buyer (DELETE)',
      registers: [registry],
    }),
    timeInLine: new Histogram({
      name: 'flashline_room_time_in_line_seconds',
      help: 'From joining to the poll that found the buyer admitted',
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
      registers: [registry],
    }),
    // Sets the reason's gauge to 1 and the others' to 0.
    setReason(saleId: number, reason: string) {
      for (const r of ['fixed', 'default', 'adaptive', 'overbook', 'sold_out', 'paused']) {
        outflowReason.set({ sale: String(saleId), reason: r }, r === reason ? 1 : 0);
      }
    },
  };
}

export type RoomMetrics = ReturnType<typeof roomMetrics>;
